"""Course A, week 3: SRCNN 9-1-5 (Dong et al. 2014), 20,099 parameters.

Patch extraction (9x9 conv, 64 maps), non-linear mapping (1x1 conv, 32 maps), reconstruction (5x5 conv back to the
image channels); 'same' padding so the output has the input's size. It sharpens an image already upscaled to the
target size (the course: 32 -> 8 -> 32 bilinear on CIFAR-10). PyTorch's default init, as the course ran it.
``residual=True`` learns the correction instead: output = input + SRCNN(input), the same 20,099 parameters.
``padding_mode='reflect'`` pads each convolution's input by mirroring instead of zeros (PyTorch's Conv2d option): on
32x32 images a 9x9 layer's zero padding reaches 44% of the pixels. ``mapping_kernel=5`` is the paper's larger
9-5-5 network (a 5x5 non-linear mapping: 69,251 parameters, a 17x17 receptive field instead of 13x13).
``mapping_layers=n`` stacks n mapping layers (32 -> 32 maps after the first), each followed by ReLU: the paper's
deeper variants, e.g. ``mapping_kernel=3, mapping_layers=3`` is 9-3-3-3-5 (54,979 parameters, a 19x19 field).
"""
from __future__ import annotations

from typing import Any, Optional

from .. import nn
from ..autograd import Tensor
from ..backend import Generator


class SRCNN(nn.Module):
    """(N, C, H, W) upscaled image -> (N, C, H, W) restored image (no output activation)."""

    def __init__(self, channels: int = 3, residual: bool = False, padding_mode: str = "zeros",
                 mapping_kernel: int = 1, mapping_layers: int = 1, generator: Optional[Generator] = None) -> None:
        super().__init__()
        self.residual = residual
        self.features = nn.Conv2d(channels, 64, 9, padding=4, generator=generator,   # patch extraction
                                  padding_mode=padding_mode)
        if mapping_kernel % 2 == 0:
            raise ValueError(f"SRCNN: mapping_kernel must be odd to keep the image's size, got {mapping_kernel}")
        self.mapping = nn.Conv2d(64, 32, mapping_kernel, padding=mapping_kernel // 2, generator=generator,
                                 padding_mode=padding_mode)                         # non-linear mapping
        if mapping_layers < 1:
            raise ValueError(f"SRCNN: mapping_layers must be at least 1, got {mapping_layers}")
        # the deeper variants' further mapping layers ('deeper.0', ...); absent for the course's 9-1-5
        self.deeper = nn.ModuleList([nn.Conv2d(32, 32, mapping_kernel, padding=mapping_kernel // 2,
                                               generator=generator, padding_mode=padding_mode)
                                     for _ in range(mapping_layers - 1)])
        self.reconstruction = nn.Conv2d(32, channels, 5, padding=2, generator=generator, padding_mode=padding_mode)

    def forward(self, x: Any) -> Tensor:
        h = self.mapping(self.features(x).relu()).relu()
        for layer in self.deeper:
            h = layer(h).relu()
        y = self.reconstruction(h)
        return x + y if self.residual else y
