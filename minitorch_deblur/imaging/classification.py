"""Scoring a classifier on a whole dataset (MNIST): mean cross-entropy, accuracy, predicted and true classes.

Used after each training epoch (train/classify.py) and by ``python -m minitorch_deblur.evaluate``.
"""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from .. import functional as F
from ..autograd import Tensor, no_grad
from ..backend import to_device


def score_classifier(model: Any, dataset: Any, device: str,
                     batch_size: int = 500) -> Tuple[float, float, np.ndarray, np.ndarray]:
    """Mean cross-entropy, accuracy, predicted and true classes over a whole dataset (eval mode, no graph)."""
    from ..data import DataLoader

    model.eval()
    total_loss, predictions, truth = 0.0, [], []
    with no_grad():
        for images, labels in DataLoader(dataset, batch_size=batch_size, device=device):
            logits = model(Tensor(images))
            total_loss += F.cross_entropy(logits, labels, reduction="sum").item()
            predictions.append(to_device(logits.data.argmax(axis=1), "cpu"))
            truth.append(to_device(labels, "cpu"))
    predictions, truth = np.concatenate(predictions), np.concatenate(truth)
    return total_loss / len(dataset), float((predictions == truth).mean()), predictions, truth
