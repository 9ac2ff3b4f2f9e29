"""The training loop, which knows nothing of the task: epochs, the progress bar, divergence checks, atomic
checkpoints, exact resume, clean Ctrl-C, ``metrics.json``, and (``--ema``) a moving average of the weights that is
what gets evaluated and saved.

A task (classify.py, restore.py) supplies what differs, through five methods:

- ``load(args, device) -> str``: read the data; return one line saying what was loaded (it goes in metrics.json).
- ``batches(epoch) -> iterable``: the training batches of one epoch, reproducible for (seed, epoch).
- ``step(model, batch) -> (loss Tensor, n, sums)``: the forward pass of one batch; ``sums`` are per-batch totals
  (e.g. correct predictions) that the loop averages over the epoch as ``train_<key>``.
- ``evaluate(model) -> {name: float}``: the metrics after each epoch (validation, test).
- ``finish(model, history, run_dir, data_source) -> str``: figures and tables at the end; returns what it wrote.

It also names ``example_shape`` (the input of the summary table), ``describe(record) -> str`` (the epoch line)
and ``meta(args) -> dict`` (what the checkpoint and metrics.json record besides the recipe). Two more are optional:
``build(args, generator) -> (model, optimizer, scheduler, options)`` when the task is not one model with Adam (the
GAN: optimisers and schedulers may be dicts of them); ``update(model, optimizer, batch, index, last_finite)
-> (loss, n, sums)`` when one batch is more than one loss minimised (the GAN's D step then G step), with
``check_update(index, loss, n, sums, last_finite)`` to name the term that went wrong once the numbers are read.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ..backend import Generator, get_array_module, resolve_device
from ..checkpoint import checkpoint_meta, load_checkpoint, save_checkpoint
from ..models import MODEL_OPTIONS, MODELS
from ..nn import Module
from ..nn.batchnorm_stats import update_bn
from ..optim import Adam, CosineAnnealingLR, ExponentialLR, ExponentialMovingAverage, StepLR
from ..nn.summary import summary


SYNC_EVERY_ON_GPU = 50   # steps between reading the losses back from a GPU


class Diverged(RuntimeError):
    """Training met a non-finite loss or gradient: the step that did, and the last finite loss before it."""

    def __init__(self, step: int, what: str, last_finite: Optional[float]) -> None:
        self.step, self.what, self.last_finite = step, what, last_finite
        super().__init__(f"step {step}: {what}")


def _grads_finite(parameters: Sequence[Any]) -> Any:
    """A 0-d boolean on the gradients' device: are all of them finite? (No host synchronisation.)"""
    flags = [get_array_module(p.grad).isfinite(p.grad).all() for p in parameters if p.grad is not None]
    if not flags:
        return np.bool_(True)
    return get_array_module(flags[0]).stack(flags).all()


def minimise(model: Any, optimizer: Any, step: Any, batch: Any, index: int, last_finite: Optional[float],
             check_now: bool = True) -> Tuple[Any, Any, int, Dict[str, Any]]:
    """One update of one loss: zero_grad, ``step(model, batch) -> (loss, n, sums)``, backward, optimizer.step().

    Returns (loss, gradients finite, n, sums) as device scalars. With ``check_now`` (the CPU, where reading a
    number costs nothing) a non-finite loss or gradient raises ``Diverged`` at once, before the optimiser touches
    the weights; otherwise the loop reads the flags every few steps (``run_epoch``), so a GPU never waits.
    """
    optimizer.zero_grad()
    loss, n, sums = step(model, batch)
    if check_now and not math.isfinite(loss.item()):
        raise Diverged(index, f"the loss is {loss.item()}", last_finite)
    loss.backward()
    finite = _grads_finite(list(model.parameters()))
    if check_now and not bool(finite):
        raise Diverged(index, f"a gradient is not finite (loss {loss.item():.4g})", last_finite)
    optimizer.step()
    return loss.data, finite, n, sums


def run_epoch(model: Any, optimizer: Any, batches: Iterable[Any], step: Any, bar: Any,
              update: Optional[Any] = None, sync_every: int = 1, check: Optional[Any] = None,
              average: Optional[Any] = None) -> Dict[str, float]:
    """One pass over the batches. Each one goes through ``update(model, optimizer, batch, index, last_finite)``
    (a task with several losses, the GAN, brings its own) or else ``minimise`` with the task's ``step``; then
    ``average.update()`` (``--ema``) folds the new weights into their moving average.

    The losses, gradient flags and sums stay on the device and are read back every ``sync_every`` steps (1 on the
    CPU; ``fit`` uses 50 on a GPU): a non-finite one then raises ``Diverged`` naming its own step (``check(index,
    loss, n, sums, last_finite)``, a multi-loss task's, looks at each step's numbers first and names the term).
    Returns {'loss': mean loss, key: sums[key] / images for each key}.
    """
    model.train()
    totals: Dict[str, float] = {"loss": 0.0}
    seen, start, last_finite = 0, time.perf_counter(), None
    pending: List[Tuple[int, Any, Any, int, Dict[str, Any]]] = []

    def account(value: float, n: int, sums: Dict[str, Any]) -> None:
        nonlocal seen, last_finite
        last_finite = value
        totals["loss"] += value * n
        for key, total in sums.items():
            totals[key] = totals.get(key, 0.0) + float(total)
        seen += n

    def flush() -> None:
        for index, loss, finite, n, sums in pending:
            value, sums = float(loss), {k: float(v) for k, v in sums.items()}
            if check is not None:
                check(index, value, n, sums, last_finite)
            if not math.isfinite(value):
                raise Diverged(index, f"the loss is {value}", last_finite)
            if not bool(finite):
                raise Diverged(index, f"a gradient is not finite (loss {value:.4g})", last_finite)
            account(value, n, sums)
        bar.update(len(pending))
        pending.clear()
        if seen:
            bar.set_postfix(**{"loss": f"{totals['loss'] / seen:.4g}",
                               **{k: f"{totals[k] / seen:.3g}" for k in getattr(update, "shown", ()) if k in totals},
                               "img_s": f"{seen / (time.perf_counter() - start):.0f}"})

    for index, batch in enumerate(batches, start=1):
        if update is not None:
            value, n, sums = update(model, optimizer, batch, index, last_finite)
            pending.append((index, value, True, n, sums))
        else:
            pending.append((index, *minimise(model, optimizer, step, batch, index, last_finite, sync_every == 1)))
        if average is not None:
            average.update()
        if len(pending) >= sync_every:
            flush()
    flush()
    return {key: total / max(seen, 1) for key, total in totals.items()}


def make_scheduler(optimizer: Any, args: argparse.Namespace) -> Optional[Any]:
    """--lr-schedule: 'step' (x lr_gamma every lr_step epochs; lr_step 0 = constant), 'exp' (constant for lr_step
    epochs, then x lr_gamma per epoch: course B's Keras schedule) or 'cosine' (down to 0 at the last epoch)."""
    if args.lr_schedule == "exp":
        return ExponentialLR(optimizer, args.lr_gamma, start=args.lr_step)
    if args.lr_schedule == "cosine":
        return CosineAnnealingLR(optimizer, args.epochs)
    return StepLR(optimizer, args.lr_step, args.lr_gamma) if args.lr_step else None


def build(args: argparse.Namespace, generator: Generator) -> Tuple[Any, Any, Any, Dict[str, Any]]:
    """(model, optimizer, scheduler, model options) of a one-model task: ``MODELS[args.model]`` with the options
    the command line gave it, Adam, and the --lr-schedule."""
    options = {key: getattr(args, key) for key in MODEL_OPTIONS.get(args.model, ())
               if getattr(args, key) not in (False, None, "zeros")}
    model = MODELS[args.model](generator=generator, **options)
    optimizer = Adam(model.parameters(), lr=args.lr)
    return model, optimizer, make_scheduler(optimizer, args), options


def fit(task: Any, args: argparse.Namespace, run_dir: Path) -> int:
    """Train ``MODELS[args.model]`` on ``task`` into ``run_dir``; 0 done, 1 diverged, 130 interrupted."""
    from tqdm import tqdm

    device = resolve_device(args.device)
    generator = Generator(args.seed)
    model, optimizer, scheduler, options = (task.build if hasattr(task, "build") else build)(args, generator)
    history: Dict[str, List[float]] = {}
    first_epoch = 1
    model.to(device)   # first: a resumed optimiser's and average's state then load onto the parameters' device
    if not args.resume and getattr(args, "init", ""):
        start_from(args.init, model)
    average = ExponentialMovingAverage(model.parameters(), args.ema) if getattr(args, "ema", 0) else None
    if args.resume:
        meta = load_checkpoint(run_dir / "model.npz", model, optimizer, scheduler, average)
        if average is not None:   # the file holds the averaged weights as the model's, the trained ones as the
            average.swap()        # average's: swap them back
        history, first_epoch = meta["history"], meta["epoch"] + 1
        if first_epoch > args.epochs:
            print(f"nothing left to do: epoch {meta['epoch']} of {args.epochs} is done "
                  f"(give --epochs more than {meta['epoch']} to train further)")
            return 0
        print(f"resuming {run_dir} after epoch {meta['epoch']}: " + ", ".join(
            f"{key} {getattr(args, key)}" for key in args.recipe_keys))
    print(f"{args.model} on {device}:\n{summary(model, task.example_shape) if device == 'cpu' else ''}")
    task.run_dir = run_dir
    data_source = task.load(args, device)
    print(f"data: {data_source}")
    epochs_done = len(history.get("epoch_seconds", []))
    try:
        for epoch in range(first_epoch, args.epochs + 1):
            generator.manual_seed([args.seed, epoch, 1])          # dropout masks of this epoch
            batches = task.batches(epoch)
            start = time.perf_counter()
            with tqdm(total=len(batches), desc=f"epoch {epoch}/{args.epochs}", disable=args.no_progress,
                      leave=True, file=sys.stdout) as bar:
                trained = run_epoch(model, optimizer, batches, task.step, bar, getattr(task, "update", None),
                                    sync_every=1 if device == "cpu" else SYNC_EVERY_ON_GPU,
                                    check=getattr(task, "check_update", None), average=average)
            seconds = time.perf_counter() - start
            lr = next(iter(optimizer.values() if isinstance(optimizer, dict) else [optimizer])).param_groups[0]["lr"]
            for sch in (scheduler.values() if isinstance(scheduler, dict) else [scheduler]):
                if sch is not None:
                    sch.step()
            if average is not None:   # evaluate and save the averaged weights; the trained ones wait in `average`
                average.swap()
            if args.precise_bn:   # batch-norm statistics of the current weights (nn/batchnorm_stats.py says why)
                update_bn(task.batches(epoch), model, task.step, limit=args.precise_bn)
            record = {f"train_{key}": value for key, value in trained.items()}
            record.update(task.evaluate(model))
            record.update(epoch_seconds=seconds, lr=lr)
            for key, value in record.items():
                history.setdefault(key, []).append(float(value))
            epochs_done = epoch
            print(f"epoch {epoch}: {task.describe(record)} | {seconds:.1f} s")
            save_checkpoint(run_dir / "model.npz", model, optimizer, scheduler,
                            meta={"epoch": epoch, "history": history, "model": args.model,
                                  "model_options": options, **task.meta(args)}, average=average)
            write_metrics(run_dir, args, device, history, data_source, task.meta(args))
            if average is not None and epoch < args.epochs:
                average.swap()
    except Diverged as error:
        kept = (f"epochs 1..{epochs_done} are saved, untouched, in {run_dir}/model.npz" if epochs_done
                else "no epoch was saved")
        last = f"{error.last_finite:.4g}" if error.last_finite is not None else "none yet"
        print(f"error: training diverged in epoch {epochs_done + 1}, {error}; the last finite loss was {last}. "
              f"{kept}. Try a lower --lr (this run: {args.lr:g}).", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted during epoch {epochs_done + 1}; epochs 1..{epochs_done} are saved in "
              f"{run_dir}/model.npz. Continue with: python -m minitorch_deblur.train {args.model} --resume "
              f"{run_dir} --epochs {args.epochs}")
        return 130
    if history:
        print(task.finish(model.eval(), history, run_dir, data_source))
    return 0


def start_from(path: str, model: Any) -> None:
    """``--init``: load a checkpoint's weights only (the optimiser and lr schedule start afresh); cli.py has checked
    that it holds this model with these options."""
    target, fresh = model, ""
    if getattr(model, "discriminator", None) is not None and \
            checkpoint_meta(path).get("model_options", {}).get("discriminator") is False:
        target = Module()              # a GAN file of the generator alone (the shipped one): D starts afresh
        target.generator = model.generator
        fresh = "; the discriminator starts afresh: the file holds the generator only"
    meta = load_checkpoint(path, target)
    print(f"initialised from {path} (its weights after {meta.get('epoch', '?')} epochs; a fresh optimiser and lr "
          f"schedule{fresh})")


def write_metrics(run_dir: Path, args: argparse.Namespace, device: str, history: Dict[str, List[float]],
                  data_source: str, task_meta: Dict[str, Any]) -> None:
    """metrics.json (atomically): the recipe, the data, every epoch's numbers, and the last epoch's at top level."""
    record = {"model": args.model, "device": device, "data": data_source, **task_meta,
              "args": {k: v for k, v in vars(args).items() if k != "recipe_keys"}, "history": history,
              "final": {key: values[-1] for key, values in history.items()},
              "seconds_per_epoch": float(np.mean(history["epoch_seconds"]))}
    if "test_acc" in history:
        record["test_accuracy"] = history["test_acc"][-1]
    tmp = run_dir / "metrics.json.tmp"
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(run_dir / "metrics.json")

