"""``Linear``: y = x @ W^T + b, with W of shape (out_features, in_features) as in PyTorch."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..autograd import Tensor
from ..backend import Generator
from ..functional.linalg import linear
from . import init
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """(N, *, in_features) -> (N, *, out_features).

    Init (PyTorch's default): W ~ U(-1/sqrt(in), 1/sqrt(in)) via kaiming_uniform_(a=sqrt(5)), b ~ the same bound.
    Parameters: in*out + out (Linear(784, 256) has 200,960).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 generator: Optional[Generator] = None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=np.float32))
        if bias:
            self.bias = Parameter(np.empty((out_features,), dtype=np.float32))
        else:
            self.register_parameter("bias", None)
        init.default_uniform_(self.weight, self.bias, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
