"""The ``Task`` contract between the training loop (loop.py) and what it trains: classify.py, restore.py, gan.py.

A task is built from a ``TrainConfig`` and answers, in the order the loop asks:

- ``build(generator) -> Built``: the model, its optimisers and lr schedulers (always dicts by name: '' for the only
  one) and the model options a checkpoint records. Default: the registry's class with its options, Adam.
- ``init_from(path, model) -> str``: ``--init``: load a checkpoint's weights; returns the line to print.
- ``load(device, run_dir) -> str``: read the data; one line saying what was loaded (metrics.json records it).
- ``batches(epoch)``: the training batches of one epoch (a sized iterable), reproducible for (seed, epoch).
- ``step(model, batch) -> (loss Tensor, n, sums)``: the forward pass of one batch; ``sums`` are per-batch totals
  (e.g. correct predictions) that the loop averages over the epoch as ``train_<key>``. ``--precise-bn`` uses it.
- ``update(model, optimizers, batch, index, last_finite, check_now) -> (loss, finite, n, sums)``: the training
  step of one batch. Default: ``minimise`` the ``step`` loss; the GAN overrides it (a D step, then a G step).
- ``check(index, loss, n, sums, last_finite)``: look at one step's numbers once the loop has read them back;
  raise ``Diverged`` naming what went wrong (the loop itself checks the loss and the gradient flag after it).
  Default: a loss more than ``explodes`` times the run's first (positive) loss has diverged, finite or not.
- ``verdict(record) -> str | None``: after each epoch, what makes the run a failure although every number is
  finite (a classifier no better than chance); the loop stops with that line and exit 1. Default: none.
- ``evaluate(model) -> {name: float}``: the metrics after each epoch; ``describe(record) -> str``: the epoch line.
- ``not_recorded``: the options that do not shape this model's run (train/cli.py's option scopes set it), left out
  of metrics.json's ``args``.
- ``meta() -> dict``: what the checkpoint and metrics.json record besides the recipe; ``final(history) -> dict``:
  top-level entries of metrics.json (e.g. test_accuracy).
- ``finish(model, history, run_dir, data_source) -> str``: figures and tables at the end; what it wrote.

Class attributes: ``options`` (the train options it takes beyond the common ones; with the model's own options
they are what ``train`` accepts for a model), ``shown`` (sums shown in the progress bar), ``example_shape``.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ..autograd import Tensor
from ..backend import Generator, get_array_module
from ..checkpoint import load_checkpoint
from ..models.registry import REGISTRY, check_options
from ..optim import Adam, CosineAnnealingLR, ExponentialLR, StepLR
from .config import TrainConfig

Update = Tuple[Any, Any, int, Dict[str, Any]]   # loss, gradients finite, images, sums: device scalars


class Diverged(RuntimeError):
    """Training met a non-finite loss or gradient: the step that did, and the last finite loss before it."""

    def __init__(self, step: int, what: str, last_finite: Optional[float]) -> None:
        self.step, self.what, self.last_finite = step, what, last_finite
        super().__init__(f"step {step}: {what}")


class Built(NamedTuple):
    """What ``Task.build`` makes: optimisers and schedulers by name ('' for a one-model task's only one)."""

    model: Any
    optimizers: Dict[str, Any]
    schedulers: Dict[str, Any]
    options: Dict[str, Any]


class Task(ABC):
    """One kind of training (module docstring). Subclasses set ``example_shape`` and the abstract methods."""

    example_shape: ClassVar[Tuple[int, ...]]
    options: ClassVar[Tuple[str, ...]] = ()
    shown: ClassVar[Tuple[str, ...]] = ()
    explodes: ClassVar[Optional[float]] = 1e3   # check(): a loss this many times the first one has diverged
    first_loss: Optional[float] = None
    not_recorded: Tuple[str, ...] = ()   # options that do not apply to this model: metrics.json leaves them out
    sync: Optional[Any] = None   # --distributed: sync(parameters) after each backward (distributed/parallel.py)

    def __init__(self, config: TrainConfig) -> None:
        self.config = config

    def build(self, generator: Generator) -> Built:
        options = self.model_options()
        check_options(self.config.model, options)   # out-of-range options: one line, before anything is built
        model = REGISTRY[self.config.model].cls(generator=generator, **options)
        optimizers = self.optimizers(model)
        return Built(model, optimizers, {name: make_scheduler(opt, self.config) for name, opt in optimizers.items()},
                     options)

    def model_options(self) -> Dict[str, Any]:
        """The model's constructor options that the run sets (the registry names them; defaults left out)."""
        return {key: getattr(self.config, key) for key in REGISTRY[self.config.model].options
                if getattr(self.config, key) not in (False, None, "zeros")}

    def optimizers(self, model: Any) -> Dict[str, Any]:
        return {"": Adam(model.parameters(), lr=self.config.lr)}

    def init_from(self, path: str, model: Any) -> str:
        meta = load_checkpoint(path, model)
        return (f"initialised from {path} (its weights after {meta.get('epoch', '?')} epochs; a fresh optimiser and "
                "lr schedule)")

    @abstractmethod
    def load(self, device: str, run_dir: Path) -> str: ...

    @abstractmethod
    def batches(self, epoch: int) -> Any: ...

    @abstractmethod
    def step(self, model: Any, batch: Any) -> Tuple[Tensor, int, Dict[str, Any]]: ...

    def update(self, model: Any, optimizers: Dict[str, Any], batch: Any, index: int, last_finite: Optional[float],
               check_now: bool) -> Update:
        return minimise(model, optimizers[""], self.step, batch, index, last_finite, check_now, self.sync)

    def check(self, index: int, loss: float, n: int, sums: Dict[str, float], last_finite: Optional[float]) -> None:
        """A finite loss ``explodes`` times the run's first one (when that was > 0) raises ``Diverged``: with far
        too high a learning rate the loss can grow to 1e21 and stay finite."""
        if self.first_loss is None:
            self.first_loss = loss if math.isfinite(loss) else None
            return
        if (self.explodes and self.first_loss > 0 and math.isfinite(loss)
                and loss > self.explodes * self.first_loss):
            raise Diverged(index, f"the loss is {loss:.4g}, more than {self.explodes:g}x its first value "
                                  f"{self.first_loss:.4g}", last_finite)

    def verdict(self, record: Dict[str, float]) -> Optional[str]:
        """After an epoch: why the run has failed, or None (default: the step checks are enough)."""
        return None

    @abstractmethod
    def evaluate(self, model: Any) -> Dict[str, float]: ...

    @abstractmethod
    def describe(self, record: Dict[str, float]) -> str: ...

    def meta(self) -> Dict[str, Any]:
        return {}

    def final(self, history: Dict[str, List[float]]) -> Dict[str, Any]:
        return {}

    @abstractmethod
    def finish(self, model: Any, history: Dict[str, List[float]], run_dir: Path, data_source: str) -> str: ...


def grads_finite(parameters: Sequence[Any]) -> Any:
    """A 0-d boolean on the gradients' device: are all of them finite? (No host synchronisation.)"""
    flags = [get_array_module(p.grad).isfinite(p.grad).all() for p in parameters if p.grad is not None]
    if not flags:
        return np.bool_(True)
    return get_array_module(flags[0]).stack(flags).all()


def minimise(model: Any, optimizer: Any, step: Any, batch: Any, index: int, last_finite: Optional[float],
             check_now: bool = True, sync: Optional[Any] = None) -> Update:
    """One update of one loss: zero_grad, ``step(model, batch) -> (loss, n, sums)``, backward, optimizer.step().

    Returns (loss, gradients finite, n, sums) as device scalars. With ``check_now`` (the CPU, where reading a
    number costs nothing) a non-finite loss or gradient raises ``Diverged`` at once, before the optimiser touches
    the weights; otherwise the loop reads the flags every few steps, so a GPU never waits. ``sync`` (--distributed)
    sums the gradients across ranks after backward.
    """
    optimizer.zero_grad()
    loss, n, sums = step(model, batch)
    if check_now and not math.isfinite(loss.item()):
        raise Diverged(index, f"the loss is {loss.item()}", last_finite)
    loss.backward()
    if sync is not None:
        sync(model.parameters())
    finite = grads_finite(list(model.parameters()))
    if check_now and not bool(finite):
        raise Diverged(index, f"a gradient is not finite (loss {loss.item():.4g})", last_finite)
    optimizer.step()
    return loss.data, finite, n, sums


def make_scheduler(optimizer: Any, config: TrainConfig) -> Optional[Any]:
    """--lr-schedule: 'step' (x lr_gamma every lr_step epochs; lr_step 0 = constant), 'exp' (constant for lr_step
    epochs, then x lr_gamma per epoch: course B's Keras schedule) or 'cosine' (down to 0 at the last epoch)."""
    if config.lr_schedule == "exp":
        return ExponentialLR(optimizer, config.lr_gamma, start=config.lr_step)
    if config.lr_schedule == "cosine":
        return CosineAnnealingLR(optimizer, config.epochs)
    return StepLR(optimizer, config.lr_step, config.lr_gamma) if config.lr_step else None


