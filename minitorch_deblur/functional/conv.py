"""Convolution by im2col: ``im2col``, ``col2im``, ``conv2d`` and ``conv_transpose2d``.

One pair of helpers does all the work. ``im2col`` copies every (kh, kw) window of a padded NCHW image into one
column of a matrix of shape (C*kh*kw, N*Ho*Wo); a convolution is then one matrix product with the weight viewed
as (O, C*kh*kw). ``col2im`` is its adjoint: it adds every column back onto the window it came from (windows
overlap, so it *adds*). Hence:

    conv2d forward            y = W @ im2col(x)
    conv2d weight gradient   dW = dy @ im2col(x).T
    conv2d input gradient    dx = col2im(W.T @ dy)          (a transposed convolution of dy)
    conv_transpose2d forward y = col2im(W.T @ x)            (the same line)
    conv_transpose2d grads   dx = W @ im2col(dy),  dW = x @ im2col(dy).T

The column matrix puts the channel and kernel offsets on the rows and the batch and pixels on the columns, so
each convolution is a single large 2-D GEMM (OpenBLAS / cuBLAS sgemm) with no batched small products.
Images enter GEMMs as "row" matrices of shape (C, N*H*W) (``_to_rows``) and leave through ``_from_rows``.

That is the reference path. ``conv2d`` runs stride-1 convolutions (every conv of the course but the GAN's) on a
fast path instead: kernels of 5x5 and more through the DFT (conv_fft.py: a product per frequency instead of
kh*kw multiply-adds per pixel), smaller ones on conv_shifted.py, which reads the same windows as long contiguous
runs and works through the batch in bounded chunks. ``use_conv_path`` forces one path, for the tests that prove
the paths equal and for benchmarks.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Optional, Tuple, Union

import numpy as np

from ..autograd import Context, Function, Tensor, array_of
from ..backend import get_array_module, shape_str
from . import conv_fft, conv_strided, cuda_kernels
from .conv_shifted import (ALGORITHMS, conv2d_pointwise, conv2d_pointwise_grads, conv2d_shifted,
                           conv2d_shifted_input_grad, conv2d_shifted_weight_grad, pointwise)

IntPair = Union[int, Tuple[int, int]]


# ------------------------------------------------------------------------------------------ argument checks
def _pair(op: str, name: str, value: IntPair, minimum: int) -> Tuple[int, int]:
    """An int or a pair of ints -> (h, w), each at least ``minimum``; else a ValueError naming the op."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair) \
            or min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return pair  # type: ignore[return-value]


def out_size(op: str, shape: Tuple[int, ...], kernel: Tuple[int, int], stride: Tuple[int, int],
             padding: Tuple[int, int]) -> Tuple[int, int]:
    """PyTorch's output size floor((H + 2p - k) / s) + 1, or a ValueError when the window does not fit."""
    (h, w), (kh, kw) = shape[-2:], kernel
    hp, wp = h + 2 * padding[0], w + 2 * padding[1]
    if kh > hp or kw > wp:
        raise ValueError(f"{op}: kernel {shape_str(kernel)} is larger than the padded input {shape_str((hp, wp))} "
                         f"(input {shape_str(shape)}, padding {padding}); use a smaller kernel or more padding")
    return (hp - kh) // stride[0] + 1, (wp - kw) // stride[1] + 1


def _check_conv(op: str, x: Any, weight: Any, bias: Any, in_axis: int, out_axis: int) -> None:
    """4-D input and weight, input channels that match the weight's, and a bias of one value per output."""
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {shape_str(x.shape)}; "
                         "add a batch axis with x.reshape(1, *x.shape) for a single image")
    if weight.ndim != 4:
        layout = "(out, in, kh, kw)" if op == "conv2d" else "(in, out, kh, kw)"
        raise ValueError(f"{op}: weight must be 4-D {layout}, got shape {shape_str(weight.shape)}")
    if x.shape[1] != weight.shape[in_axis]:
        raise ValueError(f"{op}: input {shape_str(x.shape)} has {x.shape[1]} channels but weight "
                         f"{shape_str(weight.shape)} expects {weight.shape[in_axis]}")
    if bias is not None and tuple(bias.shape) != (weight.shape[out_axis],):
        raise ValueError(f"{op}: bias must have shape {shape_str((weight.shape[out_axis],))} (one per output "
                         f"channel of weight {shape_str(weight.shape)}), got {shape_str(bias.shape)}")


# ----------------------------------------------------------------------------------------- im2col / col2im
def im2col(x: Any, kernel_size: IntPair, stride: IntPair = 1, padding: IntPair = 0,
           pad_value: float = 0.0) -> Any:
    """Unfold the (kh, kw) windows of x (N, C, H, W) into columns: (C*kh*kw, N*Ho*Wo).

    Row ``(c, i, j)`` holds pixel (i, j) of each window of channel c; column ``(n, ho, wo)`` is one window.
    Built as a strided view of the padded input (no copy) and then one copy into a contiguous matrix.
    """
    xp = get_array_module(x)
    kernel, stride, padding = (_pair("im2col", "kernel_size", kernel_size, 1), _pair("im2col", "stride", stride, 1),
                               _pair("im2col", "padding", padding, 0))
    n, c = x.shape[:2]
    ho, wo = out_size("im2col", x.shape, kernel, stride, padding)
    if xp is not np:   # on a GPU: one thread per element (cuda_kernels.py)
        return cuda_kernels.im2col(x, kernel, stride, padding, (ho, wo), pad_value)
    if padding != (0, 0):
        ph, pw = padding
        x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    sn, sc, sh, sw = x.strides
    windows = xp.lib.stride_tricks.as_strided(
        x, shape=(c, *kernel, n, ho, wo), strides=(sc, sh, sw, sn, sh * stride[0], sw * stride[1]))
    return xp.ascontiguousarray(windows).reshape(c * kernel[0] * kernel[1], n * ho * wo)


def col2im(cols: Any, x_shape: Tuple[int, ...], kernel_size: IntPair, stride: IntPair = 1,
           padding: IntPair = 0) -> Any:
    """The adjoint of ``im2col``: add each column (C*kh*kw, N*Ho*Wo) back onto its window of an (N, C, H, W) image.

    A loop over the kh*kw kernel offsets; each adds one strided slice (no np.add.at, so it runs as is on CuPy).
    """
    xp = get_array_module(cols)
    kernel, stride, padding = (_pair("col2im", "kernel_size", kernel_size, 1), _pair("col2im", "stride", stride, 1),
                               _pair("col2im", "padding", padding, 0))
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = out_size("col2im", x_shape, kernel, stride, padding)
    if cols.shape != (c * kh * kw, n * ho * wo):
        raise ValueError(f"col2im: columns {shape_str(cols.shape)} do not fit image {shape_str(x_shape)} with "
                         f"kernel {kernel}, stride {stride}, padding {padding}: expected "
                         f"{shape_str((c * kh * kw, n * ho * wo))}")
    if xp is not np:   # on a GPU: each pixel gathers its columns, no atomics (cuda_kernels.py)
        return cuda_kernels.col2im(cols, x_shape, kernel, stride, padding, (ho, wo))
    cols = cols.reshape(c, kh, kw, n, ho, wo)
    image = xp.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)  # channel-major, like the rows of cols
    for i in range(kh):
        for j in range(kw):
            image[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += cols[:, i, j]
    return image[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3)


def _to_rows(x: Any) -> Any:
    """(N, C, H, W) -> (C, N*H*W), the layout GEMMs with the column matrix want."""
    n, c, h, w = x.shape
    return get_array_module(x).ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(c, n * h * w)


def _from_rows(rows: Any, n: int, hw: Tuple[int, int], bias: Optional[Any] = None) -> Any:
    """(C, N*H*W) -> a contiguous (N, C, H, W), adding a per-channel bias on the way."""
    xp = get_array_module(rows)
    out = xp.ascontiguousarray(rows.reshape(rows.shape[0], n, *hw).transpose(1, 0, 2, 3))
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out


# ----------------------------------------------------------------------------------------- path selection
CONV_PATHS = ("auto", "im2col", "fft") + ALGORITHMS
_forced_path = "auto"


@contextmanager
def use_conv_path(path: str) -> Iterator[None]:
    """Force conv2d's algorithm inside the block: 'im2col' (the reference, for every stride), or 'fft'
    (conv_fft.py), 'unfold' or 'fold' (conv_shifted.py) for the stride-1 convolutions, including those that
    strided convs of few channels become (conv_strided.py); strided convs of many channels take im2col.
    'auto' (the default) picks a batched GEMM for 1x1 kernels without padding, fft where conv_fft.worthwhile says
    so, else shifted runs. A forward pass and its backward use the same path."""
    global _forced_path
    if path not in CONV_PATHS:
        raise ValueError(f"use_conv_path: unknown path {path!r}; choose one of {', '.join(CONV_PATHS)}")
    previous, _forced_path = _forced_path, path
    try:
        yield
    finally:
        _forced_path = previous


def _fast_path(stride: Tuple[int, int], weight_shape: Tuple[int, ...], x_shape: Tuple[int, ...],
               padding: Tuple[int, int]) -> Optional[str]:
    """The path for a conv: None for the im2col reference, 'pointwise' (1x1, no padding), 'fft', or '' / 'unfold'
    / 'fold' for conv_shifted ('' lets it choose by channel counts)."""
    if stride != (1, 1) or _forced_path == "im2col":
        return None
    if _forced_path == "auto":
        o, c, kh, kw = weight_shape
        grid = (x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1])
        if pointwise((kh, kw), padding):
            return "pointwise"
        return "fft" if conv_fft.worthwhile(c, o, (kh, kw), grid) else ""
    return _forced_path


# -------------------------------------------------------------------------------------------------- conv2d
class Conv2d(Function):
    """y = conv2d(x, W) + b, x (N, C, H, W), W (O, C, kh, kw), b (O,) -> y (N, O, Ho, Wo).

    Gradients: dW = dy @ im2col(x).T, db = dy summed over N, Ho, Wo, dx = col2im(W.T @ dy) (a transposed conv).
    Those are the reference lines; stride-1 convolutions compute the same numbers on a fast path (``_fast_path``).
    """

    name = "conv2d"

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Optional[Any] = None, stride: IntPair = 1,
                padding: IntPair = 0) -> Any:
        _check_conv("conv2d", x, weight, bias, in_axis=1, out_axis=0)
        stride, padding = _pair("conv2d", "stride", stride, 1), _pair("conv2d", "padding", padding, 0)
        kernel = weight.shape[2:]
        ho, wo = out_size("conv2d", x.shape, kernel, stride, padding)
        algorithm = _fast_path(stride, weight.shape, x.shape, padding)
        if algorithm == "pointwise":
            y = conv2d_pointwise(x, weight, bias)
        elif algorithm == "fft":
            y = conv_fft.conv2d_fft(x, weight, bias, padding)
        elif algorithm is not None:
            y = conv2d_shifted(x, weight, bias, padding, algorithm or None)
        else:
            cols = im2col(x, kernel, stride, padding)              # (C*kh*kw, N*Ho*Wo), freed on return
            y = _from_rows(weight.reshape(weight.shape[0], -1) @ cols, x.shape[0], (ho, wo), bias)
        # dW needs x (im2col is recomputed in backward rather than keeping the kh*kw times larger columns)
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, weight if ctx.needs_input_grad[0] else None)
        ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding = x.shape, kernel, stride, padding
        ctx.algorithm = algorithm
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        x, weight = ctx.saved
        dx = dw = db = None
        algorithm = ctx.algorithm
        if algorithm == "pointwise":
            dx, dw = conv2d_pointwise_grads(x, weight, grad)
        elif algorithm == "fft":
            dx, dw = conv_fft.conv2d_fft_grads(x, weight, grad, ctx.x_shape, ctx.kernel, ctx.padding)
        elif algorithm is not None:
            if ctx.needs_input_grad[0] and ctx.padding[0] < ctx.kernel[0] and ctx.padding[1] < ctx.kernel[1]:
                dx = conv2d_shifted_input_grad(grad, weight, ctx.padding, algorithm or None)
            if ctx.needs_input_grad[1]:
                dw = conv2d_shifted_weight_grad(x, grad, ctx.kernel, ctx.padding, algorithm or None)
        if (ctx.needs_input_grad[0] and dx is None) or (ctx.needs_input_grad[1] and dw is None):
            g = _to_rows(grad)                                     # (O, N*Ho*Wo)
            if ctx.needs_input_grad[0] and dx is None:
                dx = _conv2d_input_grad(grad, g, weight, ctx.x_shape, ctx.stride, ctx.padding)
            if ctx.needs_input_grad[1] and dw is None:
                dw = (g @ im2col(x, ctx.kernel, ctx.stride, ctx.padding).T).reshape(g.shape[0], -1, *ctx.kernel)
        if ctx.needs_input_grad[2]:
            db = grad.sum(axis=(0, 2, 3))
        return dx, dw, db


def _conv2d_input_grad(grad: Any, g: Any, weight: Any, x_shape: Tuple[int, ...], stride: Tuple[int, int],
                       padding: Tuple[int, int]) -> Any:
    """dx of conv2d = the transposed conv of dy = col2im(W.T @ dy).

    With stride 1 the transposed conv is also a plain conv of dy with the flipped kernel (channels swapped) and
    padding k-1-p. That route unfolds O*kh*kw rows instead of folding C*kh*kw, so it is cheaper when O < C.
    """
    o, c, kh, kw = weight.shape
    if stride == (1, 1) and o < c and padding[0] < kh and padding[1] < kw:
        flipped = get_array_module(weight).ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
        cols = im2col(grad, (kh, kw), 1, (kh - 1 - padding[0], kw - 1 - padding[1]))   # (O*kh*kw, N*H*W)
        return _from_rows(flipped.reshape(c, -1) @ cols, x_shape[0], x_shape[2:])
    return col2im(weight.reshape(o, -1).T @ g, x_shape, (kh, kw), stride, padding)


def conv2d(x: Any, weight: Any, bias: Optional[Any] = None, stride: IntPair = 1, padding: IntPair = 0) -> Tensor:
    """2-D cross-correlation, PyTorch's ``F.conv2d``: x (N, C, H, W), weight (O, C, kh, kw), bias (O,) or None.

    Output (N, O, Ho, Wo) with Ho = floor((H + 2*padding - kh) / stride) + 1 (likewise Wo).
    ``stride`` and ``padding`` are an int or an (h, w) pair. Strided convolutions of few input channels run as a
    stride-1 conv of the space-to-depth input (conv_strided.py) unless ``use_conv_path('im2col')`` asks for the
    reference.
    """
    stride_pair = _pair("conv2d", "stride", stride, 1)
    if _forced_path != "im2col" and getattr(x, "ndim", 0) == 4 and getattr(weight, "ndim", 0) == 4 \
            and conv_strided.worthwhile(x.shape[1], stride_pair):
        _check_conv("conv2d", array_of(x), array_of(weight), array_of(bias), in_axis=1, out_axis=0)
        padding_pair = _pair("conv2d", "padding", padding, 0)
        out_size("conv2d", array_of(x).shape, array_of(weight).shape[2:], stride_pair, padding_pair)
        return conv_strided.conv2d_space_to_depth(x, weight, bias, stride_pair, padding_pair,
                                     lambda xs, ws, b: Conv2d.apply(xs, ws, b, stride=1, padding=0))
    return Conv2d.apply(x, weight, bias, stride=stride, padding=padding)


# ---------------------------------------------------------------------------------------- conv_transpose2d
class ConvTranspose2d(Function):
    """y = conv_transpose2d(x, W) + b, x (N, Cin, H, W), W (Cin, Cout, kh, kw) -> y (N, Cout, Ho, Wo).

    The adjoint of conv2d: y = col2im(W.T @ x). Gradients: dx = W @ im2col(dy) (a conv2d of dy),
    dW = x @ im2col(dy).T, db = dy summed over N, Ho, Wo.
    """

    name = "conv_transpose2d"

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Optional[Any] = None, stride: IntPair = 1,
                padding: IntPair = 0, output_padding: IntPair = 0) -> Any:
        op = "conv_transpose2d"
        _check_conv(op, x, weight, bias, in_axis=0, out_axis=1)
        stride, padding = _pair(op, "stride", stride, 1), _pair(op, "padding", padding, 0)
        output_padding = _pair(op, "output_padding", output_padding, 0)
        if output_padding[0] >= stride[0] or output_padding[1] >= stride[1]:
            raise ValueError(f"{op}: output_padding {output_padding} must be smaller than stride {stride} "
                             f"(input {shape_str(x.shape)}, weight {shape_str(weight.shape)})")
        n, _, h, w = x.shape
        cout, kernel = weight.shape[1], weight.shape[2:]
        ho, wo = ((h - 1) * stride[0] - 2 * padding[0] + kernel[0] + output_padding[0],
                  (w - 1) * stride[1] - 2 * padding[1] + kernel[1] + output_padding[1])
        if ho <= 0 or wo <= 0:
            raise ValueError(f"{op}: input {shape_str(x.shape)} with weight {shape_str(weight.shape)}, stride "
                             f"{stride}, padding {padding} gives a non-positive output size {(ho, wo)}; "
                             "reduce the padding")
        y_shape = (n, cout, ho, wo)
        cols = weight.reshape(weight.shape[0], -1).T @ _to_rows(x)  # (Cout*kh*kw, N*H*W)
        y = get_array_module(x).ascontiguousarray(col2im(cols, y_shape, kernel, stride, padding))
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, weight if ctx.needs_input_grad[0] else None)
        ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding = x.shape, kernel, stride, padding
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        x, weight = ctx.saved
        dx = dw = db = None
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            cols = im2col(grad, ctx.kernel, ctx.stride, ctx.padding)   # (Cout*kh*kw, N*H*W)
        if ctx.needs_input_grad[0]:
            n, _, h, w = ctx.x_shape
            dx = _from_rows(weight.reshape(weight.shape[0], -1) @ cols, n, (h, w))
        if ctx.needs_input_grad[1]:
            dw = (_to_rows(x) @ cols.T).reshape(x.shape[1], -1, *ctx.kernel)
        if ctx.needs_input_grad[2]:
            db = grad.sum(axis=(0, 2, 3))
        return dx, dw, db


def conv_transpose2d(x: Any, weight: Any, bias: Optional[Any] = None, stride: IntPair = 1, padding: IntPair = 0,
                     output_padding: IntPair = 0) -> Tensor:
    """Transposed convolution, PyTorch's ``F.conv_transpose2d``: x (N, Cin, H, W), weight (Cin, Cout, kh, kw).

    Output (N, Cout, Ho, Wo) with Ho = (H - 1)*stride - 2*padding + kh + output_padding (output_padding < stride).
    """
    return ConvTranspose2d.apply(x, weight, bias, stride=stride, padding=padding, output_padding=output_padding)
