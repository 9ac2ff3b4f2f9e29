"""Differentiable operators with PyTorch's names, argument order and layouts (NCHW, weights OIHW).

    import minitorch_deblur.functional as F
    y = F.relu(F.conv2d(x, w, b, stride=1, padding=1))
"""
from .elementwise import abs, add, cast, clamp, div, exp, log, maximum, minimum, mul, neg, pow, sqrt, sub  # noqa: A004
from . import tensor_methods  # noqa: F401,E402  (attaches + - * / @ ** indexing sum ... to Tensor)
