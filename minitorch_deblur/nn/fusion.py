"""Fusion on a GPU: a Conv2d with a bias and the ReLU / LeakyReLU right after it in a ``Sequential`` run as one
convolution and one fused bias + activation pass (``functional/fast/fusion.py``: one CuPy kernel each way) instead
of a bias add and an activation, each a full pass over the activations.

When it is chosen: ``Module.to(device)`` calls ``fuse`` for every device but the CPU, so on a GPU and only there.
The model's code and ``Sequential`` stay as written: ``fuse`` swaps the pair for a ``Conv2dActivation`` holding the
same Parameter objects and an ``Identity``, so state_dict keys, optimisers and checkpoints are untouched. Only
``Sequential`` children are fused, where the order of the children is the order of the calls. tests/test_fusion.py
checks a fused model against the plain one on NumPy, gradients included.
"""
from __future__ import annotations

from typing import Optional

from ..autograd import Tensor
from ..functional import conv2d
from ..functional.fast.fusion import bias_activation
from .activation import LeakyReLU, ReLU
from .container import Sequential
from .conv import Conv2d
from .module import Module
from .shape import Identity


class Conv2dActivation(Conv2d):
    """``act(conv2d(x, W) + b)`` in two operators, the convolution and ``bias_activation``; act is ReLU for
    ``negative_slope`` 0, else LeakyReLU. Made by ``fuse`` from a Conv2d, whose parameters it shares."""

    negative_slope: float = 0.0

    def forward(self, x: Tensor) -> Tensor:
        x, padding = self.pad_input(x)
        y = conv2d(x, self.weight, None, stride=self.stride, padding=padding)
        return bias_activation(y, self.bias, self.negative_slope)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", fused activation slope={self.negative_slope:g}"


def _slope(module: Module) -> Optional[float]:
    """The negative slope of a ReLU (0) or a LeakyReLU; None for any other layer."""
    if type(module) is ReLU:
        return 0.0
    return float(module.negative_slope) if type(module) is LeakyReLU else None


def fuse(model: Module) -> Module:
    """Fuse every (Conv2d with a bias, ReLU / LeakyReLU) pair of ``model``'s Sequentials, in place; returns the
    model. Calling it again changes nothing."""
    for parent in list(model.modules()):
        if not isinstance(parent, Sequential):
            continue
        names = list(parent._modules)
        for first, second in zip(names, names[1:]):
            conv, act = parent._modules[first], parent._modules[second]
            slope = _slope(act) if act is not None else None
            if type(conv) is not Conv2d or conv.bias is None or slope is None:
                continue
            fused = Conv2dActivation.__new__(Conv2dActivation)
            fused.__dict__.update(vars(conv))        # the same Parameter objects, hooks and flags
            fused.negative_slope = slope
            parent._modules[first], parent._modules[second] = fused, Identity()
    return model
