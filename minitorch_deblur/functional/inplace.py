"""In-place updates: ``x += y``, ``x.add_(y)``, ``p.zero_()``... change the tensor's own array, as in PyTorch.

The hand-written SGD step of every tutorial relies on them::

    with mt.no_grad():
        for p in model.parameters():
            p -= lr * p.grad          # p.grad is a raw array (NumPy, or CuPy on a GPU)

The rules, simpler than PyTorch's (which can record an in-place op in the graph):

- under ``no_grad`` any tensor may be updated in place;
- with gradients on, a tensor that requires grad may not: a leaf gets PyTorch's error, a computed tensor ours
  (write ``y = x + 1``, a new tensor, instead);
- every in-place update bumps the tensor's ``_version``. If an operation saved that tensor's array for its
  backward pass, backward() raises instead of using the changed values (PyTorch's version-counter check, made in
  ``autograd.run_backward``).
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from ..autograd import Tensor, array_of, is_grad_enabled
from ..backend import get_array_module


def _update(t: Tensor, op: str, change: Callable[[Any], None]) -> Tensor:
    if is_grad_enabled() and t.requires_grad:
        if t.is_leaf:
            raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an in-place operation "
                               "(PyTorch's rule); wrap the update in `with mt.no_grad():`, as an optimiser step does")
        raise RuntimeError(f"{op}: in-place operations on a tensor that is part of the autograd graph are not "
                           "supported in this framework; write the result to a new tensor (y = x + 1) instead")
    change(t.data)
    t._version += 1
    return t


def _arithmetic(t: Tensor, op: str, ufunc: str, other: Any, alpha: float = 1.0) -> Tensor:
    """t = ufunc(t, alpha * other) written into t's own array (same-kind casting, as ``a += b``)."""
    def change(a: Any) -> None:
        value = array_of(other)
        value = value if hasattr(value, "shape") else a.dtype.type(value)
        getattr(get_array_module(a), ufunc)(a, value if alpha == 1 else value * alpha, out=a)
    return _update(t, op, change)


def add_(t: Tensor, other: Any, alpha: float = 1.0) -> Tensor:
    """t += alpha * other, in place."""
    return _arithmetic(t, "add_", "add", other, alpha)


def sub_(t: Tensor, other: Any, alpha: float = 1.0) -> Tensor:
    """t -= alpha * other, in place."""
    return _arithmetic(t, "sub_", "subtract", other, alpha)


def mul_(t: Tensor, other: Any) -> Tensor:
    """t *= other, in place."""
    return _arithmetic(t, "mul_", "multiply", other)


def div_(t: Tensor, other: Any) -> Tensor:
    """t /= other, in place."""
    return _arithmetic(t, "div_", "true_divide", other)


def copy_(t: Tensor, src: Any) -> Tensor:
    """t[...] = src (broadcast to t's shape, cast to t's dtype), in place."""
    return _update(t, "copy_", lambda a: get_array_module(a).copyto(a, array_of(src), casting="unsafe"))


def fill_(t: Tensor, value: float) -> Tensor:
    """Every element set to value, in place."""
    return _update(t, "fill_", lambda a: a.fill(value))


def zero_(t: Tensor) -> Tensor:
    """Every element set to 0, in place."""
    return _update(t, "zero_", lambda a: a.fill(0))


def clamp_(t: Tensor, min: Optional[float] = None, max: Optional[float] = None) -> Tensor:  # noqa: A002
    """Clip to [min, max] in place; either bound may be None."""
    if min is None and max is None:
        raise ValueError("clamp_: give min, max or both")
    return _update(t, "clamp_", lambda a: get_array_module(a).clip(a, min, max, out=a))
