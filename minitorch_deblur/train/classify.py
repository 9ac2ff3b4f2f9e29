"""The classification task (course A, weeks 1-2): MNIST digits, cross-entropy, accuracy and a confusion matrix."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .. import functional as F
from ..autograd import Tensor
from ..backend import Generator
from ..data.mnist import load_mnist_splits
from ..imaging.classification import score_classifier as evaluate
from .config import TrainConfig
from .loop import run_epoch
from .task import Task

JUDGED = 1000   # verdict(): fewer training images than this per epoch are too few to call a run a failure


def load_data(args: Any) -> Tuple[Any, Any, str]:
    """(train, test, where they came from) for ``args.data_dir`` and ``args.limit`` (data/mnist.py)."""
    return load_mnist_splits(args.data_dir, args.limit)


def train_epoch(model: Any, optimizer: Any, loader: Any, bar: Any) -> Tuple[float, float]:
    """One pass over the loader; returns the mean training loss and accuracy (with dropout on). For the lessons."""
    trained = run_epoch(ClassifyTask(TrainConfig("cnn")), model, {"": optimizer}, loader, bar)
    return trained["loss"], trained["acc"]


class ClassifyTask(Task):
    """MNIST: cross-entropy, test loss and accuracy each epoch; curves and a confusion matrix at the end."""

    example_shape = (2, 1, 28, 28)
    options = ("ema",)

    def load(self, device: str, run_dir: Path) -> str:
        from ..data import DataLoader

        self.device = device
        train, self.test_set, source = load_data(self.config)
        self.loader = DataLoader(train, batch_size=self.config.batch_size, shuffle=True, device=device)
        return source

    def batches(self, epoch: int) -> Any:
        self.loader.generator = Generator([self.config.seed, epoch])   # shuffling of this epoch
        return self.loader

    def step(self, model: Any, batch: Tuple[Any, Any]) -> Tuple[Tensor, int, Dict[str, Any]]:
        """Cross-entropy of one batch; counts the correct predictions (train accuracy)."""
        images, labels = batch
        logits = model(Tensor(images))
        return F.cross_entropy(logits, labels), len(labels), {"acc": (logits.data.argmax(axis=1) == labels).sum()}

    def evaluate(self, model: Any) -> Dict[str, float]:
        test_loss, test_acc, self.predictions, self.labels = evaluate(model, self.test_set, self.device)
        return {"test_loss": test_loss, "test_acc": test_acc}

    def describe(self, record: Dict[str, float]) -> str:
        return (f"train loss {record['train_loss']:.4f} acc {100 * record['train_acc']:.2f}% | test loss "
                f"{record['test_loss']:.4f} acc {100 * record['test_acc']:.2f}%")

    def verdict(self, record: Dict[str, float]) -> Optional[str]:
        """Failed: test accuracy within 5 points of chance (10%) while the training loss is no lower than a uniform
        guess's ln 10 = 2.30, i.e. the model learned nothing; judged once an epoch has at least ``JUDGED`` images
        (a few steps on a tiny --limit may honestly not have learned yet)."""
        chance, guess = 1 / 10, math.log(10)
        if (len(self.loader.dataset) >= JUDGED and record["test_acc"] < chance + 0.05
                and record["train_loss"] >= guess):
            return (f"test accuracy {100 * record['test_acc']:.2f}% is chance level ({100 * chance:.0f}%) and the "
                    f"training loss {record['train_loss']:.4g} is no lower than a uniform guess's ln 10 = {guess:.2f}: "
                    "the model learned nothing")
        return None

    def final(self, history: Dict[str, List[float]]) -> Dict[str, Any]:
        return {"test_accuracy": history["test_acc"][-1]}

    def finish(self, model: Any, history: Dict[str, List[float]], run_dir: Path, data_source: str) -> str:
        from ..imaging.plots import confusion_matrix, plot_confusion, plot_curves

        name = self.config.model.upper()
        plot_curves(history, run_dir / "curves.png", f"{name} on {data_source}")
        plot_confusion(confusion_matrix(self.labels, self.predictions), run_dir / "confusion.png",
                       f"{name}: test accuracy {100 * history['test_acc'][-1]:.2f}%\n{data_source}")
        return (f"test accuracy {100 * history['test_acc'][-1]:.2f}%; wrote {run_dir}/model.npz, metrics.json, "
                "curves.png, confusion.png")
