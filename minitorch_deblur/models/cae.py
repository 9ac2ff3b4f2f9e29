"""Course B: the convolutional autoencoder deblurrer, 779,395 parameters as Keras counts them (777,987 learned,
plus the batch norms' 1,408 running statistics).

Encoder: Conv32, Conv64, Conv128, MaxPool 2, Conv256, MaxPool 2; decoder: Conv128, Upsample 2, Conv64, Upsample 2,
Conv32, Conv3 + Sigmoid. Every conv is 3x3 'same' and all but the last are followed by batch norm and ReLU.
Keras's init and batch-norm settings (keras_init.py).
"""
from __future__ import annotations

from typing import Any, List, Optional

from .. import nn
from ..autograd import Tensor
from ..backend import Generator
from .keras_init import batch_norm, keras_init_


def conv_bn_relu(c_in: int, c_out: int, generator: Optional[Generator]) -> List[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, generator=generator), batch_norm(c_out), nn.ReLU()]


class CAE(nn.Module):
    """(N, 3, H, W) blurred image in [0, 1], H and W divisible by 4 -> (N, 3, H, W) restored image in (0, 1)."""

    def __init__(self, channels: int = 3, generator: Optional[Generator] = None) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            *conv_bn_relu(channels, 32, generator), *conv_bn_relu(32, 64, generator),
            *conv_bn_relu(64, 128, generator), nn.MaxPool2d(2), *conv_bn_relu(128, 256, generator), nn.MaxPool2d(2))
        self.decoder = nn.Sequential(
            *conv_bn_relu(256, 128, generator), nn.Upsample(scale_factor=2), *conv_bn_relu(128, 64, generator),
            nn.Upsample(scale_factor=2), *conv_bn_relu(64, 32, generator),
            nn.Conv2d(32, channels, 3, padding=1, generator=generator), nn.Sigmoid())
        keras_init_(self, generator)

    def forward(self, x: Any) -> Tensor:
        return self.decoder(self.encoder(x))
