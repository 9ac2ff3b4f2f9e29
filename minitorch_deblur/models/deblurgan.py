"""The deblurring GAN as one module: the U-Net generator and (for training) the multi-scale PatchGAN.

``DeblurGAN()(x)`` restores RGB in [0, 1], as every restoration model here does: (G(2x - 1) + 1) / 2, since the
course's generator works in [-1, 1]. So ``evaluate``, ``deblur`` and checkpoints treat it like SRCNN or Win5-RB.
``discriminator=False`` builds the generator alone (the shipped weights are the generator's only).
"""
from __future__ import annotations

from typing import Any, Optional

from .. import nn
from ..autograd import Tensor
from ..backend import Generator
from .patchgan import MultiScalePatchGAN
from .unet import UNet


class DeblurGAN(nn.Module):
    """(N, 3, H, W) blurred RGB in [0, 1], H and W divisible by 16 -> restored (N, 3, H, W) (not clipped)."""

    def __init__(self, upsample: str = "transpose", residual: bool = False, scales: int = 2,
                 discriminator: bool = True, dropout: float = 0.5, generator: Optional[Generator] = None) -> None:
        super().__init__()
        self.generator = UNet(3, upsample=upsample, residual=residual, dropout=dropout, generator=generator)
        self.discriminator = MultiScalePatchGAN(6, scales, generator=generator) if discriminator else None

    def forward(self, x: Any) -> Tensor:
        return (self.generator(x * 2.0 - 1.0) + 1.0) * 0.5
