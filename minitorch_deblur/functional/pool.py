"""Pooling and nearest upsampling: ``max_pool2d``, ``avg_pool2d``, ``upsample_nearest2d``.

A pooling window is exactly a convolution window, so the general case reuses ``im2col`` (windows as the
columns of a (C, kh*kw, N*Ho*Wo) matrix, reduced along the kh*kw axis) and ``col2im`` (gradients added back onto
the windows). The common case, kernel == stride with no padding and a divisible image, needs no copy at all:
x.reshape(N, C, Ho, kh, Wo, kw) already has every window on its axes 3 and 5.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

from ..autograd import Context, Function, Tensor
from ..backend import get_array_module, shape_str
from .conv import IntPair, _pair, col2im, im2col, out_size


def _pool_args(op: str, x: Any, kernel_size: IntPair, stride: Optional[IntPair], padding: IntPair) -> tuple:
    """Check a pooling call; returns (kernel, stride, padding, (Ho, Wo), blocks) with blocks True for the fast path."""
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {shape_str(x.shape)}")
    kernel = _pair(op, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else _pair(op, "stride", stride, 1)
    padding = _pair(op, "padding", padding, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel} "
                         f"(input {shape_str(x.shape)})")
    ho, wo = out_size(op, x.shape, kernel, stride, padding)
    blocks = kernel == stride and padding == (0, 0) and x.shape[2] % kernel[0] == 0 and x.shape[3] % kernel[1] == 0
    return kernel, stride, padding, (ho, wo), blocks


def _windows(x: Any, kernel: Tuple[int, int], stride: Tuple[int, int], padding: Tuple[int, int], blocks: bool,
             pad_value: float = 0.0) -> Any:
    """Every pooling window of x (N, C, H, W) on one axis: (N, C, Ho, Wo, kh*kw) (a copy)."""
    n, c = x.shape[:2]
    if blocks:  # non-overlapping windows: a reshape and one transposing copy
        ho, wo = x.shape[2] // kernel[0], x.shape[3] // kernel[1]
        return x.reshape(n, c, ho, kernel[0], wo, kernel[1]).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, ho, wo, -1)
    ho, wo = out_size("pool", x.shape, kernel, stride, padding)
    cols = im2col(x, kernel, stride, padding, pad_value=pad_value).reshape(c, -1, n, ho, wo)
    return cols.transpose(2, 0, 3, 4, 1)


def _unwindows(g: Any, x_shape: Tuple[int, ...], kernel: Tuple[int, int], stride: Tuple[int, int],
               padding: Tuple[int, int], blocks: bool) -> Any:
    """The adjoint of ``_windows``: add (N, C, Ho, Wo, kh*kw) values back onto an (N, C, H, W) image."""
    n, c, ho, wo, _ = g.shape
    if blocks:
        return g.reshape(n, c, ho, wo, *kernel).transpose(0, 1, 2, 4, 3, 5).reshape(x_shape)
    cols = g.transpose(1, 4, 0, 2, 3).reshape(c * kernel[0] * kernel[1], n * ho * wo)
    return col2im(cols, x_shape, kernel, stride, padding)


class MaxPool2d(Function):
    """y = max over each window (padding is -inf);  dx = dy at the window's first argmax, 0 elsewhere."""

    name = "max_pool2d"

    @staticmethod
    def forward(ctx: Context, x: Any, kernel_size: IntPair = 2, stride: Optional[IntPair] = None,
                padding: IntPair = 0) -> Any:
        xp = get_array_module(x)
        kernel, stride, padding, (ho, wo), blocks = _pool_args("max_pool2d", x, kernel_size, stride, padding)
        ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding, ctx.blocks = x.shape, kernel, stride, padding, blocks
        if blocks:  # max over axes 3 and 5 of a reshaped view: no copy; backward finds the argmax from x and y
            y = x.reshape(*x.shape[:2], ho, kernel[0], wo, kernel[1]).max(axis=(3, 5))
            ctx.save_for_backward(x, y)
            return y
        windows = _windows(x, kernel, stride, padding, blocks, pad_value=-float("inf"))
        argmax = windows.argmax(axis=-1)[..., None]                 # first maximum on ties, as in PyTorch
        ctx.save_for_backward(argmax)
        return xp.ascontiguousarray(xp.take_along_axis(windows, argmax, axis=-1)[..., 0])

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        xp = get_array_module(grad)
        (kh, kw), n, c = ctx.kernel, *ctx.x_shape[:2]
        if ctx.blocks:  # walk the window in row-major order; the first element equal to the max takes dy
            x, y = ctx.saved
            x6 = x.reshape(n, c, y.shape[2], kh, y.shape[3], kw)
            dx = xp.zeros(x6.shape, dtype=grad.dtype)
            taken = xp.zeros(y.shape, dtype=bool)
            for i in range(kh):
                for j in range(kw):
                    first = (x6[:, :, :, i, :, j] == y) & ~taken
                    dx[:, :, :, i, :, j] = grad * first
                    taken |= first
            return (dx.reshape(ctx.x_shape),)
        (argmax,) = ctx.saved
        routed = (xp.arange(kh * kw) == argmax) * grad[..., None]  # (N, C, Ho, Wo, kh*kw), one-hot per window
        return (_unwindows(routed.astype(grad.dtype, copy=False), ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding,
                           ctx.blocks),)


class AvgPool2d(Function):
    """y = mean over each window;  dx = dy / divisor spread evenly over the window."""

    name = "avg_pool2d"

    @staticmethod
    def forward(ctx: Context, x: Any, kernel_size: IntPair = 2, stride: Optional[IntPair] = None,
                padding: IntPair = 0, count_include_pad: bool = True) -> Any:
        xp = get_array_module(x)
        kernel, stride, padding, (ho, wo), blocks = _pool_args("avg_pool2d", x, kernel_size, stride, padding)
        if count_include_pad or padding == (0, 0):
            divisor = xp.asarray(kernel[0] * kernel[1], dtype=x.dtype)
        else:  # how many real (unpadded) pixels each window covers, shape (1, 1, Ho, Wo)
            ones = xp.ones((1, 1) + x.shape[2:], dtype=x.dtype)
            divisor = _windows(ones, kernel, stride, padding, blocks).sum(axis=-1)
        ctx.save_for_backward(divisor)
        ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding, ctx.blocks = x.shape, kernel, stride, padding, blocks
        if blocks:
            n, c = x.shape[:2]
            return x.reshape(n, c, ho, kernel[0], wo, kernel[1]).sum(axis=(3, 5)) / divisor
        return _windows(x, kernel, stride, padding, blocks).sum(axis=-1) / divisor

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        xp = get_array_module(grad)
        (divisor,) = ctx.saved
        kk = ctx.kernel[0] * ctx.kernel[1]
        spread = xp.broadcast_to((grad / divisor)[..., None], grad.shape + (kk,))
        return (_unwindows(xp.ascontiguousarray(spread), ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding,
                           ctx.blocks),)


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
        return xp.broadcast_to(x[:, :, :, None, :, None], (n, c, h, s, w, s)).reshape(n, c, h * s, w * s)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        n, c, hs, ws = grad.shape
        s = ctx.scale
        return (grad.reshape(n, c, hs // s, s, ws // s, s).sum(axis=(3, 5)),)


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
