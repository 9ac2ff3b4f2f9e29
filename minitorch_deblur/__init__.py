"""minitorch_deblur: a from-scratch deep-learning framework in NumPy (CuPy on a GPU).

    import minitorch_deblur as mt
    x = mt.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x

Importing the package costs NumPy only; CuPy is imported when a GPU is asked for.
"""
import numpy as _np

from . import functional  # noqa: F401  (attaches the operator methods to Tensor)
from . import nn, optim
from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad, tensor
from .backend import Generator, default_generator, get_array_module, gpu_available, manual_seed, to_device
from .creation import arange, ones, ones_like, rand, randn, zeros, zeros_like
from .functional import cat, exp, log, relu, sigmoid, stack, tanh, where
from .serialization import load, save

float32, float64 = _np.float32, _np.float64


def from_numpy(array: _np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory and dtype (PyTorch's ``torch.from_numpy``)."""
    if not isinstance(array, _np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}; use tensor(data)")
    return Tensor(array)


__all__ = [
    "Function", "Generator", "Tensor", "arange", "cat", "default_generator", "enable_grad", "exp", "float32",
    "float64", "from_numpy", "functional", "get_array_module", "gpu_available", "is_grad_enabled", "load", "log",
    "manual_seed", "nn", "no_grad", "ones", "ones_like", "optim", "rand", "randn", "relu", "save", "sigmoid",
    "stack", "tanh", "tensor", "to_device", "where", "zeros", "zeros_like",
]


def __getattr__(name: str) -> object:
    from .hints import missing
    raise missing("minitorch_deblur", name, __all__)
__version__ = "0.1.0"
