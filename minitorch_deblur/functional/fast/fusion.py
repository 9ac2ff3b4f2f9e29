"""Fusion on a GPU: a convolution's bias add and the ReLU / LeakyReLU after it as one pass over the activations.

``BiasActivation`` is the fused operator, y = act(x + b[c]): one CuPy kernel each way (cuda_kernels.py), the same
arithmetic in array operations on NumPy (its op-table row checks it there). ``fuse(model)`` puts it to work.

When it is chosen: ``Module.to('cuda')`` calls ``fuse`` (the training command moves every model there), so on a
GPU, and only there, each Conv2d with a bias and zero padding that a ReLU or LeakyReLU directly follows in a
container runs as ``bias_activation(conv2d(x, W), b, slope)`` and the activation as the identity. The model's code
and ``nn.Sequential`` stay as written: ``fuse`` swaps the two container entries for shallow copies (the same
Parameter objects, so state_dict keys, optimisers and checkpoints are untouched) whose ``forward`` is the fused one.
A model moved back to the CPU keeps the fused entries; they compute the same numbers. Layers are recognised by
their class names, so this file needs nothing from nn/ (the imports go one way: functional <- nn).
tests/test_cuda_kernels.py checks a fused model against the plain one on NumPy, gradients included.
"""
from __future__ import annotations

import copy
from types import MethodType
from typing import Any, Optional

import numpy as np

from ...autograd import Context, Function, Tensor
from ...backend import get_array_module
from . import cuda_kernels
from .dispatch import conv2d


class BiasActivation(Function):
    """y = act(x + b[c]) with act(v) = v if v > 0 else a v (a = 0: ReLU; 0.2: the GAN's LeakyReLU), for (N, C, H, W)
    x and (C,) b. dv = g if y > 0 else a g;  dx = dv;  db = sum of dv over (N, H, W)."""

    @staticmethod
    def forward(ctx: Context, x: Any, bias: Any, negative_slope: float = 0.0) -> Any:
        ctx.slope = negative_slope
        xp = get_array_module(x)
        if xp is not np:
            y = cuda_kernels.bias_activation(x, bias, negative_slope)
        else:
            v = x + bias.reshape(1, -1, *(1,) * (x.ndim - 2))
            y = xp.where(v > 0, v, v * x.dtype.type(negative_slope))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (y,) = ctx.saved
        xp = get_array_module(grad)
        if xp is not np:
            dv = cuda_kernels.activation_backward(grad, y, ctx.slope)
        else:
            dv = xp.where(y > 0, grad, grad * grad.dtype.type(ctx.slope))
        db = dv.sum(axis=(0, *range(2, dv.ndim))) if ctx.needs_input_grad[1] else None
        return dv, db


def bias_activation(x: Any, bias: Any, negative_slope: float = 0.0) -> Tensor:
    """act(x + bias) fused (see ``BiasActivation``): ReLU for slope 0, LeakyReLU otherwise."""
    return BiasActivation.apply(x, bias, negative_slope=negative_slope)


def _slope(module: Any) -> Optional[float]:
    """The negative slope of a ReLU (0) or LeakyReLU layer not fused yet; None for anything else."""
    if "forward" in vars(module):
        return None
    if type(module).__name__ == "ReLU":
        return 0.0
    return float(module.negative_slope) if type(module).__name__ == "LeakyReLU" else None


def _fusable(module: Any) -> bool:
    """A Conv2d layer with a bias and zero padding, not fused yet."""
    return (type(module).__name__ == "Conv2d" and module.bias is not None and module.padding_mode == "zeros"
            and "forward" not in vars(module))


def _conv_bias_activation(conv: Any, x: Any) -> Tensor:
    return bias_activation(conv2d(x, conv.weight, None, stride=conv.stride, padding=conv.padding), conv.bias,
                           conv.fused_slope)


def _identity(x: Any) -> Any:
    return x


def fuse(model: Any) -> Any:
    """Fuse every (Conv2d, ReLU / LeakyReLU) pair of ``model``'s containers, in place (see the module docstring);
    returns the model. Calling it again changes nothing."""
    for parent in list(model.modules()):
        names = list(parent._modules)
        for first, second in zip(names, names[1:]):
            conv, act = parent._modules[first], parent._modules[second]
            if conv is None or act is None or not _fusable(conv) or _slope(act) is None:
                continue
            fused, passthrough = copy.copy(conv), copy.copy(act)
            fused.fused_slope = _slope(act)
            fused.forward = MethodType(_conv_bias_activation, fused)
            passthrough.forward = _identity
            parent._modules[first], parent._modules[second] = fused, passthrough
    return model
