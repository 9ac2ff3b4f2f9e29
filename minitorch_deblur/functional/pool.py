"""Pooling and nearest upsampling: ``max_pool2d``, ``avg_pool2d``, ``upsample_nearest2d``.

A pooling window is a convolution window, and like ``col2im`` the pools loop over the kh*kw kernel offsets:
offset (i, j) of every window at once is one strided slice of the padded input, x[:, :, i::stride, j::stride]
cut to (Ho, Wo). Max pooling keeps a running maximum of those slices (and which offset won), average pooling a
running sum; their backward passes add the gradient back onto the same slices. No window matrix is built, and
the same lines run on NumPy and CuPy.
"""
from __future__ import annotations

from typing import Any, Iterator, Optional, Tuple

from ..autograd import Context, Function, Tensor
from ..backend import get_array_module, shape_str
from .conv import IntPair, _pair, out_size


def _pool_args(op: str, x: Any, kernel_size: IntPair, stride: Optional[IntPair], padding: IntPair) -> tuple:
    """Check a pooling call; returns (kernel, stride, padding, (Ho, Wo))."""
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {shape_str(x.shape)}")
    kernel = _pair(op, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else _pair(op, "stride", stride, 1)
    padding = _pair(op, "padding", padding, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel} "
                         f"(input {shape_str(x.shape)})")
    return kernel, stride, padding, out_size(op, x.shape, kernel, stride, padding)


def _window_slices(kernel: Tuple[int, int], stride: Tuple[int, int], out: Tuple[int, int]) -> Iterator[tuple]:
    """For each kernel offset (i, j) in row-major order, the index of that offset in every window at once."""
    (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out
    for i in range(kh):
        for j in range(kw):
            yield (slice(None), slice(None), slice(i, i + sh * (ho - 1) + 1, sh), slice(j, j + sw * (wo - 1) + 1, sw))


def _padded(x: Any, padding: Tuple[int, int], value: float) -> Any:
    if padding == (0, 0):
        return x
    ph, pw = padding
    return get_array_module(x).pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _unpadded(x: Any, padding: Tuple[int, int]) -> Any:
    ph, pw = padding
    return x[:, :, ph:x.shape[2] - ph, pw:x.shape[3] - pw]


class MaxPool2d(Function):
    """y = max over each window (padding is -inf);  dx = dy at the window's first argmax, 0 elsewhere.

    Forward keeps a running maximum of the kh*kw offset slices and, per window, which offset holds it: a uint8
    (the first one on ties, PyTorch's rule, since a later offset must be strictly larger to win). Backward hands
    dy to the slice of that offset: one pass per offset, and nothing but the small index is saved.
    """

    name = "max_pool2d"

    @staticmethod
    def forward(ctx: Context, x: Any, kernel_size: IntPair = 2, stride: Optional[IntPair] = None,
                padding: IntPair = 0) -> Any:
        xp = get_array_module(x)
        kernel, stride, padding, out = _pool_args("max_pool2d", x, kernel_size, stride, padding)
        ctx.kernel, ctx.stride, ctx.padding = kernel, stride, padding
        xpad = _padded(x, padding, -float("inf"))
        slices = _window_slices(kernel, stride, out)
        y = xpad[next(slices)].copy()
        index_type = xp.uint8 if kernel[0] * kernel[1] <= 256 else xp.int32
        winner = xp.zeros(y.shape, dtype=index_type)   # which kernel offset holds each window's maximum
        for k, index in enumerate(slices, start=1):
            candidate = xpad[index]
            larger = (candidate > y).astype(index_type)
            winner += larger * (index_type(k) - winner)  # = k where larger (arithmetic: masked writes are slow)
            xp.maximum(y, candidate, out=y)
        ctx.save_for_backward(winner)
        ctx.padded_shape = xpad.shape
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        xp = get_array_module(grad)
        (winner,) = ctx.saved
        dx = xp.zeros(ctx.padded_shape, dtype=grad.dtype)
        overlapping = ctx.stride[0] < ctx.kernel[0] or ctx.stride[1] < ctx.kernel[1]
        for k, index in enumerate(_window_slices(ctx.kernel, ctx.stride, grad.shape[2:])):
            if overlapping:   # windows share pixels: add
                dx[index] += grad * (winner == k)
            else:             # each pixel is in one window: write in place
                xp.multiply(grad, winner == k, out=dx[index])
        return (_unpadded(dx, ctx.padding),)


class AvgPool2d(Function):
    """y = mean over each window;  dx = dy / divisor added to every pixel of the window."""

    name = "avg_pool2d"

    @staticmethod
    def forward(ctx: Context, x: Any, kernel_size: IntPair = 2, stride: Optional[IntPair] = None,
                padding: IntPair = 0, count_include_pad: bool = True) -> Any:
        xp = get_array_module(x)
        kernel, stride, padding, out = _pool_args("avg_pool2d", x, kernel_size, stride, padding)
        if count_include_pad or padding == (0, 0):
            divisor = xp.asarray(kernel[0] * kernel[1], dtype=x.dtype)
        else:  # how many real (unpadded) pixels each window covers, shape (1, 1, Ho, Wo)
            divisor = _window_sum(_padded(xp.ones((1, 1) + x.shape[2:], dtype=x.dtype), padding, 0), kernel,
                                  stride, out)
        ctx.save_for_backward(divisor)
        ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding = x.shape, kernel, stride, padding
        return _window_sum(_padded(x, padding, 0), kernel, stride, out) / divisor

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        xp = get_array_module(grad)
        (divisor,) = ctx.saved
        n, c, h, w = ctx.x_shape
        (ph, pw) = ctx.padding
        share = grad / divisor
        dx = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=grad.dtype)
        for index in _window_slices(ctx.kernel, ctx.stride, grad.shape[2:]):
            dx[index] += share
        return (_unpadded(dx, ctx.padding),)


def _window_sum(xpad: Any, kernel: Tuple[int, int], stride: Tuple[int, int], out: Tuple[int, int]) -> Any:
    slices = _window_slices(kernel, stride, out)
    total = xpad[next(slices)].copy()
    for index in slices:
        total += xpad[index]
    return total


class UpsampleNearest2d(Function):
    """y[n, c, i, j] = x[n, c, i // s, j // s];  dx = dy summed over each s x s block."""

    name = "upsample_nearest2d"

    @staticmethod
    def forward(ctx: Context, x: Any, scale_factor: int = 2) -> Any:
        xp = get_array_module(x)
        if x.ndim != 4:
            raise ValueError(f"upsample_nearest2d: input must be 4-D (N, C, H, W), got shape {shape_str(x.shape)}")
        if isinstance(scale_factor, float) and scale_factor.is_integer():
            scale_factor = int(scale_factor)
        if not isinstance(scale_factor, int) or isinstance(scale_factor, bool) or scale_factor < 1:
            raise ValueError(f"upsample_nearest2d: scale_factor must be a positive integer, got {scale_factor!r} "
                             f"(input {shape_str(x.shape)})")
        n, c, h, w = x.shape
        s = ctx.scale = scale_factor
        y = xp.empty((n, c, h * s, w * s), dtype=x.dtype)
        for i in range(s):          # s*s strided writes: each output offset (i, j) of every block at once
            for j in range(s):
                y[:, :, i::s, j::s] = x
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        s = ctx.scale
        dx = grad[:, :, ::s, ::s].copy()
        for i in range(s):          # the s*s offsets of each block, added slice by slice
            for j in range(s):
                if i or j:
                    dx += grad[:, :, i::s, j::s]
        return (dx,)


def max_pool2d(x: Any, kernel_size: IntPair, stride: Optional[IntPair] = None, padding: IntPair = 0) -> Tensor:
    """Max pooling, PyTorch's ``F.max_pool2d``: (N, C, H, W) -> (N, C, Ho, Wo); stride defaults to kernel_size,
    padding (at most kernel_size // 2) pads with -inf."""
    return MaxPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding)


def avg_pool2d(x: Any, kernel_size: IntPair, stride: Optional[IntPair] = None, padding: IntPair = 0,
               count_include_pad: bool = True) -> Tensor:
    """Average pooling, PyTorch's ``F.avg_pool2d``; zero padding counts in the divisor when count_include_pad."""
    return AvgPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding,
                           count_include_pad=count_include_pad)


def upsample_nearest2d(x: Any, scale_factor: int = 2) -> Tensor:
    """Nearest-neighbour upsampling by an integer factor: (N, C, H, W) -> (N, C, H*s, W*s)."""
    return UpsampleNearest2d.apply(x, scale_factor=scale_factor)
