"""The training loop, which knows no task and no model: epochs, the progress bar, divergence checks, atomic
checkpoints, exact resume, clean Ctrl-C, ``metrics.json``, and (``--ema``) a moving average of the weights that is
what gets evaluated and saved.

What differs between the classifiers (classify.py), the restoration models (restore.py) and the deblurring GAN
(gan.py) comes through the ``Task`` contract of task.py: the model and its optimisers, the data, one training
step, the metrics, the figures.
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np

from ..backend import Generator, resolve_device
from ..checkpoint import load_checkpoint, save_checkpoint
from ..nn.batchnorm_stats import update_bn
from ..nn.summary import summary
from ..optim import CosineAnnealingLR, ExponentialMovingAverage
from .config import RECIPE_KEYS, TrainConfig
from .task import Built, Diverged, Task

SYNC_EVERY_ON_GPU = 50   # steps between reading the losses back from a GPU


def run_epoch(task: Task, model: Any, optimizers: Dict[str, Any], batches: Iterable[Any], bar: Any,
              sync_every: int = 1, average: Optional[Any] = None) -> Dict[str, float]:
    """One pass over the batches, each through ``task.update``; then ``average.update()`` (``--ema``) folds the new
    weights into their moving average.

    The losses, gradient flags and sums stay on the device and are read back every ``sync_every`` steps (1 on the
    CPU; ``fit`` uses 50 on a GPU): ``task.check`` looks at each step's numbers first, then a non-finite loss or
    gradient raises ``Diverged`` naming its own step. Returns {'loss': mean loss, key: sums[key] / images}.
    """
    model.train()
    totals: Dict[str, float] = {"loss": 0.0}
    seen, start, last_finite = 0, time.perf_counter(), None
    pending: List[Tuple[int, Any, Any, int, Dict[str, Any]]] = []

    def flush() -> None:
        nonlocal seen, last_finite
        for index, loss, finite, n, sums in pending:
            value, sums = float(loss), {k: float(v) for k, v in sums.items()}
            task.check(index, value, n, sums, last_finite)
            if not math.isfinite(value):
                raise Diverged(index, f"the loss is {value}", last_finite)
            if not bool(finite):
                raise Diverged(index, f"a gradient is not finite (loss {value:.4g})", last_finite)
            last_finite, seen = value, seen + n
            totals["loss"] += value * n
            for key, total in sums.items():
                totals[key] = totals.get(key, 0.0) + total
        bar.update(len(pending))
        pending.clear()
        if seen:
            bar.set_postfix(**{"loss": f"{totals['loss'] / seen:.4g}",
                               **{k: f"{totals[k] / seen:.3g}" for k in task.shown if k in totals},
                               "img_s": f"{seen / (time.perf_counter() - start):.0f}"})

    for index, batch in enumerate(batches, start=1):
        pending.append((index, *task.update(model, optimizers, batch, index, last_finite, sync_every == 1)))
        if average is not None:
            average.update()
        if len(pending) >= sync_every:
            flush()
    flush()
    return {key: total / max(seen, 1) for key, total in totals.items()}


def resume(run_dir: Path, built: Built, average: Optional[Any], config: TrainConfig
           ) -> Tuple[Dict[str, List[float]], int]:
    """Load the run's last checkpoint into the model, optimisers, schedulers and average: (history, next epoch)."""
    meta = load_checkpoint(run_dir / "model.npz", built.model, built.optimizers, built.schedulers, average)
    if average is not None:   # the file holds the averaged weights as the model's, the trained ones as the
        average.swap()        # average's: swap them back
    for scheduler in built.schedulers.values():   # --resume --epochs N: the cosine now ends at epoch N (its saved
        if isinstance(scheduler, CosineAnnealingLR) and scheduler.T_max != config.epochs:   # length would zero the
            scheduler.T_max = config.epochs                                             # lr of the added epochs)
            scheduler.last_epoch -= 1
            scheduler.step()
    if meta["epoch"] < config.epochs:
        print(f"resuming {run_dir} after epoch {meta['epoch']}: " + ", ".join(
            f"{key} {getattr(config, key)}" for key in RECIPE_KEYS))
    else:
        print(f"nothing left to do: epoch {meta['epoch']} of {config.epochs} is done "
              f"(give --epochs more than {meta['epoch']} to train further)")
    return meta["history"], meta["epoch"] + 1


def train_one_epoch(task: Task, built: Built, average: Optional[Any], config: TrainConfig, epoch: int,
                    device: str) -> Dict[str, float]:
    """Train, step the lr schedules, then score the weights that get saved: {train_<key>, metrics, seconds, lr}."""
    from tqdm import tqdm

    batches = task.batches(epoch)
    start = time.perf_counter()
    with tqdm(total=len(batches), desc=f"epoch {epoch}/{config.epochs}", disable=config.no_progress, leave=True,
              file=sys.stdout) as bar:
        trained = run_epoch(task, built.model, built.optimizers, batches, bar,
                            1 if device == "cpu" else SYNC_EVERY_ON_GPU, average)
    seconds = time.perf_counter() - start
    lr = next(iter(built.optimizers.values())).param_groups[0]["lr"]
    for scheduler in built.schedulers.values():
        if scheduler is not None:
            scheduler.step()
    if average is not None:   # evaluate and save the averaged weights; the trained ones wait in `average`
        average.swap()
    if config.precise_bn:     # batch-norm statistics of the current weights (nn/batchnorm_stats.py says why)
        update_bn(task.batches(epoch), built.model, task.step, limit=config.precise_bn)
    record = {f"train_{key}": value for key, value in trained.items()}
    return {**record, **task.evaluate(built.model), "epoch_seconds": seconds, "lr": lr}


def fit(task: Task, config: TrainConfig, run_dir: Path) -> int:
    """Train ``task``'s model into ``run_dir``; 0 done, 1 diverged or failed (``task.verdict``), 130 interrupted."""
    device = resolve_device(config.device)
    generator = Generator(config.seed)
    if config.distributed:   # shards of every batch, gradients summed across ranks; rank 0 alone writes
        from ..distributed.parallel import data_parallel
        task = data_parallel(task, config)
    root = getattr(task, "is_root", True)
    built = task.build(generator)
    built.model.to(device)   # first: a resumed optimiser's and average's state then load onto the parameters' device
    if config.init and not config.resume:
        print(task.init_from(config.init, built.model))
    average = ExponentialMovingAverage(built.model.parameters(), config.ema) if config.ema else None
    history, first_epoch = resume(run_dir, built, average, config) if config.resume else ({}, 1)
    if first_epoch > config.epochs:
        return 0
    print(f"{config.model} on {device}:\n{summary(built.model, task.example_shape) if device == 'cpu' else ''}")
    data_source = task.load(device, run_dir)
    print(f"data: {data_source}")
    epochs_done = len(history.get("epoch_seconds", []))
    origin = init_record(config)
    try:
        for epoch in range(first_epoch, config.epochs + 1):
            generator.manual_seed([config.seed, epoch, 1])          # dropout masks of this epoch
            record = train_one_epoch(task, built, average, config, epoch, device)
            for key, value in record.items():
                history.setdefault(key, []).append(float(value))
            epochs_done = epoch
            print(f"epoch {epoch}: {task.describe(record)} | {record['epoch_seconds']:.1f} s")
            failure = task.verdict(record)
            if failure:   # every number finite, yet nothing learned: not saved, not a success
                kept = (f"epochs 1..{epoch - 1} are saved, untouched, in {run_dir}/model.npz" if epoch > 1
                        else "no epoch was saved")
                print(f"error: the run failed in epoch {epoch}: {failure}. {kept}. Try a lower --lr (this run: "
                      f"{config.lr:g}) or check the data.", file=sys.stderr)
                return 1
            if root:
                save_checkpoint(run_dir / "model.npz", built.model, built.optimizers, built.schedulers,
                                meta={"epoch": epoch, "history": history, "model": config.model,
                                      "model_options": built.options, **origin, **task.meta()}, average=average)
                write_metrics(run_dir, config, device, history, data_source, task)
            if average is not None and epoch < config.epochs:
                average.swap()
    except Diverged as error:
        kept = (f"epochs 1..{epochs_done} are saved, untouched, in {run_dir}/model.npz" if epochs_done
                else "no epoch was saved")
        last = f"{error.last_finite:.4g}" if error.last_finite is not None else "none yet"
        print(f"error: training diverged in epoch {epochs_done + 1}, {error}; the last finite loss was {last}. "
              f"{kept}. Try a lower --lr (this run: {config.lr:g}).", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted during epoch {epochs_done + 1}; epochs 1..{epochs_done} are saved in "
              f"{run_dir}/model.npz. Continue with: python -m minitorch_deblur.train {config.model} --resume "
              f"{run_dir} --epochs {config.epochs}")
        return 130
    if history and root:
        print(task.finish(built.model.eval(), history, run_dir, data_source))
    return 0


def init_record(config: TrainConfig) -> Dict[str, Any]:
    """What the checkpoint records of an --init: {'init': path, 'init_epochs': the epochs its weights had been
    trained, earlier stages included when its own record says} ({} without --init; no count if unreadable)."""
    if not config.init:
        return {}
    from ..checkpoint import checkpoint_meta

    try:
        meta = checkpoint_meta(config.init)
        return {"init": config.init, "init_epochs": int(meta["epoch"]) + int(meta.get("init_epochs", 0))}
    except Exception:  # noqa: BLE001 (a resumed run whose --init file has moved: the path alone)
        return {"init": config.init}


def write_metrics(run_dir: Path, config: TrainConfig, device: str, history: Dict[str, List[float]],
                  data_source: str, task: Task) -> None:
    """metrics.json (atomically): the recipe (the options that shaped this run: none of ``task.not_recorded``),
    the data, every epoch's numbers, and the last epoch's at top level."""
    skipped = set(getattr(task, "not_recorded", ()))
    args = {key: value for key, value in asdict(config).items() if key not in skipped}
    record = {"model": config.model, "device": device, "data": data_source, **task.meta(), "args": args,
              "history": history, "final": {key: values[-1] for key, values in history.items()},
              "seconds_per_epoch": float(np.mean(history["epoch_seconds"])), **task.final(history)}
    tmp = run_dir / "metrics.json.tmp"
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(run_dir / "metrics.json")
