"""Course A, week 2: the MNIST CNN (422,474 parameters).

Three blocks of [Conv 3x3 pad 1, BatchNorm2d, ReLU, MaxPool 2, Dropout 0.3] with 32, 64, 128 channels take
28x28 to 14, 7 and 3; then Flatten 1152 -> Linear 256 -> Linear 128 -> Linear 10 with ReLU and dropout 0.3.
"""
from __future__ import annotations

from typing import Any, Optional

from .. import nn
from ..autograd import Tensor
from ..backend import Generator


def conv_block(c_in: int, c_out: int, dropout: float, generator: Optional[Generator]) -> nn.Sequential:
    """Conv3x3(pad 1) -> BatchNorm2d -> ReLU -> MaxPool2d(2) -> Dropout: (N, c_in, H, W) -> (N, c_out, H//2, W//2)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, generator=generator), nn.BatchNorm2d(c_out), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(dropout, generator=generator),
    )


class CNN(nn.Module):
    """(N, 1, 28, 28) images -> (N, 10) logits."""

    def __init__(self, dropout: float = 0.3, generator: Optional[Generator] = None) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_block(1, 32, dropout, generator), conv_block(32, 64, dropout, generator),
            conv_block(64, 128, dropout, generator),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * 3 * 3, 256, generator=generator), nn.ReLU(), nn.Dropout(dropout, generator=generator),
            nn.Linear(256, 128, generator=generator), nn.ReLU(), nn.Dropout(dropout, generator=generator),
            nn.Linear(128, 10, generator=generator),
        )

    def forward(self, x: Any) -> Tensor:
        return self.classifier(self.features(x))
