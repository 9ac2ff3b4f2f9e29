"""Elementwise arithmetic: add sub mul div neg pow exp log sqrt abs clamp maximum minimum cast.

Inputs broadcast as in NumPy. Each backward returns the gradient at the broadcast shape; the engine
(``autograd.unbroadcast``) sums it back to each input's own shape.
"""
from __future__ import annotations

from typing import Any, Optional

from ..autograd import Context, Function, Tensor, array_of
from ..backend import get_array_module


class Add(Function):
    """y = a + b;  da = g, db = g."""

    broadcasts = True

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        return a + b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        return grad, grad


class Sub(Function):
    """y = a - b;  da = g, db = -g."""

    broadcasts = True

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        return a - b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        return grad, -grad if ctx.needs_input_grad[1] else None


class Mul(Function):
    """y = a * b;  da = g * b, db = g * a."""

    broadcasts = True

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)
        return a * b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        a, b = ctx.saved
        return (grad * b if b is not None else None), (grad * a if a is not None else None)


class Div(Function):
    """y = a / b;  da = g / b, db = -g * a / b**2."""

    broadcasts = True

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        a, b = ctx.saved
        ga = grad / b
        gb = -ga * a / b if ctx.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    """y = -x;  dx = -g."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        return -x

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        return (-grad,)


class Pow(Function):
    """y = x ** p for a constant exponent p;  dx = g * p * x ** (p - 1)."""

    @staticmethod
    def forward(ctx: Context, x: Any, exponent: float = 2.0) -> Any:
        ctx.save_for_backward(x)
        ctx.exponent = exponent
        return x ** exponent

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (x,) = ctx.saved
        p = ctx.exponent
        return (grad * (p * x ** (p - 1)),)


class Exp(Function):
    """y = exp(x);  dx = g * y."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        y = get_array_module(x).exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (y,) = ctx.saved
        return (grad * y,)


class Log(Function):
    """y = log(x);  dx = g / x."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return get_array_module(x).log(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (x,) = ctx.saved
        return (grad / x,)


class Sqrt(Function):
    """y = sqrt(x);  dx = g / (2 y)."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        y = get_array_module(x).sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (y,) = ctx.saved
        return (grad / (2 * y),)


class Abs(Function):
    """y = |x|;  dx = g * sign(x) (0 at x = 0)."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return get_array_module(x).abs(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (x,) = ctx.saved
        return (grad * get_array_module(x).sign(x),)


class Clamp(Function):
    """y = min(max(x, lo), hi);  dx = g where lo <= x <= hi (at a bound too, as PyTorch), else 0."""

    @staticmethod
    def forward(ctx: Context, x: Any, lo: Optional[float] = None, hi: Optional[float] = None) -> Any:
        xp = get_array_module(x)
        inside = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        ctx.save_for_backward(inside)
        return xp.clip(x, lo, hi)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (inside,) = ctx.saved
        return (grad * inside,)


class Maximum(Function):
    """y = max(a, b) elementwise;  the gradient goes to the larger input (half each on a tie)."""

    broadcasts = True

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        xp = get_array_module(a, b)
        ctx.save_for_backward(a, b)
        return xp.maximum(a, b)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        a, b = ctx.saved
        share = (a > b) + 0.5 * (a == b)
        return grad * share, grad * (1 - share)


class Where(Function):
    """y = x where condition else other;  dx = g where condition, d_other = g elsewhere (each unbroadcast)."""

    broadcasts = True

    @staticmethod
    def forward(ctx: Context, x: Any, other: Any, condition: Any = None) -> Any:
        ctx.save_for_backward(condition)
        return get_array_module(x).where(condition, x, other)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (condition,) = ctx.saved
        zero = grad.dtype.type(0)
        xp = get_array_module(grad)
        return xp.where(condition, grad, zero), xp.where(condition, zero, grad)


class Cast(Function):
    """y = x as another dtype;  dx = g cast back."""

    @staticmethod
    def forward(ctx: Context, x: Any, dtype: Any = None) -> Any:
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        return (grad.astype(ctx.dtype),)


def add(a: Any, b: Any) -> Tensor:
    return Add.apply(a, b)


def sub(a: Any, b: Any) -> Tensor:
    return Sub.apply(a, b)


def mul(a: Any, b: Any) -> Tensor:
    return Mul.apply(a, b)


def div(a: Any, b: Any) -> Tensor:
    return Div.apply(a, b)


def neg(x: Any) -> Tensor:
    return Neg.apply(x)


def pow(x: Any, exponent: float) -> Tensor:  # noqa: A001 (PyTorch's name)
    """x ** exponent for a constant (Python number) exponent."""
    if isinstance(exponent, Tensor):
        raise TypeError("pow: the exponent must be a Python number; for a tensor exponent use exp(b * log(a))")
    return Pow.apply(x, exponent=exponent)


def exp(x: Any) -> Tensor:
    return Exp.apply(x)


def log(x: Any) -> Tensor:
    return Log.apply(x)


def sqrt(x: Any) -> Tensor:
    return Sqrt.apply(x)


def abs(x: Any) -> Tensor:  # noqa: A001 (PyTorch's name)
    return Abs.apply(x)


def clamp(x: Any, min: Optional[float] = None, max: Optional[float] = None) -> Tensor:  # noqa: A002
    """Clip to [min, max]; either bound may be None."""
    return Clamp.apply(x, lo=min, hi=max)


def maximum(a: Any, b: Any) -> Tensor:
    return Maximum.apply(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    return neg(maximum(neg(a), neg(b)))


def cast(x: Any, dtype: Any) -> Tensor:
    return Cast.apply(x, dtype=dtype)


def where(condition: Any, x: Any, other: Any) -> Tensor:
    """PyTorch's ``torch.where(condition, x, other)``: x where condition holds, else other (both broadcast)."""
    return Where.apply(x, other, condition=array_of(condition).astype(bool))
