"""Course A, week 4: the conditional PatchGAN discriminator, and the multi-scale wrapper of pix2pixHD.

``PatchGAN``: on concat(blurred, image), 6 channels: Conv 4x4 s2 (64), LeakyReLU 0.2; Conv 4x4 s2 (128), instance
norm, LeakyReLU; Conv 4x4 s2 (256), instance norm, LeakyReLU; Conv 4x4 s1 p1 (1). No sigmoid (LSGAN). One score
per overlapping patch: 96x96 -> 11x11.
``MultiScalePatchGAN``: N PatchGANs; scale i sees the pair downsampled i times by AvgPool 3x3 s2 p1
(count_include_pad=False), so at 96x96 the two maps are 11x11 and 5x5.
"""
from __future__ import annotations

from typing import Any, List, Optional

from .. import functional as F
from .. import nn
from ..autograd import Tensor
from ..backend import Generator


class PatchGAN(nn.Module):
    """(N, 2C, H, W) concat(condition, image) -> (N, 1, H/8 - 1, W/8 - 1) patch scores (logits)."""

    def __init__(self, in_channels: int = 6, generator: Optional[Generator] = None) -> None:
        super().__init__()
        conv = lambda c_in, c_out, stride=2, bias=True: nn.Conv2d(  # noqa: E731
            c_in, c_out, 4, stride=stride, padding=1, bias=bias, generator=generator)
        self.net = nn.Sequential(
            conv(in_channels, 64), nn.LeakyReLU(0.2),
            conv(64, 128, bias=False), nn.InstanceNorm2d(128), nn.LeakyReLU(0.2),
            conv(128, 256, bias=False), nn.InstanceNorm2d(256), nn.LeakyReLU(0.2),
            conv(256, 1, stride=1))

    def forward(self, x: Any) -> Tensor:
        return self.net(x)


class MultiScalePatchGAN(nn.Module):
    """``scales`` PatchGANs on the pair at full, half, quarter ... resolution; returns the list of score maps."""

    def __init__(self, in_channels: int = 6, scales: int = 2, generator: Optional[Generator] = None) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList([PatchGAN(in_channels, generator) for _ in range(scales)])
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, condition: Any, image: Any) -> List[Tensor]:
        x = F.cat([condition, image], dim=1)
        outputs = []
        for i, d in enumerate(self.discriminators):
            if i:
                x = self.downsample(x)
            outputs.append(d(x))
        return outputs


__all__ = ["MultiScalePatchGAN", "PatchGAN"]
