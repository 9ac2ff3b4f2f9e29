"""Train a course model:  python -m minitorch_deblur.train {mlp,cnn,srcnn,cae,win5rb,deblurgan} [--recipe ...]

Defaults are the course recipe of each model (``--recipe best``: the best one measured here; models/registry.py
has both). Each run writes into ``--out`` (default runs/<model>-<timestamp>/): ``model.npz`` (written atomically
after every epoch), ``metrics.json`` and ``curves.png``, plus ``confusion.png`` for the classifiers, ``samples.png``
and ``per_image.csv`` for the restoration models, and ``losses.png`` and ``samples/epoch_NNN.png`` for the GAN.
``--resume RUN_DIR`` continues a killed run from its last finished epoch and ends with the same weights as an
unbroken run: the shuffling, dropout and degradation generators are re-seeded from (seed, epoch) at the start of
every epoch. Ctrl-C stops cleanly; the last finished epoch is saved.

The package: ``loop.py`` (the loop, which knows no task), ``task.py`` (the ``Task`` contract it drives),
``classify.py``, ``restore.py`` and ``gan.py`` (the tasks: MNIST classifiers, CIFAR-10 restoration, the deblurring
GAN), ``config.py`` (``TrainConfig``, every option of a run) and ``cli.py`` (the command line).
"""
from .. import functional as F
from . import classify, loop
from .classify import evaluate, load_data, train_epoch
from .cli import TASKS, UserError, build_parser, main, parse_args
from .config import TrainConfig
from .loop import fit
from .task import Diverged, Task

__all__ = ["Diverged", "F", "TASKS", "Task", "TrainConfig", "UserError", "build_parser", "classify", "evaluate", "fit",
           "load_data", "loop", "main", "parse_args", "train_epoch"]
