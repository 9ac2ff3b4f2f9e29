"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d``, ``InstanceNorm2d`` (PyTorch's arguments and buffers).

Batch norm, training: y = (x - mean_B) / sqrt(var_B + eps) * weight + bias over (N, H, W) per channel, and the
running stats move: r <- (1 - momentum) r + momentum * stat (running_var from the unbiased batch variance).
Eval: the running stats replace the batch's. Instance norm normalises each (sample, channel) over (H, W).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from ..autograd import Tensor
from ..backend import shape_str
from ..functional import batch_norm, instance_norm
from .module import Module
from .parameter import Parameter


class _NormBase(Module):
    #: the input ranks a layer accepts, e.g. (4,) for BatchNorm2d
    ranks: Tuple[int, ...] = ()
    layout: str = ""

    def __init__(self, num_features: int, eps: float, momentum: float, affine: bool,
                 track_running_stats: bool) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=np.float32))
            self.bias = Parameter(np.zeros(num_features, dtype=np.float32))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=np.float32))
            self.register_buffer("running_var", np.ones(num_features, dtype=np.float32))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def _check_input(self, x: Tensor) -> None:
        name = type(self).__name__
        if x.ndim not in self.ranks:
            raise ValueError(f"{name}({self.num_features}): expected a {self.layout} input, got shape "
                             f"{shape_str(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}({self.num_features}): input of shape {shape_str(x.shape)} has {x.shape[1]} "
                             f"channels (dim 1) but the layer was built for {self.num_features}; build it as "
                             f"{name}({x.shape[1]}) or fix the previous layer")

    def _count_batch(self) -> None:
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        self._count_batch()
        use_batch_stats = self.training or not self.track_running_stats
        momentum = self.momentum
        if momentum is None:   # PyTorch's cumulative average: the running stats are the mean over every batch seen
            momentum = 1.0 / max(1, int(self.num_batches_tracked)) if self.track_running_stats else 0.0
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          training=use_batch_stats, momentum=momentum, eps=self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch norm of (N, C) or (N, C, L) over N (and L) per channel."""

    ranks, layout = (2, 3), "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm of (N, C, H, W) over (N, H, W) per channel."""

    ranks, layout = (4,), "4-D (N, C, H, W)"


class InstanceNorm2d(_NormBase):
    """Instance norm of (N, C, H, W) over (H, W) per sample and channel (no affine, no running stats by default)."""

    ranks, layout = (4,), "4-D (N, C, H, W)"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = False,
                 track_running_stats: bool = False) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        self._count_batch()
        use_input_stats = self.training or not self.track_running_stats
        return instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                             use_input_stats=use_input_stats, momentum=self.momentum, eps=self.eps)
