"""Fusion on a GPU: a convolution's bias add and the ReLU / LeakyReLU after it as one pass over the activations.

``BiasActivation`` is the fused operator, y = act(x + b[c]): one CuPy kernel each way (cuda_kernels.py), the same
arithmetic in array operations on NumPy (its op-table row checks it there). When it is chosen: ``nn/fusion.py``
rewrites each Conv2d + ReLU / LeakyReLU pair of a Sequential to use it, which ``Module.to(device)`` does for every
device but the CPU.

``Activation`` (ReLU / LeakyReLU alone) and ``DropoutCuda`` are the same idea for a single operator: one kernel
each way instead of two to four array operations; dispatch.py picks them on CuPy arrays.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ...autograd import Context, Function, Tensor
from ...backend import Generator, default_generator, device_of, get_array_module
from . import cuda_elementwise, cuda_kernels


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


class Activation(Function):
    """y = act(x), act(v) = v if v > 0 else a v for 0 <= a (ReLU: a = 0), in one CUDA kernel each way
    (cuda_elementwise.LEAKY; backward ACTIVATION_BACKWARD, dx = g if y > 0 else a g). CuPy arrays only."""

    name = "leaky_relu"

    @staticmethod
    def forward(ctx: Context, x: Any, negative_slope: float = 0.0) -> Any:
        ctx.slope = negative_slope
        y = cuda_elementwise.leaky(x, negative_slope)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (y,) = ctx.saved
        return (cuda_kernels.activation_backward(grad, y, ctx.slope),)


class DropoutCuda(Function):
    """functional/dropout.py's Dropout with the same seeded draws r (made on the host, as there, so CPU and GPU
    runs match): y = x / (1 - p) where r >= p, else 0; dx likewise from g. One kernel each way (+ the draws' copy)."""

    name = "dropout"

    @staticmethod
    def forward(ctx: Context, x: Any, p: float = 0.5, generator: Optional[Generator] = None) -> Any:
        r = (generator or default_generator()).random(x.shape, dtype=x.dtype, device=device_of(x))
        ctx.p = p
        ctx.save_for_backward(r)
        return cuda_elementwise.dropout(x, r, p)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (r,) = ctx.saved
        return (cuda_elementwise.dropout(grad, r, ctx.p),)
