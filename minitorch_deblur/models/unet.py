"""Course A, week 4: the U-Net generator of the deblurring GAN, 6,170,627 parameters (96x96 in, 96x96 out).

Encoder: four 4x4 stride-2 convolutions (64, 128, 256, 512 maps; 96 -> 48 -> 24 -> 12 -> 6), LeakyReLU 0.2, instance
norm on enc2 and enc3 (whose convolutions carry no bias: the norm would cancel it, and the count needs it).
Decoder: four 4x4 stride-2 transposed convolutions back up; dec1 and dec2 with instance norm, dropout 0.5 and ReLU,
dec3 with instance norm and ReLU, each followed by the encoder map of the same size (skip connection, concat);
dec4 ends in tanh. Images are in [-1, 1].
Options: ``upsample='resize'`` replaces each transposed convolution with nearest x2 then a 3x3 convolution (the
checkerboard fix of Odena et al. 2016; different parameter count); ``residual=True`` returns input + G(input) and
starts as the identity: the last convolution's weights and bias start at 0, so G(input) = tanh(0) = 0 and training
begins from the blurred input's PSNR instead of a random image's (the gradient still reaches that convolution, whose
input is not 0, and through it the rest once it has moved); ``dropout`` sets dec1's and dec2's probability (0.5, the
course's pix2pix noise; 0 turns it off, which only changes training: dropout is the identity in eval mode).
"""
from __future__ import annotations

from typing import Any, List, Optional

from .. import functional as F
from .. import nn
from ..autograd import Tensor
from ..backend import Generator


def _up(c_in: int, c_out: int, upsample: str, bias: bool, generator: Optional[Generator]) -> nn.Module:
    """x2 upsampling: ConvTranspose 4x4 stride 2 ('transpose') or nearest x2 + Conv 3x3 ('resize')."""
    if upsample == "transpose":
        return nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=bias, generator=generator)
    return nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias,
                                                                generator=generator))


class UNet(nn.Module):
    """(N, 3, H, W) blurred image in [-1, 1], H and W divisible by 16 -> (N, 3, H, W) in [-1, 1] (tanh; plus the
    input when ``residual``)."""

    def __init__(self, channels: int = 3, upsample: str = "transpose", residual: bool = False, dropout: float = 0.5,
                 generator: Optional[Generator] = None) -> None:
        super().__init__()
        if upsample not in ("transpose", "resize"):
            raise ValueError(f"UNet: upsample must be 'transpose' or 'resize', got {upsample!r}")
        self.residual = residual
        conv = lambda c_in, c_out, bias=True: nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=bias,  # noqa: E731
                                                        generator=generator)
        lrelu = lambda: nn.LeakyReLU(0.2)  # noqa: E731
        self.enc1 = nn.Sequential(conv(channels, 64), lrelu())
        self.enc2 = nn.Sequential(conv(64, 128, False), nn.InstanceNorm2d(128), lrelu())
        self.enc3 = nn.Sequential(conv(128, 256, False), nn.InstanceNorm2d(256), lrelu())
        self.enc4 = nn.Sequential(conv(256, 512), lrelu())
        drop = lambda: nn.Dropout(dropout, generator=generator)  # noqa: E731
        self.dec1 = nn.Sequential(_up(512, 256, upsample, True, generator), nn.InstanceNorm2d(256), drop(), nn.ReLU())
        self.dec2 = nn.Sequential(_up(512, 128, upsample, True, generator), nn.InstanceNorm2d(128), drop(), nn.ReLU())
        self.dec3 = nn.Sequential(_up(256, 64, upsample, True, generator), nn.InstanceNorm2d(64), nn.ReLU())
        self.dec4 = nn.Sequential(_up(128, channels, upsample, True, generator), nn.Tanh())
        if residual:
            for p in self.dec4.parameters():
                p.data[...] = 0

    def forward(self, x: Any) -> Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        d = self.dec1(self.enc4(e3))
        d = self.dec2(F.cat([d, e3], dim=1))
        d = self.dec3(F.cat([d, e2], dim=1))
        y = self.dec4(F.cat([d, e1], dim=1))
        return x + y if self.residual else y


__all__: List[str] = ["UNet"]
