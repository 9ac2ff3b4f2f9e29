"""``Dropout``: zero each element with probability p in training mode, scale the rest by 1/(1-p); identity in eval."""
from __future__ import annotations

from typing import Optional

from ..autograd import Tensor
from ..backend import Generator
from ..functional.fast.dispatch import dropout   # one CUDA kernel each way on a GPU
from .module import Module


class Dropout(Module):
    """Inverted dropout. The mask is drawn from ``generator`` (a backend.Generator), else the global default."""

    def __init__(self, p: float = 0.5, generator: Optional[Generator] = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p={p} must be in [0, 1]")
        self.p, self.generator = p, generator

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, training=self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"
