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

These are the textbook lines: what lesson 02 prints and the conv2d exercise grades. They never branch on algorithm
or device, and the same lines run on NumPy and CuPy. ``F.conv2d`` and ``F.conv_transpose2d`` go through
fast/dispatch.py, which picks a faster algorithm per shape (and CUDA kernels on a GPU); each fast path is tested
equal to these functions.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

from ..autograd import Context, Function, Tensor, require_float
from ..backend import get_array_module, shape_str

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


def window_args(op: str, shape: Tuple[int, ...], kernel_size: IntPair, stride: IntPair,
                padding: IntPair) -> Tuple[Tuple[int, int], Tuple[int, int], Tuple[int, int], Tuple[int, int]]:
    """Checked (kernel, stride, padding, (Ho, Wo)) of a window op on an input of ``shape``."""
    kernel, stride, padding = (_pair(op, "kernel_size", kernel_size, 1), _pair(op, "stride", stride, 1),
                               _pair(op, "padding", padding, 0))
    return kernel, stride, padding, out_size(op, shape, kernel, stride, padding)


def check_columns(cols: Any, x_shape: Tuple[int, ...], kernel: Tuple[int, int], out: Tuple[int, int],
                  why: str) -> None:
    """col2im's columns must be (C*kh*kw, N*Ho*Wo) for the image (N, C, H, W); else a ValueError saying so."""
    n, c = x_shape[:2]
    want = (c * kernel[0] * kernel[1], n * out[0] * out[1])
    if tuple(cols.shape) != want:
        raise ValueError(f"col2im: columns {shape_str(cols.shape)} do not fit image {shape_str(x_shape)} with "
                         f"{why}: expected {shape_str(want)}")


def _check_conv(op: str, x: Any, weight: Any, bias: Any, in_axis: int, out_axis: int) -> None:
    """Floating 4-D input and weight, input channels that match the weight's, and a bias of one value per output."""
    require_float(op, x=x, weight=weight, bias=bias)
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
    kernel, stride, padding, (ho, wo) = window_args("im2col", x.shape, kernel_size, stride, padding)
    n, c = x.shape[:2]
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

    A loop over the kh*kw kernel offsets; each adds one strided slice (no np.add.at, so the same lines run on
    NumPy and CuPy).
    """
    xp = get_array_module(cols)
    kernel, stride, padding, (ho, wo) = window_args("col2im", x_shape, kernel_size, stride, padding)
    check_columns(cols, x_shape, kernel, (ho, wo), f"kernel {kernel}, stride {stride}, padding {padding}")
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
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


# -------------------------------------------------------------------------------------------------- conv2d
def conv_args(x: Any, weight: Any, bias: Any, stride: IntPair,
              padding: IntPair) -> Tuple[Tuple[int, int], Tuple[int, int], Tuple[int, int], Tuple[int, int]]:
    """Checked (kernel, stride, padding, (Ho, Wo)) of conv2d(x, weight, bias, stride, padding)."""
    _check_conv("conv2d", x, weight, bias, in_axis=1, out_axis=0)
    return window_args("conv2d", x.shape, weight.shape[2:], stride, padding)


class Conv2d(Function):
    """y = conv2d(x, W) + b, x (N, C, H, W), W (O, C, kh, kw), b (O,) -> y (N, O, Ho, Wo).

    Gradients: dW = dy @ im2col(x).T, db = dy summed over N, Ho, Wo, dx = col2im(W.T @ dy) (a transposed conv).
    """

    name = "conv2d"
    float_inputs = (0, 1, 2)

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Optional[Any] = None, stride: IntPair = 1,
                padding: IntPair = 0) -> Any:
        kernel, stride, padding, (ho, wo) = conv_args(x, weight, bias, stride, padding)
        cols = im2col(x, kernel, stride, padding)                  # (C*kh*kw, N*Ho*Wo), freed on return
        y = _from_rows(weight.reshape(weight.shape[0], -1) @ cols, x.shape[0], (ho, wo), bias)
        # dW needs x (im2col is recomputed in backward rather than keeping the kh*kw times larger columns)
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, weight if ctx.needs_input_grad[0] else None)
        ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding = x.shape, kernel, stride, padding
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        x, weight = ctx.saved
        dx = dw = db = None
        g = _to_rows(grad)                                         # (O, N*Ho*Wo)
        if ctx.needs_input_grad[0]:
            dx = col2im(weight.reshape(weight.shape[0], -1).T @ g, ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding)
        if ctx.needs_input_grad[1]:
            dw = (g @ im2col(x, ctx.kernel, ctx.stride, ctx.padding).T).reshape(g.shape[0], -1, *ctx.kernel)
        if ctx.needs_input_grad[2]:
            db = grad.sum(axis=(0, 2, 3))
        return dx, dw, db


def conv2d(x: Any, weight: Any, bias: Optional[Any] = None, stride: IntPair = 1, padding: IntPair = 0) -> Tensor:
    """2-D cross-correlation, PyTorch's ``F.conv2d``: x (N, C, H, W), weight (O, C, kh, kw), bias (O,) or None.

    Output (N, O, Ho, Wo) with Ho = floor((H + 2*padding - kh) / stride) + 1 (likewise Wo).
    ``stride`` and ``padding`` are an int or an (h, w) pair.
    """
    return Conv2d.apply(x, weight, bias, stride=stride, padding=padding)


# ---------------------------------------------------------------------------------------- conv_transpose2d
def transpose_args(x: Any, weight: Any, bias: Any, stride: IntPair, padding: IntPair, output_padding: IntPair
                   ) -> Tuple[Tuple[int, int], Tuple[int, int], Tuple[int, int], Tuple[int, int, int, int]]:
    """Checked (kernel, stride, padding, output shape (N, Cout, Ho, Wo)) of conv_transpose2d."""
    op = "conv_transpose2d"
    _check_conv(op, x, weight, bias, in_axis=0, out_axis=1)
    stride, padding = _pair(op, "stride", stride, 1), _pair(op, "padding", padding, 0)
    output_padding = _pair(op, "output_padding", output_padding, 0)
    if output_padding[0] >= stride[0] or output_padding[1] >= stride[1]:
        raise ValueError(f"{op}: output_padding {output_padding} must be smaller than stride {stride} "
                         f"(input {shape_str(x.shape)}, weight {shape_str(weight.shape)})")
    n, _, h, w = x.shape
    kernel = weight.shape[2:]
    ho, wo = ((h - 1) * stride[0] - 2 * padding[0] + kernel[0] + output_padding[0],
              (w - 1) * stride[1] - 2 * padding[1] + kernel[1] + output_padding[1])
    if ho <= 0 or wo <= 0:
        raise ValueError(f"{op}: input {shape_str(x.shape)} with weight {shape_str(weight.shape)}, stride "
                         f"{stride}, padding {padding} gives a non-positive output size {(ho, wo)}; "
                         "reduce the padding")
    return kernel, stride, padding, (n, weight.shape[1], ho, wo)


class ConvTranspose2d(Function):
    """y = conv_transpose2d(x, W) + b, x (N, Cin, H, W), W (Cin, Cout, kh, kw) -> y (N, Cout, Ho, Wo).

    The adjoint of conv2d: y = col2im(W.T @ x). Gradients: dx = W @ im2col(dy) (a conv2d of dy),
    dW = x @ im2col(dy).T, db = dy summed over N, Ho, Wo.
    """

    name = "conv_transpose2d"
    float_inputs = (0, 1, 2)

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Optional[Any] = None, stride: IntPair = 1,
                padding: IntPair = 0, output_padding: IntPair = 0) -> Any:
        kernel, stride, padding, y_shape = transpose_args(x, weight, bias, stride, padding, output_padding)
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
