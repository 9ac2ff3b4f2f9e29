"""``ExponentialMovingAverage``: a running average of the weights over the last ~1/(1 - decay) optimiser steps.

    ema = ExponentialMovingAverage(model.parameters(), decay=0.999)
    for batch in batches:
        ...; opt.step(); ema.update()
    ema.swap()          # the model now holds the averaged weights: evaluate, save
    ema.swap()          # and the trained ones again: keep training

After each step, for every parameter p:  avg <- d * avg + (1 - d) * p,  with d = min(decay, (1 + n) / (10 + n)) at
the n-th update (TensorFlow's warm-up, so the first steps are not dominated by the starting weights). The average
follows the same trajectory as the weights but without their step-to-step noise, which at a non-zero learning rate
is often worth a few percent of test loss (Polyak averaging). It is not a gradient method: nothing flows through it.

Batch-norm running statistics are buffers, not parameters: they describe the trained weights, not the averaged ones.
Recompute them for the averaged weights (``nn.batchnorm_stats.update_bn``, ``train --precise-bn``) before
evaluating.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List

from ..autograd import Tensor
from ..backend import get_array_module


class ExponentialMovingAverage:
    """Keeps ``shadow[i]``, the moving average of ``params[i].data`` (same shape, dtype and device)."""

    def __init__(self, params: Iterable[Tensor], decay: float = 0.999) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ExponentialMovingAverage: decay must be in (0, 1), got {decay} (0.999 averages over "
                             "about the last 1,000 steps)")
        self.params: List[Tensor] = list(params)
        self.decay = float(decay)
        self.updates = 0
        self.shadow: List[Any] = [p.data.copy() for p in self.params]

    def update(self) -> None:
        """Fold the parameters' current values into the average (call after each ``optimizer.step()``)."""
        self.updates += 1
        d = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        for average, p in zip(self.shadow, self.params):
            average *= d
            average += (1.0 - d) * p.data

    def swap(self) -> None:
        """Exchange the parameters' values with the averages, in place (Tensor objects, and so an optimiser's
        per-parameter state, are untouched). Calling it twice restores the original state exactly."""
        for i, p in enumerate(self.params):
            p.data, self.shadow[i] = self.shadow[i], p.data

    def state_dict(self) -> Dict[str, Any]:
        """{'decay', 'updates', 'shadow': [arrays in parameter order]}."""
        return {"decay": self.decay, "updates": self.updates, "shadow": list(self.shadow)}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        shadow = state["shadow"]
        if len(shadow) != len(self.params):
            raise ValueError(f"ExponentialMovingAverage: the saved average has {len(shadow)} arrays, the model "
                             f"{len(self.params)} parameters; was it saved from another model?")
        for i, (saved, p) in enumerate(zip(shadow, self.params)):
            if tuple(saved.shape) != tuple(p.shape):
                raise ValueError(f"ExponentialMovingAverage: saved average {i} has shape {tuple(saved.shape)}, the "
                                 f"parameter {tuple(p.shape)}")
            self.shadow[i] = _like(saved, p.data)
        self.decay, self.updates = float(state["decay"]), int(state["updates"])


def _like(array: Any, reference: Any) -> Any:
    """``array`` as a copy with ``reference``'s dtype and on its device."""
    return get_array_module(reference).asarray(array, dtype=reference.dtype).copy()
