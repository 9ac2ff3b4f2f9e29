"""Pooling layers: ``MaxPool2d`` and ``AvgPool2d`` over NCHW windows (stride defaults to the kernel size)."""
from __future__ import annotations

from typing import Optional

from ..autograd import Tensor
from ..functional import avg_pool2d, max_pool2d
from .module import Module


class MaxPool2d(Module):
    """(N, C, H, W) -> (N, C, (H + 2p - k)//s + 1, ...), the max of each window (gradient to the argmax)."""

    def __init__(self, kernel_size: int, stride: Optional[int] = None, padding: int = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding

    def forward(self, x: Tensor) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """(N, C, H, W) -> window means; ``count_include_pad`` decides whether padded zeros count in the divisor."""

    def __init__(self, kernel_size: int, stride: Optional[int] = None, padding: int = 0,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, count_include_pad=self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
