"""Reductions: sum mean max min var over all elements or over ``dim`` (int or tuple), with ``keepdim``."""
from __future__ import annotations

import builtins

from typing import Any, Optional, Sequence, Tuple, Union

from ..autograd import Context, Function, Tensor
from ..backend import get_array_module, shape_str

Dim = Optional[Union[int, Sequence[int]]]


def _axes(op: str, shape: Tuple[int, ...], dim: Dim) -> Tuple[int, ...]:
    """Normalise ``dim`` to a sorted tuple of non-negative axes, with an error naming the op and the shape."""
    if dim is None:
        return tuple(range(len(shape)))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    for d in dims:
        if not -len(shape) <= d < builtins.max(len(shape), 1):
            raise IndexError(f"{op}: dim {d} is out of range for a tensor of shape {shape_str(shape)}")
        out.append(d % builtins.max(len(shape), 1))
    return tuple(sorted(set(out)))


def _expand(grad: Any, shape: Tuple[int, ...], axes: Tuple[int, ...], keepdim: bool) -> Any:
    """Give a reduced gradient its size-1 axes back so it broadcasts against the input."""
    if not keepdim:
        kept = list(grad.shape)
        for a in axes:
            kept.insert(a, 1)
        grad = grad.reshape(kept)
    return grad


class Sum(Function):
    """y = sum over dims;  dx = g broadcast back over the summed dims."""

    @staticmethod
    def forward(ctx: Context, x: Any, dim: Dim = None, keepdim: bool = False) -> Any:
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, _axes("sum", x.shape, dim), keepdim
        return x.sum(axis=ctx.axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        return (_broadcast(_expand(grad, ctx.shape, ctx.axes, ctx.keepdim), ctx.shape),)


def _broadcast(g: Any, shape: Tuple[int, ...]) -> Any:
    return get_array_module(g).broadcast_to(g, shape)


class Mean(Function):
    """y = mean over dims;  dx = g / n broadcast back (n = number of elements averaged)."""

    @staticmethod
    def forward(ctx: Context, x: Any, dim: Dim = None, keepdim: bool = False) -> Any:
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, _axes("mean", x.shape, dim), keepdim
        ctx.n = 1
        for a in ctx.axes:
            ctx.n *= x.shape[a]
        return x.mean(axis=ctx.axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        g = _expand(grad, ctx.shape, ctx.axes, ctx.keepdim) / grad.dtype.type(ctx.n)
        return (_broadcast(g, ctx.shape),)


class Max(Function):
    """y = max over dims;  dx = g at the maximum (split equally between tied maxima), 0 elsewhere."""

    @staticmethod
    def forward(ctx: Context, x: Any, dim: Dim = None, keepdim: bool = False) -> Any:
        axes = _axes("max", x.shape, dim)
        if x.size == 0:
            raise ValueError(f"max: cannot reduce an empty tensor of shape {shape_str(x.shape)}")
        y = x.max(axis=axes, keepdims=True)
        mask = x == y
        ctx.save_for_backward(mask / mask.sum(axis=axes, keepdims=True))
        ctx.axes, ctx.keepdim, ctx.shape = axes, keepdim, x.shape
        return y if keepdim else y.reshape([s for i, s in enumerate(x.shape) if i not in axes])

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (share,) = ctx.saved
        return ((_expand(grad, ctx.shape, ctx.axes, ctx.keepdim) * share).astype(grad.dtype),)


def sum(x: Any, dim: Dim = None, keepdim: bool = False) -> Tensor:  # noqa: A001 (PyTorch's name)
    """Sum over all elements, or over ``dim`` (int or tuple)."""
    return Sum.apply(x, dim=dim, keepdim=keepdim)


def mean(x: Any, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Mean over all elements, or over ``dim`` (int or tuple)."""
    return Mean.apply(x, dim=dim, keepdim=keepdim)


def max(x: Any, dim: Dim = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Maximum over all elements, or over ``dim`` (values only; use ``argmax`` on ``.data`` for indices)."""
    return Max.apply(x, dim=dim, keepdim=keepdim)


def min(x: Any, dim: Dim = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Minimum: -max(-x)."""
    return -Max.apply(-x, dim=dim, keepdim=keepdim)


def var(x: Any, dim: Dim = None, keepdim: bool = False, unbiased: bool = False) -> Tensor:
    """Variance mean((x - mean)^2), divided by n - 1 when ``unbiased``; composed, so its gradient is free."""
    m = mean(x, dim=dim, keepdim=True)
    sq = sum((x - m) ** 2, dim=dim, keepdim=keepdim)
    n = x.numel() // m.numel()
    return sq / (n - 1 if unbiased else n)
