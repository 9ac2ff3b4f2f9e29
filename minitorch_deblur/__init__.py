"""minitorch_deblur: a from-scratch deep-learning framework in NumPy (CuPy on a GPU).

    import minitorch_deblur as mt
    x = mt.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x

Importing the package costs NumPy only; CuPy is imported when a GPU is asked for.
"""
from . import functional  # noqa: F401  (attaches the operator methods to Tensor)
from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad, tensor
from .backend import Generator, default_generator, get_array_module, gpu_available, manual_seed, to_device
from .creation import arange, ones, ones_like, rand, randn, zeros, zeros_like

__all__ = [
    "Function", "Generator", "Tensor", "arange", "default_generator", "enable_grad", "functional",
    "get_array_module", "gpu_available", "is_grad_enabled", "manual_seed", "no_grad", "ones", "ones_like", "rand",
    "randn", "tensor", "to_device", "zeros", "zeros_like",
]
__version__ = "0.1.0"
