"""``Conv2d`` and ``ConvTranspose2d``: learnable (transposed) convolutions over NCHW images."""
from __future__ import annotations

from typing import Optional, Tuple, Union

import numpy as np

from ..autograd import Tensor
from ..backend import Generator
from ..functional import conv2d, conv_transpose2d
from ..functional.shape import pad
from . import init
from .module import Module
from .parameter import Parameter

IntPair = Union[int, Tuple[int, int]]


PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate"}   # PyTorch's name -> pad's


def _pair(v: IntPair) -> Tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))


def _named_padding(padding: Union[IntPair, str], kernel: Tuple[int, int], stride: Tuple[int, int]) -> IntPair:
    """PyTorch's padding='valid' (0) and padding='same' (output size = input size: k // 2 for odd kernels)."""
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return 0
    if padding != "same":
        raise ValueError(f"Conv2d: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    if stride != (1, 1):
        raise ValueError(f"Conv2d: padding='same' needs stride 1 (as in PyTorch), got stride {stride}")
    if kernel[0] % 2 == 0 or kernel[1] % 2 == 0:
        raise ValueError(f"Conv2d: padding='same' needs odd kernel sizes here (kernel {kernel}): an even kernel "
                         "would need more padding on one side; pad explicitly with F.pad, then padding=0")
    return (kernel[0] // 2, kernel[1] // 2)


class _ConvNd(Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntPair, stride: IntPair,
                 padding: IntPair, bias: bool, weight_shape: Tuple[int, ...], generator: Optional[Generator]) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), _pair(stride), _pair(padding)
        self.weight = Parameter(np.empty(weight_shape, dtype=np.float32))
        if bias:
            self.bias = Parameter(np.empty((out_channels,), dtype=np.float32))
        else:
            self.register_parameter("bias", None)
        # fan_in from weight dim 1 (as PyTorch), so for ConvTranspose2d it is out_channels * kh * kw
        init.default_uniform_(self.weight, self.bias, generator=generator)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if getattr(self, "output_padding", (0, 0)) != (0, 0):
            s += f", output_padding={self.output_padding}"
        return s + ("" if self.bias is not None else ", bias=False")


class Conv2d(_ConvNd):
    """(N, in, H, W) -> (N, out, (H + 2p - kh)//s + 1, (W + 2p - kw)//s + 1); weight (out, in, kh, kw).

    Init: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in * kh * kw. Conv2d(1, 32, 3) has 32*9 + 32 = 320
    parameters.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntPair, stride: IntPair = 1,
                 padding: Union[IntPair, str] = 0, bias: bool = True, generator: Optional[Generator] = None,
                 padding_mode: str = "zeros") -> None:
        kh, kw = _pair(kernel_size)
        padding = _named_padding(padding, (kh, kw), _pair(stride))
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"Conv2d: padding_mode must be one of {', '.join(PADDING_MODES)}, got {padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias,
                         (out_channels, in_channels, kh, kw), generator)
        self.padding_mode = padding_mode

    def pad_input(self, x: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        """(input, the padding conv2d still has to add): zeros are conv2d's own padding; 'reflect' / 'replicate'
        pad the input first (as PyTorch does), then the convolution is a valid one."""
        if self.padding_mode == "zeros" or self.padding == (0, 0):
            return x, self.padding
        ph, pw = self.padding
        return pad(x, (pw, pw, ph, ph), mode=PADDING_MODES[self.padding_mode]), (0, 0)

    def forward(self, x: Tensor) -> Tensor:
        x, padding = self.pad_input(x)
        return conv2d(x, self.weight, self.bias, stride=self.stride, padding=padding)


class ConvTranspose2d(_ConvNd):
    """(N, in, H, W) -> (N, out, (H - 1)s - 2p + kh + output_padding, ...); weight (in, out, kh, kw).

    The adjoint of Conv2d with the same weight (its forward is conv2d's input gradient). Init as PyTorch: fan_in is
    computed from weight dim 1, i.e. out * kh * kw.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntPair, stride: IntPair = 1,
                 padding: IntPair = 0, output_padding: IntPair = 0, bias: bool = True,
                 generator: Optional[Generator] = None) -> None:
        kh, kw = _pair(kernel_size)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias,
                         (in_channels, out_channels, kh, kw), generator)
        self.output_padding = _pair(output_padding)

    def forward(self, x: Tensor) -> Tensor:
        return conv_transpose2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding,
                                output_padding=self.output_padding)
