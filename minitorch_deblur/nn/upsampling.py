"""``Upsample``: nearest-neighbour upsampling of NCHW images by an integer factor."""
from __future__ import annotations

from ..autograd import Tensor
from ..functional.pool import upsample_nearest2d
from .module import Module


class Upsample(Module):
    """(N, C, H, W) -> (N, C, H*s, W*s), each pixel repeated s x s times (gradient: the sum over each block)."""

    def __init__(self, scale_factor: int = 2, mode: str = "nearest") -> None:
        super().__init__()
        if mode != "nearest":
            raise ValueError(f"Upsample: mode {mode!r} is not implemented; only mode='nearest' is")
        if int(scale_factor) != scale_factor or scale_factor < 1:
            raise ValueError(f"Upsample: scale_factor must be a positive integer, got {scale_factor}")
        self.scale_factor, self.mode = int(scale_factor), mode

    def forward(self, x: Tensor) -> Tensor:
        return upsample_nearest2d(x, scale_factor=self.scale_factor)

    def extra_repr(self) -> str:
        return f"scale_factor={float(self.scale_factor)}, mode='{self.mode}'"
