"""Attach the operators to ``Tensor`` as methods and Python operators (``x + y``, ``x @ w``, ``x.sum()``).

Kept here, not in autograd.py, so the import direction stays one way: autograd <- functional.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd import Tensor
from . import activation as A
from . import elementwise as E
from . import inplace as I
from . import linalg as L
from . import reduce as R
from . import shape as S


def _r(fn: Any) -> Any:
    """The reflected form: ``2 - x`` calls ``x.__rsub__(2)`` = sub(2, x)."""
    return lambda self, other: fn(other, self)


def _compare(op: str) -> Any:
    """Comparisons give a constant boolean tensor (no gradient)."""
    def method(self: Tensor, other: Any) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(getattr(self.data, op)(other))
    return method


Tensor.__add__, Tensor.__radd__ = E.add, _r(E.add)
Tensor.__sub__, Tensor.__rsub__ = E.sub, _r(E.sub)
Tensor.__mul__, Tensor.__rmul__ = E.mul, _r(E.mul)
Tensor.__truediv__, Tensor.__rtruediv__ = E.div, _r(E.div)
Tensor.__matmul__, Tensor.__rmatmul__ = L.matmul, _r(L.matmul)
Tensor.__neg__ = E.neg
Tensor.__pow__ = E.pow
Tensor.__rpow__ = lambda self, base: E.exp(self * math.log(base))  # base ** x for a positive number base
Tensor.__getitem__ = S.getitem
for _op in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
    setattr(Tensor, _op, _compare(_op))
Tensor.__hash__ = object.__hash__  # __eq__ is elementwise, so keep identity hashing (tensors in sets and dicts)

Tensor.exp, Tensor.log, Tensor.sqrt, Tensor.abs, Tensor.clamp = E.exp, E.log, E.sqrt, E.abs, E.clamp
Tensor.sum, Tensor.mean, Tensor.max, Tensor.min, Tensor.var, Tensor.std = R.sum, R.mean, R.max, R.min, R.var, R.std
Tensor.amax, Tensor.amin, Tensor.argmax, Tensor.argmin = R.amax, R.amin, R.argmax, R.argmin
Tensor.reshape = S.reshape
Tensor.view = S.reshape
Tensor.flatten, Tensor.squeeze, Tensor.unsqueeze = S.flatten, S.squeeze, S.unsqueeze
Tensor.permute, Tensor.transpose = S.permute, S.transpose
Tensor.T = property(lambda self: S.permute(self, tuple(reversed(range(self.ndim)))))
Tensor.relu, Tensor.sigmoid, Tensor.tanh = A.relu, A.sigmoid, A.tanh
Tensor.softmax, Tensor.log_softmax = A.softmax, A.log_softmax

# in place (inplace.py says when they are allowed); x -= y must not fall back to x = x - y, which rebinds a name only
Tensor.add_, Tensor.sub_, Tensor.mul_, Tensor.div_ = I.add_, I.sub_, I.mul_, I.div_
Tensor.copy_, Tensor.fill_, Tensor.zero_, Tensor.clamp_ = I.copy_, I.fill_, I.zero_, I.clamp_
Tensor.__iadd__, Tensor.__isub__, Tensor.__imul__, Tensor.__itruediv__ = I.add_, I.sub_, I.mul_, I.div_
Tensor.__float__ = lambda self: float(self.item())   # one-element tensors only, as PyTorch (item() says otherwise)
Tensor.__int__ = lambda self: int(self.item())
Tensor.dim = lambda self: self.ndim
Tensor.astype = E.cast                                # a differentiable dtype cast (float32 <-> float64)
Tensor.float = lambda self: E.cast(self, np.float32)
Tensor.double = lambda self: E.cast(self, np.float64)
Tensor.clone = lambda self: E.mul(self, 1)            # a new array, gradients flow back through it
Tensor.contiguous = lambda self: self                 # every array works as it is here
Tensor.expand, Tensor.repeat, Tensor.gather = S.expand, S.repeat, S.gather
Tensor.masked_fill = lambda self, mask, value: E.where(mask, value, self)
Tensor.eq = Tensor.__eq__
