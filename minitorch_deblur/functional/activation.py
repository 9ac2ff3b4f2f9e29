"""Activations: relu leaky_relu sigmoid tanh softmax log_softmax, and bias_activation (bias add + relu / leaky relu
fused, the GPU's fast path after a convolution)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Context, Function, Tensor
from ..backend import get_array_module


class ReLU(Function):
    """y = max(x, 0);  dx = g where x > 0."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        y = get_array_module(x).maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (y,) = ctx.saved
        return (grad * (y > 0),)


class LeakyReLU(Function):
    """y = x if x > 0 else a x;  dx = g if x > 0 else a g."""

    @staticmethod
    def forward(ctx: Context, x: Any, negative_slope: float = 0.01) -> Any:
        xp = get_array_module(x)
        positive = x > 0
        ctx.save_for_backward(positive)
        ctx.slope = negative_slope
        y = x * x.dtype.type(negative_slope)
        if 0 <= negative_slope <= 1:   # then max(x, a x) is the leaky relu: one pass fewer than where()
            return xp.maximum(x, y, out=y)
        return xp.where(positive, x, y)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (positive,) = ctx.saved
        return (get_array_module(grad).where(positive, grad, grad * grad.dtype.type(ctx.slope)),)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));  dx = g y (1 - y)."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        xp = get_array_module(x)
        y = 0.5 * (xp.tanh(0.5 * x) + 1)  # the same function, without overflow for large |x|
        ctx.save_for_backward(y)
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (y,) = ctx.saved
        return (grad * y * (1 - y),)


class Tanh(Function):
    """y = tanh(x);  dx = g (1 - y^2)."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        y = get_array_module(x).tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (y,) = ctx.saved
        return (grad * (1 - y * y),)


class Softmax(Function):
    """y = exp(x - max) / sum exp(x - max) along dim;  dx = y (g - sum(g y))."""

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int = -1) -> Any:
        y = get_array_module(x).exp(log_softmax_array(x, dim))
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (y,) = ctx.saved
        return (y * (grad - (grad * y).sum(axis=ctx.dim, keepdims=True)),)


class LogSoftmax(Function):
    """y = x - logsumexp(x) along dim;  dx = g - softmax(x) sum(g)."""

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int = -1) -> Any:
        y = log_softmax_array(x, dim)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (y,) = ctx.saved
        xp = get_array_module(grad)
        return (grad - xp.exp(y) * grad.sum(axis=ctx.dim, keepdims=True),)


def log_softmax_array(x: Any, dim: int = -1) -> Any:
    """Numerically stable log-softmax on a raw array (shared with cross_entropy)."""
    xp = get_array_module(x)
    shifted = x - x.max(axis=dim, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))


class BiasActivation(Function):
    """y = act(x + b[c]) with act(v) = v if v > 0 else a v (a = 0: ReLU; 0.2: the GAN's LeakyReLU), for (N, C, H, W) x
    and (C,) b, in one pass: the fused form of a convolution's bias add and the activation after it.
    dv = g if y > 0 else a g;  dx = dv;  db = sum of dv over (N, H, W).
    On CuPy one kernel does each direction (cuda_kernels.py); on NumPy the same arithmetic in array operations."""

    @staticmethod
    def forward(ctx: Context, x: Any, bias: Any, negative_slope: float = 0.0) -> Any:
        ctx.slope = negative_slope
        xp = get_array_module(x)
        if xp is not np:   # CuPy
            from . import cuda_kernels

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
        if xp is not np:   # CuPy
            from . import cuda_kernels

            dv = cuda_kernels.activation_backward(grad, y, ctx.slope)
        else:
            dv = xp.where(y > 0, grad, grad * grad.dtype.type(ctx.slope))
        db = dv.sum(axis=(0, *range(2, dv.ndim))) if ctx.needs_input_grad[1] else None
        return dv, db


def bias_activation(x: Any, bias: Any, negative_slope: float = 0.0) -> Tensor:
    """act(x + bias) fused (see ``BiasActivation``): ReLU for slope 0, LeakyReLU otherwise."""
    return BiasActivation.apply(x, bias, negative_slope=negative_slope)


def relu(x: Any) -> Tensor:
    return ReLU.apply(x)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    return LeakyReLU.apply(x, negative_slope=negative_slope)


def sigmoid(x: Any) -> Tensor:
    return Sigmoid.apply(x)


def tanh(x: Any) -> Tensor:
    return Tanh.apply(x)


def softmax(x: Any, dim: int = -1) -> Tensor:
    return Softmax.apply(x, dim=dim)


def log_softmax(x: Any, dim: int = -1) -> Tensor:
    return LogSoftmax.apply(x, dim=dim)
