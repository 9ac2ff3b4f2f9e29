"""The im2col algorithm on either device: conv.py's lines with ``im2col`` / ``col2im`` chosen by the data's device.

Chosen by the dispatcher (dispatch.py) for strided convolutions of many channels, for ``use_conv_path('im2col')``
and for every conv_transpose2d; ``im2col`` and ``col2im`` here are ``F.im2col`` and ``F.col2im``. On NumPy they are
conv.py's textbook functions; on CuPy the gathers of cuda_kernels.py (one thread per element, no atomics), which
beat the kh*kw strided copies of the textbook lines on a GPU. The formulas are conv.py's:

    conv2d             y = W @ im2col(x),      dW = dy @ im2col(x).T,   dx = col2im(W.T @ dy)
    conv_transpose2d   y = col2im(W.T @ x),    dW = x @ im2col(dy).T,   dx = W @ im2col(dy)

Tested equal to conv.py on NumPy (tests/test_conv_paths.py); the kernels are tested equal to the NumPy lines
(tests/test_cuda_kernels.py).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ...autograd import Context, Function
from ...backend import get_array_module
from .. import conv
from ..conv import IntPair, _from_rows, _to_rows
from . import cuda_elementwise, cuda_kernels


def im2col(x: Any, kernel_size: IntPair, stride: IntPair = 1, padding: IntPair = 0, pad_value: float = 0.0) -> Any:
    """conv.im2col on NumPy; on CuPy the CUDA gather: (N, C, H, W) -> (C*kh*kw, N*Ho*Wo)."""
    if get_array_module(x) is np:
        return conv.im2col(x, kernel_size, stride, padding, pad_value)
    kernel, stride, padding, out = conv.window_args("im2col", x.shape, kernel_size, stride, padding)
    return cuda_kernels.im2col(x, kernel, stride, padding, out, pad_value)


def col2im(cols: Any, x_shape: Tuple[int, ...], kernel_size: IntPair, stride: IntPair = 1,
           padding: IntPair = 0) -> Any:
    """conv.col2im on NumPy; on CuPy each pixel gathers its columns: (C*kh*kw, N*Ho*Wo) -> (N, C, H, W)."""
    if get_array_module(cols) is np:
        return conv.col2im(cols, x_shape, kernel_size, stride, padding)
    kernel, stride, padding, out = conv.window_args("col2im", x_shape, kernel_size, stride, padding)
    conv.check_columns(cols, x_shape, kernel, out, f"kernel {kernel}, stride {stride}, padding {padding}")
    return cuda_kernels.col2im(cols, x_shape, kernel, stride, padding, out)


def from_rows(rows: Any, n: int, hw: Tuple[int, int], bias: Optional[Any] = None) -> Any:
    """conv._from_rows on NumPy; on CuPy one kernel: (C, N*H*W) -> contiguous (N, C, H, W) (+ bias)."""
    if get_array_module(rows) is np:
        return _from_rows(rows, n, hw, bias)
    return cuda_elementwise.from_rows(rows, n, hw, bias)


def conv2d_im2col(x: Any, weight: Any, bias: Optional[Any], stride: Tuple[int, int],
                  padding: Tuple[int, int], out: Tuple[int, int]) -> Any:
    """y = W @ im2col(x) (+ b): (N, C, H, W) -> (N, O, Ho, Wo)."""
    cols = im2col(x, weight.shape[2:], stride, padding)
    return from_rows(weight.reshape(weight.shape[0], -1) @ cols, x.shape[0], out, bias)


def conv2d_im2col_grads(x: Optional[Any], weight: Optional[Any], grad: Any, x_shape: Tuple[int, ...],
                        kernel: Tuple[int, int], stride: Tuple[int, int],
                        padding: Tuple[int, int]) -> Tuple[Optional[Any], Optional[Any]]:
    """(dx, dW): dx = col2im(W.T @ dy) when weight is given, dW = dy @ im2col(x).T when x is given."""
    g = _to_rows(grad)                                             # (O, N*Ho*Wo)
    dx = dw = None
    if weight is not None:
        dx = col2im(weight.reshape(weight.shape[0], -1).T @ g, x_shape, kernel, stride, padding)
    if x is not None:
        dw = (g @ im2col(x, kernel, stride, padding).T).reshape(g.shape[0], -1, *kernel)
    return dx, dw


class ConvTranspose2dFast(Function):
    """conv.ConvTranspose2d on this file's im2col / col2im (CUDA kernels on a GPU), written as what it is: the
    adjoint of conv2d. Its forward is conv2d's input gradient, y = col2im(W.T @ x) + b; its input gradient is a
    conv2d of dy, dx = W @ im2col(dy); dW = x @ im2col(dy).T is conv2d's weight gradient with x and dy swapped;
    db = dy summed over N, Ho, Wo."""

    name = "conv_transpose2d"
    float_inputs = (0, 1, 2)

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Optional[Any] = None, stride: IntPair = 1,
                padding: IntPair = 0, output_padding: IntPair = 0) -> Any:
        kernel, stride, padding, y_shape = conv.transpose_args(x, weight, bias, stride, padding, output_padding)
        y, _ = conv2d_im2col_grads(None, weight, x, y_shape, kernel, stride, padding)
        y = get_array_module(x).ascontiguousarray(y)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, weight if ctx.needs_input_grad[0] else None)
        ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding = x.shape, kernel, stride, padding
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        x, weight = ctx.saved
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dx = conv2d_im2col(grad, weight, None, ctx.stride, ctx.padding, ctx.x_shape[2:])
        if ctx.needs_input_grad[1]:
            _, dw = conv2d_im2col_grads(grad, None, x, grad.shape, ctx.kernel, ctx.stride, ctx.padding)
        if ctx.needs_input_grad[2]:
            db = grad.sum(axis=(0, 2, 3))
        return dx, dw, db
