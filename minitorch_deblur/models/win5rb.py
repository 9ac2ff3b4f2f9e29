"""Course B: Win5-RB (Liu & Fang 2017), a residual deblurrer: output = input + a stack of wide convolutions.

``Win5RB()`` is the network as the course notebook built it, 1,276,879 parameters as Keras counts them
(1,276,169 learned plus 710 running statistics): Conv32 3x3, Conv64 5x5, Conv128 7x7, Conv128 7x7, each with batch
norm and ReLU, then Conv 7x7 back to the image channels with batch norm. ``Win5RB(paper=True)`` is the paper's:
4 x (Conv 128 7x7, BN, ReLU), then Conv 7x7 to the image channels with BN. Keras's init and batch-norm settings.
``zero_init_residual=True`` sets the last batch norm's scale to 0, so the network starts as the identity instead
of adding unit-variance noise to the image (what stalls the course recipe on few images; REFERENCE.md).
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

from .. import nn
from ..autograd import Tensor
from ..backend import Generator
from .keras_init import batch_norm, keras_init_

NOTEBOOK: Tuple[Tuple[int, int], ...] = ((32, 3), (64, 5), (128, 7), (128, 7))   # (channels, kernel) per block
PAPER: Tuple[Tuple[int, int], ...] = ((128, 7),) * 4


class Win5RB(nn.Module):
    """(N, C, H, W) degraded image -> (N, C, H, W): the input plus the learned correction (any H, W)."""

    def __init__(self, channels: int = 3, paper: bool = False, zero_init_residual: bool = False,
                 generator: Optional[Generator] = None) -> None:
        super().__init__()
        layers: List[nn.Module] = []
        c_in = channels
        for c_out, k in PAPER if paper else NOTEBOOK:
            layers += [nn.Conv2d(c_in, c_out, k, padding=k // 2, generator=generator), batch_norm(c_out), nn.ReLU()]
            c_in = c_out
        layers += [nn.Conv2d(c_in, channels, 7, padding=3, generator=generator), batch_norm(channels)]
        self.correction = nn.Sequential(*layers)
        keras_init_(self, generator)
        if zero_init_residual:   # start as the identity: the last batch norm's scale at 0 (Goyal et al. 2017)
            nn.init.zeros_(self.correction[-1].weight)

    def forward(self, x: Any) -> Tensor:
        return x + self.correction(x)

