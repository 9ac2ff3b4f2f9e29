"""Fusion on a GPU: a convolution's bias add and the ReLU / LeakyReLU after it as one pass over the activations.

``BiasActivation`` is the fused operator, y = act(x + b[c]): one CuPy kernel each way (cuda_kernels.py), the same
arithmetic in array operations on NumPy (its op-table row checks it there). When it is chosen: ``nn/fusion.py``
rewrites each Conv2d + ReLU / LeakyReLU pair of a Sequential to use it, which ``Module.to(device)`` does for every
device but the CPU.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd import Context, Function, Tensor
from ...backend import get_array_module
from . import cuda_kernels


class BiasActivation(Function):
    """y = act(x + b[c]) with act(v) = v if v > 0 else a v (a = 0: ReLU; 0.2: the GAN's LeakyReLU), for (N, C, H, W)
    x and (C,) b. dv = g if y > 0 else a g;  dx = dv;  db = sum of dv over (N, H, W)."""

    @staticmethod
    def forward(ctx: Context, x: Any, bias: Any, negative_slope: float = 0.0) -> Any:
        ctx.slope = negative_slope
        xp = get_array_module(x)
        if xp is not np:
            y = cuda_kernels.bias_activation(x, bias, negative_slope)
        else:
            v = x + bias.reshape(1, -1, *(1,) * (x.ndim - 2))
            y = xp.where(v > 0, v, v * x.dtype.type(negative_slope))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (y,) = ctx.saved
        xp = get_array_module(grad)
        if xp is not np:
            dv = cuda_kernels.activation_backward(grad, y, ctx.slope)
        else:
            dv = xp.where(y > 0, grad, grad * grad.dtype.type(ctx.slope))
        db = dv.sum(axis=(0, *range(2, dv.ndim))) if ctx.needs_input_grad[1] else None
        return dv, db


def bias_activation(x: Any, bias: Any, negative_slope: float = 0.0) -> Tensor:
    """act(x + bias) fused (see ``BiasActivation``): ReLU for slope 0, LeakyReLU otherwise."""
    return BiasActivation.apply(x, bias, negative_slope=negative_slope)
