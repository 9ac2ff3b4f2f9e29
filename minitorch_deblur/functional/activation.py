"""Activations: relu leaky_relu sigmoid tanh softmax log_softmax (the GPU's bias + activation fusion is in
fast/fusion.py)."""
from __future__ import annotations

from typing import Any

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

    float_inputs = (0,)

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

    name = "log_softmax"
    float_inputs = (0,)

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
