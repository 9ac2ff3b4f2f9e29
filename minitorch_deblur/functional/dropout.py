"""Dropout: zero each element with probability p while training and scale the rest by 1/(1-p)."""
from __future__ import annotations

from typing import Any, Optional

from ..autograd import Context, Function, Tensor
from ..backend import Generator, default_generator, device_of


class Dropout(Function):
    """y = x * mask,  mask = keep / (1 - p) with keep ~ Bernoulli(1 - p);  dx = g * mask.

    The mask comes from an explicit seeded generator, so a run is reproducible (and equal on CPU and GPU).
    """

    @staticmethod
    def forward(ctx: Context, x: Any, p: float = 0.5, generator: Optional[Generator] = None) -> Any:
        g = generator or default_generator()
        keep = g.random(x.shape, dtype=x.dtype, device=device_of(x)) >= p
        mask = keep * x.dtype.type(1.0 / (1.0 - p))
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (mask,) = ctx.saved
        return (grad * mask,)


def dropout(x: Any, p: float = 0.5, training: bool = True, generator: Optional[Generator] = None) -> Tensor:
    """Inverted dropout: identity when not training or p == 0; all zeros when p == 1."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p={p} must be in [0, 1]")
    if not training or p == 0.0:
        return x if isinstance(x, Tensor) else Tensor(x)
    if p == 1.0:
        return x * 0.0
    return Dropout.apply(x, p=p, generator=generator)
