"""``Conv2dFast``: conv2d by the algorithm the dispatcher chose, forward and backward on the same one.

The algorithms (dispatch.py says when each is chosen), all tested equal to conv.py's textbook ``Conv2d``:

    im2col     conv_im2col.py     conv.py's lines, CUDA gathers on a GPU (strides > 1 of many channels)
    pointwise  conv_pointwise.py  1x1 kernels without padding: one batched GEMM
    fft        conv_fft.py        stride 1, big kernels between wide layers on small images
    shifted    conv_shifted.py    stride 1: contiguous runs of a row-padded image; each product (y, dx, dW) picks
                                  unfold or fold by its own channel counts
    unfold, fold                  conv_shifted.py with that algorithm for all three products (forced only)

Where the shifted paths cannot give dx (padding >= kernel), dx comes from the im2col lines.
"""
from __future__ import annotations

from typing import Any, Literal, Optional, Tuple

from ...autograd import Context, Function
from ..conv import IntPair, conv_args
from .conv_fft import conv2d_fft, conv2d_fft_grads
from .conv_im2col import conv2d_im2col, conv2d_im2col_grads
from .conv_pointwise import conv2d_pointwise, conv2d_pointwise_grads
from .conv_shifted import conv2d_shifted, conv2d_shifted_input_grad, conv2d_shifted_weight_grad

Algorithm = Literal["im2col", "pointwise", "fft", "shifted", "unfold", "fold"]


def _shifted(algorithm: Algorithm) -> Optional[str]:
    """conv_shifted's argument: None lets it pick unfold / fold per product ('shifted'), else the one forced."""
    return None if algorithm == "shifted" else algorithm


class Conv2dFast(Function):
    """y = conv2d(x, W) + b as conv.Conv2d, computed by ``algorithm``; db = dy summed over N, Ho, Wo."""

    name = "conv2d"
    float_inputs = (0, 1, 2)

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Optional[Any] = None, stride: IntPair = 1,
                padding: IntPair = 0, algorithm: Algorithm = "im2col") -> Any:
        kernel, stride, padding, out = conv_args(x, weight, bias, stride, padding)
        if algorithm == "im2col":
            y = conv2d_im2col(x, weight, bias, stride, padding, out)
        elif algorithm == "pointwise":
            y = conv2d_pointwise(x, weight, bias)
        elif algorithm == "fft":
            y = conv2d_fft(x, weight, bias, padding)
        else:
            y = conv2d_shifted(x, weight, bias, padding, _shifted(algorithm))
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, weight if ctx.needs_input_grad[0] else None)
        ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding, ctx.algorithm = x.shape, kernel, stride, padding, algorithm
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        x, weight = ctx.saved
        algorithm, kernel, padding = ctx.algorithm, ctx.kernel, ctx.padding
        dx = dw = None
        if algorithm == "pointwise":
            dx, dw = conv2d_pointwise_grads(x, weight, grad)
        elif algorithm == "fft":
            dx, dw = conv2d_fft_grads(x, weight, grad, ctx.x_shape, kernel, padding)
        elif algorithm != "im2col":
            if weight is not None and padding[0] < kernel[0] and padding[1] < kernel[1]:
                dx = conv2d_shifted_input_grad(grad, weight, padding, _shifted(algorithm))
            if x is not None:
                dw = conv2d_shifted_weight_grad(x, grad, kernel, padding, _shifted(algorithm))
        if (weight is not None and dx is None) or (x is not None and dw is None):
            dx_ref, dw_ref = conv2d_im2col_grads(x if dw is None else None, weight if dx is None else None, grad,
                                                 ctx.x_shape, kernel, ctx.stride, padding)
            dx, dw = (dx_ref if dx is None else dx), (dw_ref if dw is None else dw)
        db = grad.sum(axis=(0, 2, 3)) if ctx.needs_input_grad[2] else None
        return dx, dw, db
