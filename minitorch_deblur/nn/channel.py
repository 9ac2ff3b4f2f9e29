"""The layers of NAFNet-style restoration networks (models/nafnet.py), PyTorch's names where PyTorch has them:
``LayerNorm2d`` (channel layer norm, NAFNet's), ``DepthwiseConv2d`` (PyTorch's Conv2d(C, C, k, groups=C)),
``SimpleGate``, ``AdaptiveAvgPool2d`` (output size 1 only), ``PixelShuffle`` and ``PixelUnshuffle``."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..autograd import Tensor
from ..backend import Generator
from ..functional.channel_ops import (adaptive_avg_pool2d, depthwise_conv2d, layer_norm2d, pixel_shuffle,
                                      pixel_unshuffle, simple_gate)
from . import init
from .module import Module
from .parameter import Parameter


class LayerNorm2d(Module):
    """Each pixel's C channels of (N, C, H, W) normalised (mean 0, variance 1), then weight * x + bias per channel
    (weight 1, bias 0 at init). No running statistics: training and eval are the same function."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.channels, self.eps = channels, eps
        self.weight = Parameter(np.ones(channels, dtype=np.float32))
        self.bias = Parameter(np.zeros(channels, dtype=np.float32))

    def forward(self, x: Tensor) -> Tensor:
        return layer_norm2d(x, self.weight, self.bias, eps=self.eps)

    def extra_repr(self) -> str:
        return f"{self.channels}, eps={self.eps}"


class DepthwiseConv2d(Module):
    """(N, C, H, W) -> (N, C, H, W): each channel convolved with its own k x k kernel, stride 1, padding k // 2
    ('same' for odd k). PyTorch's Conv2d(C, C, k, padding=k // 2, groups=C): weight (C, 1, k, k), same init."""

    def __init__(self, channels: int, kernel_size: int = 3, bias: bool = True,
                 generator: Optional[Generator] = None) -> None:
        super().__init__()
        self.channels, self.kernel_size, self.padding = channels, kernel_size, kernel_size // 2
        self.weight = Parameter(np.empty((channels, 1, kernel_size, kernel_size), dtype=np.float32))
        if bias:
            self.bias = Parameter(np.empty((channels,), dtype=np.float32))
        else:
            self.register_parameter("bias", None)
        init.default_uniform_(self.weight, self.bias, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        return depthwise_conv2d(x, self.weight, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        return f"{self.channels}, kernel_size={self.kernel_size}" + ("" if self.bias is not None else ", bias=False")


class SimpleGate(Module):
    """NAFNet's gate, the activation of a network without activations: (N, 2C, H, W) -> (N, C, H, W), the first
    half of the channels times the second."""

    def forward(self, x: Tensor) -> Tensor:
        return simple_gate(x)


class AdaptiveAvgPool2d(Module):
    """Global average pooling, (N, C, H, W) -> (N, C, 1, 1): PyTorch's AdaptiveAvgPool2d(1) (only size 1 here)."""

    def __init__(self, output_size: Any = 1) -> None:
        super().__init__()
        if output_size not in (1, (1, 1), [1, 1]):
            raise ValueError(f"AdaptiveAvgPool2d: only output_size 1 is implemented, got {output_size!r}")
        self.output_size = 1

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool2d(x, 1)

    def extra_repr(self) -> str:
        return "output_size=1"


class PixelShuffle(Module):
    """(N, C r^2, H, W) -> (N, C, H r, W r), PyTorch's channel order (sub-pixel upsampling)."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = int(upscale_factor)

    def forward(self, x: Tensor) -> Tensor:
        return pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(N, C, H r, W r) -> (N, C r^2, H, W), the inverse of PixelShuffle."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = int(downscale_factor)

    def forward(self, x: Tensor) -> Tensor:
        return pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
