"""Activation layers: thin Modules around the functional activations (no parameters)."""
from __future__ import annotations

from ..autograd import Tensor
from ..functional.activation import sigmoid, tanh
from ..functional.fast.dispatch import leaky_relu, relu   # one CUDA kernel each way on a GPU
from .module import Module


class ReLU(Module):
    """max(0, x). ``inplace`` is accepted for PyTorch compatibility; the result is the same without it."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return relu(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x: Tensor) -> Tensor:
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x: Tensor) -> Tensor:
        return tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, x: Tensor) -> Tensor:
        return sigmoid(x)
