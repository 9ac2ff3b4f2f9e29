"""Attach the operators to ``Tensor`` as methods and Python operators (``x + y``, ``x @ w``, ``x.sum()``).

Kept here, not in autograd.py, so the import direction stays one way: autograd <- functional.
"""
from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from . import elementwise as E


def _r(fn: Any) -> Any:
    """The reflected form: ``2 - x`` calls ``x.__rsub__(2)`` = sub(2, x)."""
    return lambda self, other: fn(other, self)


Tensor.__add__ = E.add
Tensor.__radd__ = _r(E.add)
Tensor.__sub__ = E.sub
Tensor.__rsub__ = _r(E.sub)
Tensor.__mul__ = E.mul
Tensor.__rmul__ = _r(E.mul)
Tensor.__truediv__ = E.div
Tensor.__rtruediv__ = _r(E.div)
Tensor.__neg__ = E.neg
Tensor.__pow__ = E.pow
Tensor.exp = E.exp
Tensor.log = E.log
Tensor.sqrt = E.sqrt
Tensor.abs = E.abs
Tensor.clamp = E.clamp
