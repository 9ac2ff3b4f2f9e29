"""Tensor factories: zeros, ones, rand, randn, arange (float32 by default, 'cpu' or 'cuda')."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from .autograd import Tensor
from .backend import Generator, default_generator, xp_for

Shape = Union[int, Sequence[int]]


def _shape(shape: Sequence[Any]) -> tuple:
    return tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else tuple(shape)


def zeros(*shape: Any, dtype: Any = np.float32, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    return Tensor(xp_for(device).zeros(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = np.float32, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    return Tensor(xp_for(device).ones(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def zeros_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return Tensor(t.data * 0, requires_grad=requires_grad)


def ones_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return Tensor(t.data * 0 + 1, requires_grad=requires_grad)


def rand(*shape: Any, generator: Optional[Generator] = None, dtype: Any = np.float32, device: str = "cpu",
         requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) from a seeded generator (the global one by default; see ``manual_seed``)."""
    g = generator or default_generator()
    return Tensor(g.random(_shape(shape), dtype=dtype, device=device), requires_grad=requires_grad)


def randn(*shape: Any, generator: Optional[Generator] = None, dtype: Any = np.float32, device: str = "cpu",
          requires_grad: bool = False) -> Tensor:
    """Standard normal from a seeded generator (the global one by default; see ``manual_seed``)."""
    g = generator or default_generator()
    return Tensor(g.normal(0.0, 1.0, _shape(shape), dtype=dtype, device=device), requires_grad=requires_grad)


def arange(start: float, stop: Optional[float] = None, step: float = 1, dtype: Any = None,
           device: str = "cpu") -> Tensor:
    return Tensor(xp_for(device).arange(start, stop, step, dtype=dtype))
