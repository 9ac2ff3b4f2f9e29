"""Max pooling on a GPU: ``MaxPool2dCuda``, pool.py's ``MaxPool2d`` as two CuPy kernels (cuda_kernels.py).

When it is chosen: ``F.max_pool2d`` (dispatch.py) on CuPy arrays; NumPy takes the textbook ``MaxPool2d``.
"""
from __future__ import annotations

from typing import Any, Optional

from ...autograd import Context, Function
from ..conv import IntPair
from ..pool import _pool_args
from . import cuda_kernels


class MaxPool2dCuda(Function):
    """(N, C, H, W) -> (N, C, Ho, Wo): y = max over each window (padding is -inf); dx = dy at the window's first
    argmax. Forward: one thread per window (its max and the offset of its first maximum, int32); backward: one
    thread per pixel, gathering dy of the windows it won."""

    name = "max_pool2d"

    @staticmethod
    def forward(ctx: Context, x: Any, kernel_size: IntPair = 2, stride: Optional[IntPair] = None,
                padding: IntPair = 0) -> Any:
        kernel, stride, padding, out = _pool_args("max_pool2d", x, kernel_size, stride, padding)
        ctx.kernel, ctx.stride, ctx.padding, ctx.x_shape = kernel, stride, padding, x.shape
        y, winner = cuda_kernels.max_pool2d_forward(x, kernel, stride, padding, out)
        ctx.save_for_backward(winner)
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (winner,) = ctx.saved
        return (cuda_kernels.max_pool2d_backward(grad, winner, ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding),)
