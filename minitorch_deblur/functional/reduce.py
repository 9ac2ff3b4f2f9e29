"""Reductions: sum mean amax amin var std over all elements or over ``dim`` (int or tuple), with ``keepdim``;
max and min with PyTorch's two forms (a value, or (values, indices) over one dim); argmax and argmin."""
from __future__ import annotations

import builtins

from typing import Any, NamedTuple, Optional, Sequence, Tuple, Union

from ..autograd import Context, Function, Tensor, array_of
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


def amax(x: Any, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Maximum values over all elements or over ``dim`` (int or tuple); the gradient is shared by tied maxima."""
    return Max.apply(x, dim=dim, keepdim=keepdim)


def amin(x: Any, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Minimum values: -amax(-x)."""
    return -Max.apply(-x, dim=dim, keepdim=keepdim)


class MaxMin(NamedTuple):
    """What ``max(x, dim)`` and ``min(x, dim)`` return, as ``torch.return_types.max``: ``values, indices = ...``."""
    values: Tensor
    indices: Tensor


def _one_dim(op: str, dim: Any) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{op}(x, dim): dim must be one int, as in PyTorch, got {dim!r}; "
                        f"for several dims use a{op}(x, dim=(...)), which returns the values only")
    return dim


def max(x: Any, dim: Optional[int] = None, keepdim: bool = False) -> Any:  # noqa: A001
    """PyTorch's two forms: ``max(x)`` is the largest value (a 0-d tensor); ``max(x, dim)`` is the named tuple
    ``(values, indices)`` along that dim (``_, pred = logits.max(1)``). Gradients flow through ``values``."""
    if dim is None:
        return amax(x)
    dim = _one_dim("max", dim)
    return MaxMin(amax(x, dim, keepdim), argmax(x, dim, keepdim))


def min(x: Any, dim: Optional[int] = None, keepdim: bool = False) -> Any:  # noqa: A001
    """``min(x)``: the smallest value; ``min(x, dim)``: the named tuple ``(values, indices)``."""
    if dim is None:
        return amin(x)
    dim = _one_dim("min", dim)
    return MaxMin(amin(x, dim, keepdim), argmin(x, dim, keepdim))


def _arg(op: str, x: Any, dim: Optional[int], keepdim: bool, largest: bool) -> Tensor:
    a = array_of(x)
    if dim is None:   # the index into the flattened tensor, as PyTorch
        return Tensor(a.argmax() if largest else a.argmin())
    axis = _axes(op, a.shape, _one_dim(op, dim))[0]
    index = a.argmax(axis=axis) if largest else a.argmin(axis=axis)
    return Tensor(get_array_module(a).expand_dims(index, axis) if keepdim else index)


def argmax(x: Any, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    """Index of the largest value (the first one on ties), over the flattened tensor or along ``dim``; int64."""
    return _arg("argmax", x, dim, keepdim, largest=True)


def argmin(x: Any, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest value (the first one on ties), over the flattened tensor or along ``dim``; int64."""
    return _arg("argmin", x, dim, keepdim, largest=False)


def var(x: Any, dim: Dim = None, unbiased: Optional[bool] = None, keepdim: bool = False, *,
        correction: Optional[int] = None) -> Tensor:
    """Variance sum((x - mean)^2) / (n - correction), PyTorch's default correction=1 (Bessel's, unbiased);
    ``unbiased=False`` or ``correction=0`` divide by n. Composed, so its gradient is free."""
    if unbiased is not None and correction is not None:
        raise ValueError("var: give either unbiased= or correction=, not both (unbiased=True is correction=1)")
    if correction is None:
        correction = 0 if unbiased is False else 1
    m = mean(x, dim=dim, keepdim=True)
    sq = sum((x - m) ** 2, dim=dim, keepdim=keepdim)
    n = array_of(x).size // array_of(m).size
    return sq / builtins.max(n - correction, 0)


def std(x: Any, dim: Dim = None, unbiased: Optional[bool] = None, keepdim: bool = False, *,
        correction: Optional[int] = None) -> Tensor:
    """Standard deviation sqrt(var(...)), with var's correction (default 1, as PyTorch)."""
    return var(x, dim, unbiased, keepdim, correction=correction) ** 0.5
