"""Keras's defaults, for the course-B models (written in Keras): glorot-uniform kernels, zero biases, and batch
norm with momentum 0.99 (0.01 in PyTorch's convention, which weights the new batch) and eps 1e-3."""
from __future__ import annotations

from typing import Optional

from .. import nn
from ..backend import Generator

BN_MOMENTUM, BN_EPS = 0.01, 1e-3


def keras_init_(model: nn.Module, generator: Optional[Generator] = None) -> nn.Module:
    """Re-initialise every Conv2d of ``model`` as Keras does: W ~ glorot uniform, b = 0 (in place)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)
