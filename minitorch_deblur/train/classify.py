"""The classification task (course A, weeks 1-2): MNIST digits, cross-entropy, accuracy and a confusion matrix."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

from .. import functional as F
from ..autograd import Tensor, no_grad
from ..backend import Generator, to_device
from .loop import run_epoch


def load_data(args: argparse.Namespace) -> Tuple[Any, Any, str]:
    """(train, test, where they came from). Full MNIST when all four files are there; otherwise the embedded subset
    for BOTH splits (never the embedded train set with the full test set), with one warning naming the files."""
    from ..data import Subset, load_mnist
    from ..data.mnist import dataset_dir, load_embedded_mnist, missing_files, warn_once
    from ..data.root import MissingDataError

    folder = dataset_dir("mnist", args.data_dir)
    try:
        train, test = load_mnist("train", args.data_dir, fallback=False), load_mnist("test", args.data_dir,
                                                                                     fallback=False)
        source = f"MNIST from {folder}"
    except MissingDataError:
        train, test = load_embedded_mnist("train"), load_embedded_mnist("test")
        missing = missing_files(folder, "train") + missing_files(folder, "test")
        warn_once(f"warning: {', '.join(missing)} not in {folder} (and not downloadable): training and testing on "
                  f"the embedded MNIST subset instead ({len(train):,} / {len(test):,} digits)")
        source = "the embedded MNIST subset"
    if args.limit:
        train, test = (Subset(d, np.arange(min(args.limit, len(d)))) for d in (train, test))
    return train, test, f"{source}: {len(train):,} train / {len(test):,} test images"


def evaluate(model: Any, dataset: Any, device: str,
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


def classify_step(model: Any, batch: Tuple[Any, Any]) -> Tuple[Tensor, int, Dict[str, Any]]:
    """Cross-entropy of one batch; counts the correct predictions (train accuracy)."""
    images, labels = batch
    logits = model(Tensor(images))
    return F.cross_entropy(logits, labels), len(labels), {"acc": (logits.data.argmax(axis=1) == labels).sum()}


def train_epoch(model: Any, optimizer: Any, loader: Any, bar: Any) -> Tuple[float, float]:
    """One pass over the loader; returns the mean training loss and accuracy (with dropout on)."""
    trained = run_epoch(model, optimizer, loader, classify_step, bar)
    return trained["loss"], trained["acc"]


class ClassifyTask:
    """MNIST: cross-entropy, test loss and accuracy each epoch; curves and a confusion matrix at the end."""

    example_shape = (2, 1, 28, 28)
    step = staticmethod(classify_step)

    def load(self, args: argparse.Namespace, device: str) -> str:
        from ..data import DataLoader

        self.args, self.device = args, device
        train, self.test_set, source = load_data(args)
        self.loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, device=device)
        return source

    def batches(self, epoch: int) -> Any:
        self.loader.generator = Generator([self.args.seed, epoch])   # shuffling of this epoch
        return self.loader

    def evaluate(self, model: Any) -> Dict[str, float]:
        test_loss, test_acc, self.predictions, self.labels = evaluate(model, self.test_set, self.device)
        return {"test_loss": test_loss, "test_acc": test_acc}

    @staticmethod
    def describe(record: Dict[str, float]) -> str:
        return (f"train loss {record['train_loss']:.4f} acc {100 * record['train_acc']:.2f}% | test loss "
                f"{record['test_loss']:.4f} acc {100 * record['test_acc']:.2f}%")

    @staticmethod
    def meta(args: argparse.Namespace) -> Dict[str, Any]:
        return {}

    def finish(self, model: Any, history: Dict[str, List[float]], run_dir: Path, data_source: str) -> str:
        from ..imaging.plots import confusion_matrix, plot_confusion, plot_curves

        name = self.args.model.upper()
        plot_curves(history, run_dir / "curves.png", f"{name} on {data_source}")
        if not hasattr(self, "predictions"):   # resumed with nothing left to train: evaluate once
            self.evaluate(model)
        plot_confusion(confusion_matrix(self.labels, self.predictions), run_dir / "confusion.png",
                       f"{name}: test accuracy {100 * history['test_acc'][-1]:.2f}%\n{data_source}")
        return (f"test accuracy {100 * history['test_acc'][-1]:.2f}%; wrote {run_dir}/model.npz, metrics.json, "
                "curves.png, confusion.png")
