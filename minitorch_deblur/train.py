"""Train a course model:  python -m minitorch_deblur.train {mlp,cnn} [--epochs 5 --batch-size 64 --lr 1e-3 ...]

Defaults are the course recipe (Adam 1e-3, batch 64, 5 epochs). Each run writes into ``--out`` (default
runs/<model>-<timestamp>/): ``model.npz`` (written atomically after every epoch), ``metrics.json``, ``curves.png``
and ``confusion.png``. ``--resume RUN_DIR`` continues a killed run from its last finished epoch and ends with the
same weights as an unbroken run: the shuffling and dropout generators are re-seeded from (seed, epoch) at the
start of every epoch. Ctrl-C stops cleanly; the last finished epoch is already saved.
"""
from __future__ import annotations

import argparse
import errno
import json
import math
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, NoReturn, Optional, Sequence, Tuple

import numpy as np

from . import functional as F
from .autograd import Tensor, no_grad
from .backend import Generator, get_array_module, resolve_device, reuse_freed_memory, to_device
from .checkpoint import load_checkpoint, save_checkpoint
from .data.root import DataError
from .models import MODELS
from .optim import Adam, StepLR
from .summary import summary

CLASSIFIERS = {"mlp", "cnn"}  # the MNIST track; the restoration models arrive with their issues


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (no usage block): 'python -m minitorch_deblur.train: error: ...'."""

    def error(self, message: str) -> "NoReturn":  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (--help lists the options)\n")


class UserError(Exception):
    """A problem with what the user asked for: one line on stderr, exit 2, no traceback (unless --debug)."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m minitorch_deblur.train", description="Train a course model on the CPU or a GPU.",
        epilog="models: " + ", ".join(f"{name} ({MODELS[name].__doc__.splitlines()[0]})" for name in MODELS))
    parser.add_argument("model", help="which model: " + ", ".join(MODELS))
    parser.add_argument("--epochs", type=int, default=5, help="epochs to train (default 5, the course's)")
    parser.add_argument("--batch-size", type=int, default=64, help="mini-batch size (default 64)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    parser.add_argument("--lr-step", type=int, default=0, help="StepLR: multiply the lr by --lr-gamma every this "
                        "many epochs (default 0: constant lr, the course recipe)")
    parser.add_argument("--lr-gamma", type=float, default=0.1, help="StepLR factor (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="seed for initialisation, shuffling and dropout")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="default auto: cuda if "
                        "a GPU and CuPy are usable, else cpu")
    parser.add_argument("--data-dir", default=None, help="data root (default $MINITORCH_DEBLUR_DATA, else "
                        "~/.cache/minitorch_deblur)")
    parser.add_argument("--out", default=None, help="run folder (default runs/<model>-<timestamp>)")
    parser.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue the run in this folder")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N train and test images "
                        "(smoke runs and quick lessons; 0 = all)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    return parser


RECIPE = ("model", "batch_size", "lr", "lr_step", "lr_gamma", "seed", "limit")  # fixed for a run's lifetime


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.model not in MODELS:
        parser.error(f"unknown model {args.model!r}; choose one of: {', '.join(MODELS)}")
    problem = _bad_option(args)
    if problem:
        parser.error(problem)
    return args


OPTION_RULES = (  # (option, holds for a value that can train, what it must be)
    ("epochs", lambda v: v >= 1, "at least 1"),
    ("batch_size", lambda v: v >= 1, "at least 1"),
    ("lr", lambda v: math.isfinite(v) and v > 0, "a finite number > 0"),
    ("limit", lambda v: v >= 0, "0 (all images) or more"),
    ("lr_step", lambda v: v >= 0, "0 (constant lr) or more"),
    ("lr_gamma", lambda v: math.isfinite(v) and v > 0, "a finite number > 0 (it multiplies the lr)"),
)


def _bad_option(args: argparse.Namespace) -> str:
    """Why these option values cannot train (refused before anything starts), or ''."""
    for name, ok, what in OPTION_RULES:
        if not ok(getattr(args, name)):
            return f"--{name.replace('_', '-')} must be {what}, got {getattr(args, name)}"
    return ""


class Diverged(RuntimeError):
    """Training met a non-finite loss or gradient: the step that did, and the last finite loss before it."""

    def __init__(self, step: int, what: str, last_finite: Optional[float]) -> None:
        self.step, self.what, self.last_finite = step, what, last_finite
        super().__init__(f"step {step}: {what}")


def _finite_grads(parameters: Sequence[Any]) -> bool:
    """Whether every gradient is finite (one reduction per parameter, on its device)."""
    return all(p.grad is None or bool(get_array_module(p.grad).isfinite(p.grad).all()) for p in parameters)


def load_data(args: argparse.Namespace) -> Tuple[Any, Any, str]:
    """(train, test, where they came from). Full MNIST when all four files are there; otherwise the embedded subset
    for BOTH splits (never the embedded train set with the full test set), with one warning naming the files."""
    from .data import Subset, load_mnist
    from .data.mnist import dataset_dir, load_embedded_mnist, missing_files, warn_once
    from .data.root import MissingDataError

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
    from .data import DataLoader

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


def train_epoch(model: Any, optimizer: Any, loader: Any, bar: Any) -> Tuple[float, float]:
    """One pass over the loader; returns the mean training loss and accuracy (with dropout on)."""
    model.train()
    total_loss, correct, seen, start = 0.0, 0, 0, time.perf_counter()
    parameters, last_finite = list(model.parameters()), None
    for step, (images, labels) in enumerate(loader, start=1):
        optimizer.zero_grad()
        logits = model(Tensor(images))
        loss = F.cross_entropy(logits, labels)
        value = loss.item()
        if not math.isfinite(value):
            raise Diverged(step, f"the loss is {value}", last_finite)
        loss.backward()
        if not _finite_grads(parameters):
            raise Diverged(step, f"a gradient is not finite (loss {value:.4g})", last_finite)
        optimizer.step()
        last_finite = value
        n = len(labels)
        total_loss += value * n
        correct += int((logits.data.argmax(axis=1) == labels).sum())
        seen += n
        bar.update(1)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", img_s=f"{seen / (time.perf_counter() - start):.0f}")
    return total_loss / seen, correct / seen


def _resumed_recipe(args: argparse.Namespace) -> Path:
    """Load the recipe of the run that --resume names into args; refuse options that contradict it."""
    run_dir = Path(args.resume)
    if not (run_dir / "metrics.json").is_file() or not (run_dir / "model.npz").is_file():
        raise UserError(f"--resume {run_dir}: no run there (it needs the metrics.json and model.npz that a training "
                        "run writes after its first epoch)")
    saved = json.loads((run_dir / "metrics.json").read_text())["args"]
    defaults = build_parser().parse_args([args.model])
    clashes = [f"--{key.replace('_', '-')} {getattr(args, key)} (the run has {saved[key]})" for key in RECIPE
               if getattr(args, key) != saved[key] and (key == "model" or getattr(args, key) != getattr(defaults, key))]
    if clashes:
        raise UserError(f"--resume {run_dir} continues its own recipe; these options contradict it: "
                        f"{'; '.join(clashes)}. Drop them, or start a new run without --resume")
    for key in RECIPE:
        setattr(args, key, saved[key])
    return run_dir


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command: user errors become one line on stderr and exit 2 (``--debug`` shows the traceback)."""
    args = parse_args(argv)
    try:
        return run(args)
    except (UserError, DataError, OSError) as error:
        if args.debug:
            raise
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            message = f"the disk is full ({error.filename or 'while writing'}); the last finished epoch is saved"
        else:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"python -m minitorch_deblur.train: error: {message}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    """Train into the run folder; a folder this call created is removed again if no epoch finished."""
    reuse_freed_memory()  # each step allocates the same activations: keep their pages (backend.py says why)
    if args.resume:
        run_dir = _resumed_recipe(args)
    else:
        run_dir = Path(args.out or f"runs/{args.model}-{time.strftime('%Y%m%d-%H%M%S')}")
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _train(args, run_dir)
    finally:
        if created and not (run_dir / "model.npz").exists():   # failed before its first epoch: leave nothing
            shutil.rmtree(run_dir, ignore_errors=True)


def _train(args: argparse.Namespace, run_dir: Path) -> int:
    from tqdm import tqdm

    from .data import DataLoader
    from .plots import confusion_matrix, plot_confusion, plot_curves

    device = resolve_device(args.device)

    generator = Generator(args.seed)
    model = MODELS[args.model](generator=generator)
    optimizer = Adam(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, args.lr_step, args.lr_gamma) if args.lr_step else None
    history: Dict[str, List[float]] = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": [],
                                       "epoch_seconds": []}
    first_epoch = 1
    if args.resume:
        resume_meta = load_checkpoint(run_dir / "model.npz", model, optimizer, scheduler)
        history, first_epoch = resume_meta["history"], resume_meta["epoch"] + 1
        if first_epoch > args.epochs:
            print(f"nothing left to do: epoch {resume_meta['epoch']} of {args.epochs} is done "
                  f"(give --epochs more than {resume_meta['epoch']} to train further)")
            return 0
        print(f"resuming {run_dir} after epoch {resume_meta['epoch']}: {args.model}, lr {args.lr:g}, batch "
              f"{args.batch_size}, lr step {args.lr_step} x{args.lr_gamma:g}, seed {args.seed}, limit {args.limit}")
    model.to(device)

    print(f"{args.model} on {device}: {summary(model, (2, 1, 28, 28)) if device == 'cpu' else ''}")
    train_set, test_set, data_source = load_data(args)
    print(f"data: {data_source}")
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, device=device)
    predictions = labels = None  # of the last epoch this call evaluates
    try:
        for epoch in range(first_epoch, args.epochs + 1):
            loader.generator = Generator([args.seed, epoch])      # shuffling of this epoch
            generator.manual_seed([args.seed, epoch, 1])          # dropout masks of this epoch
            start = time.perf_counter()
            with tqdm(total=len(loader), desc=f"epoch {epoch}/{args.epochs}", disable=args.no_progress,
                      leave=True, file=sys.stdout) as bar:
                train_loss, train_acc = train_epoch(model, optimizer, loader, bar)
            seconds = time.perf_counter() - start
            if scheduler is not None:
                scheduler.step()
            test_loss, test_acc, predictions, labels = evaluate(model, test_set, device)
            for key, value in zip(history, (train_loss, train_acc, test_loss, test_acc, seconds)):
                history[key].append(value)
            print(f"epoch {epoch}: train loss {train_loss:.4f} acc {100 * train_acc:.2f}% | test loss "
                  f"{test_loss:.4f} acc {100 * test_acc:.2f}% | {seconds:.1f} s")
            save_checkpoint(run_dir / "model.npz", model, optimizer, scheduler,
                            meta={"epoch": epoch, "history": history, "model": args.model})
            _write_metrics(run_dir, args, device, history, data_source)
    except Diverged as error:
        done = len(history["test_acc"])
        kept = f"epochs 1..{done} are saved, untouched, in {run_dir}/model.npz" if done else "no epoch was saved"
        last = f"{error.last_finite:.4g}" if error.last_finite is not None else "none yet"
        print(f"error: training diverged in epoch {done + 1}, {error}; the last finite loss was {last}. {kept}. "
              f"Try a lower --lr (this run: {args.lr:g}).", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        done = len(history["test_acc"])
        print(f"\ninterrupted during epoch {done + 1}; epochs 1..{done} are saved in {run_dir}/model.npz. "
              f"Continue with: python -m minitorch_deblur.train {args.model} --resume {run_dir} "
              f"--epochs {args.epochs}")
        return 130
    if history["test_acc"]:
        plot_curves(history, run_dir / "curves.png", f"{args.model.upper()} on {data_source}")
    if predictions is not None:
        plot_confusion(confusion_matrix(labels, predictions), run_dir / "confusion.png",
                       f"{args.model.upper()}: test accuracy {100 * history['test_acc'][-1]:.2f}%\n{data_source}")
        print(f"test accuracy {100 * history['test_acc'][-1]:.2f}%; wrote {run_dir}/model.npz, metrics.json, "
              "curves.png, confusion.png")
    return 0


def _write_metrics(run_dir: Path, args: argparse.Namespace, device: str, history: Dict[str, List[float]],
                   data_source: str) -> None:
    record = {"model": args.model, "device": device, "data": data_source, "args": vars(args), "history": history,
              "test_accuracy": history["test_acc"][-1], "seconds_per_epoch": float(np.mean(history["epoch_seconds"]))}
    tmp = run_dir / "metrics.json.tmp"
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(run_dir / "metrics.json")


if __name__ == "__main__":
    sys.exit(main())
