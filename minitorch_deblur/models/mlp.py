"""Course A, week 1: the MNIST MLP, 784-256-128-10 with ReLU and dropout 0.3 (235,146 parameters)."""
from __future__ import annotations

from typing import Any, Optional

from .. import nn
from ..autograd import Tensor
from ..backend import Generator


class MLP(nn.Module):
    """(N, 1, 28, 28) or (N, 784) images -> (N, 10) logits."""

    def __init__(self, dropout: float = 0.3, generator: Optional[Generator] = None) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 256, generator=generator), nn.ReLU(), nn.Dropout(dropout, generator=generator),
            nn.Linear(256, 128, generator=generator), nn.ReLU(), nn.Dropout(dropout, generator=generator),
            nn.Linear(128, 10, generator=generator),
        )

    def forward(self, x: Any) -> Tensor:
        return self.net(x)
