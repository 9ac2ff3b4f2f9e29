"""Train a course model:  python -m minitorch_deblur.train {mlp,cnn,srcnn,cae,win5rb} [--recipe course|best ...]

Defaults are the course recipe of each model (``--recipe best``: the best one measured here; cli.py has the table).
Each run writes into ``--out`` (default runs/<model>-<timestamp>/): ``model.npz`` (written atomically after every
epoch), ``metrics.json`` and ``curves.png``, plus ``confusion.png`` for the classifiers and ``samples.png`` and
``per_image.csv`` for the restoration models. ``--resume RUN_DIR`` continues a killed run from its last finished
epoch and ends with the same weights as an unbroken run: the shuffling, dropout and degradation generators are
re-seeded from (seed, epoch) at the start of every epoch. Ctrl-C stops cleanly; the last finished epoch is saved.

The package: ``loop.py`` (the task-agnostic loop), ``classify.py`` and ``restore.py`` (the tasks), ``cli.py``.
"""
from .. import functional as F
from .classify import evaluate, load_data, train_epoch
from .cli import RECIPES, UserError, build_parser, main, parse_args
from .loop import Diverged, fit

__all__ = ["Diverged", "F", "RECIPES", "UserError", "build_parser", "evaluate", "fit", "load_data", "main",
           "parse_args", "train_epoch"]
