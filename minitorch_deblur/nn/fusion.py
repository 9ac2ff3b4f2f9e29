"""Fusion on a GPU: a Conv2d with a bias and the ReLU / LeakyReLU right after it in a ``Sequential`` run as one
convolution and one fused bias + activation pass (``functional/fast/fusion.py``: one CuPy kernel each way) instead
of a bias add and an activation, each a full pass over the activations. Likewise a BatchNorm2d / InstanceNorm2d and
the ReLU / LeakyReLU after it: the activation runs inside the norm's kernels (``BatchNorm2dActivation``,
``InstanceNorm2dActivation``; functional/fast/cuda_norm.py), and a Linear with a bias and its activation
(``LinearActivation``, the bias + activation kernel as for a conv).

When it is chosen: ``Module.to(device)`` calls ``fuse`` for every device but the CPU, so on a GPU and only there.
The model's code and ``Sequential`` stay as written: ``fuse`` swaps the pair for a ``Conv2dActivation`` holding the
same Parameter objects and an ``Identity``, so state_dict keys, optimisers and checkpoints are untouched. Only
``Sequential`` children are fused, where the order of the children is the order of the calls. tests/test_fusion.py
checks a fused model against the plain one on NumPy, gradients included.
"""
from __future__ import annotations

from typing import Optional

from ..autograd import Tensor
from ..functional import conv2d, linear
from ..functional.fast.dispatch import leaky_relu, norm_activation, relu
from ..functional.fast.fusion import bias_activation
from .activation import LeakyReLU, ReLU
from .container import Sequential
from .conv import Conv2d
from .linear import Linear
from .module import Module
from .norm import BatchNorm2d, InstanceNorm2d
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


class LinearActivation(Linear):
    """``act(x W^T + b)`` of a 2-D x as the product and ``bias_activation`` (Conv2dActivation's idea); other ranks
    take the plain layer and the activation. Made by ``fuse`` from a Linear, whose parameters it shares."""

    negative_slope: float = 0.0

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 2:
            y = super().forward(x)
            return relu(y) if self.negative_slope == 0 else leaky_relu(y, self.negative_slope)
        return bias_activation(linear(x, self.weight, None), self.bias, self.negative_slope)


class BatchNorm2dActivation(BatchNorm2d):
    """``act(batch_norm(x))``: on a GPU the activation runs inside the norm's kernels (dispatch.norm_activation).
    Made by ``fuse`` from a BatchNorm2d, whose parameters and buffers it shares."""

    negative_slope: float = 0.0

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        counted = self.training and self.track_running_stats and self.momentum is not None
        if not counted:
            self._count_batch()
        use_batch_stats = self.training or not self.track_running_stats
        momentum = self.momentum
        if momentum is None:   # as _BatchNorm.forward: the cumulative average
            momentum = 1.0 / max(1, int(self.num_batches_tracked)) if self.track_running_stats else 0.0
        return norm_activation("batch", x, self.running_mean, self.running_var, self.weight, self.bias,
                               use_batch_stats, momentum, self.eps, self.negative_slope,
                               self.num_batches_tracked if counted else None)   # counted there (in the kernel)


class InstanceNorm2dActivation(InstanceNorm2d):
    """``act(instance_norm(x))``, as BatchNorm2dActivation (made by ``fuse`` from an InstanceNorm2d)."""

    negative_slope: float = 0.0

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        self._count_batch()
        use_input_stats = self.training or not self.track_running_stats
        return norm_activation("instance", x, self.running_mean, self.running_var, self.weight, self.bias,
                               use_input_stats, self.momentum, self.eps, self.negative_slope)


_NORMS = {BatchNorm2d: BatchNorm2dActivation, InstanceNorm2d: InstanceNorm2dActivation}


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
            if slope is None or slope < 0:
                continue
            if type(conv) is Conv2d and conv.bias is not None:
                cls = Conv2dActivation
            elif type(conv) is Linear and conv.bias is not None:
                cls = LinearActivation
            elif type(conv) in _NORMS:
                cls = _NORMS[type(conv)]
            else:
                continue
            fused = cls.__new__(cls)
            fused.__dict__.update(vars(conv))        # the same Parameter objects, buffers, hooks and flags
            fused.negative_slope = slope
            parent._modules[first], parent._modules[second] = fused, Identity()
    return model
