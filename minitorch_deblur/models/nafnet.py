"""NAFNet (Chen, Chu, Zhang, Sun 2022, "Simple Baselines for Image Restoration"), sized for a CPU: a U-Net of
NAF blocks, the model for real camera shake (issue 25).

The block has no nonlinear activation. With c channels, input x:
    y = x + beta  * conv1x1(SCA(SimpleGate(dwconv3x3(conv1x1_{c->2c}(LayerNorm2d(x))))))
    z = y + gamma * conv1x1(SimpleGate(conv1x1_{c->2c}(LayerNorm2d(y))))
SimpleGate splits the 2c channels in two halves and multiplies them (c channels out); SCA, the simplified channel
attention, multiplies each channel by conv1x1(global average of the channels). beta and gamma, (1, c, 1, 1), start
at 0, so each block starts as the identity. The 3x3 convolution is depthwise (groups = channels) as in the paper:
F.depthwise_conv2d, since this framework's conv2d has no ``groups``.

The U-Net (NAFNet's layout): a 3x3 conv from 3 to ``width`` channels; per level ``enc_blocks[i]`` blocks, then a
2x2 stride-2 conv doubling the channels; ``middle_blocks`` blocks at 1/16 scale; per level up a 1x1 conv doubling
the channels and a pixel shuffle x2 (halving them), plus the encoder map of that level (skip addition), then
``dec_blocks[i]`` blocks; a 3x3 conv back to 3 channels, and the input added: output = input + net(input). The last
conv starts at zero, so at init the model returns its input exactly (a sharp photo passes unchanged; training
starts from the blurred input's PSNR). Any H, W: the input is padded (replicate) to a multiple of 16, and the
output cropped back.

Default size (width 16, enc [1, 1, 2, 4], middle 2, dec [1, 1, 1, 1]; channels 16, 32, 64, 128, 256):
    parameters         1,991,923
    multiply-adds      27,760 per pixel (``macs_per_pixel``): 27.8 GMAC (55.5 GFLOP) per megapixel, 25.6 GMAC for
                       a 1280x720 frame. NAFNet's GoPro model (width 32, 28 blocks at 1/8: 16 GMAC per 256x256) is
                       ~244k per pixel, 9x more, with 17 M parameters.
    receptive field    200 x 200 px at full resolution through the convolutions: 1 + 2 (intro 3x3) + per level i
                       (2 per block's 3x3 + 1 for the 2x2 down conv) * 2^i + 2 * 2^4 per middle block + 2 * 2^i per
                       decoder block + 2 (last 3x3) = 200; measured the same by the gradient of the centre pixel of
                       a 320x320 input (``receptive_field``; tests/test_nafnet.py checks the formula on a small
                       model). The channel attention adds global (whole-image) channel statistics on top. Blurs of
                       up to ~45 px fit with ~75 px of context on each side.
    time on this project's CPU machine (2 cores, NumPy float32; best / median of 8 repeats, an idle machine):
        forward + backward, batch of 8 96x96 crops     0.72 s / 0.77 s, 433 MB peak resident memory
        forward + backward, batch of 8 128x128 crops   1.3 s / 1.45 s, 731 MB
        forward, one 1280x720 frame (no_grad)          3.6 s / 4.0 s (of 4), 857 MB
Why this size: the issue's CPU budget is a few hours on 2 cores, i.e. ~7,000 steps of 8 128x128 crops in 3 hours;
width 16 keeps the full- and half-resolution levels (about half the MACs) cheap. A block costs about the same per
input pixel at every level (the channels double as the area quarters), but one at 1/8 scale grows the receptive
field 8x as much as one at full resolution: hence the depth at 1/8 and 1/16.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import Tensor
from ..backend import Generator

class NAFBlock(nn.Module):
    """(N, c, H, W) -> (N, c, H, W); the identity at init (beta = gamma = 0)."""

    def __init__(self, c: int, generator: Optional[Generator] = None) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm2d(c)
        self.conv1 = nn.Conv2d(c, 2 * c, 1, generator=generator)
        self.conv2 = nn.DepthwiseConv2d(2 * c, 3, generator=generator)
        self.gate = nn.SimpleGate()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.sca = nn.Conv2d(c, c, 1, generator=generator)
        self.conv3 = nn.Conv2d(c, c, 1, generator=generator)
        self.norm2 = nn.LayerNorm2d(c)
        self.conv4 = nn.Conv2d(c, 2 * c, 1, generator=generator)
        self.conv5 = nn.Conv2d(c, c, 1, generator=generator)
        self.beta = nn.Parameter(np.zeros((1, c, 1, 1), dtype=np.float32))
        self.gamma = nn.Parameter(np.zeros((1, c, 1, 1), dtype=np.float32))

    def forward(self, x: Any) -> Tensor:
        t = self.gate(self.conv2(self.conv1(self.norm1(x))))
        t = t * self.sca(self.pool(t))
        y = x + self.conv3(t) * self.beta
        t = self.conv5(self.gate(self.conv4(self.norm2(y))))
        return y + t * self.gamma


class NAFNet(nn.Module):
    """(N, 3, H, W) -> (N, 3, H, W), images in [0, 1] (the model is residual: output = input + net(input)); any H, W
    (padded to a multiple of 2^levels inside, then cropped back)."""

    def __init__(self, width: int = 16, enc_blocks: Sequence[int] = (1, 1, 2, 4), middle_blocks: int = 2,
                 dec_blocks: Sequence[int] = (1, 1, 1, 1), channels: int = 3,
                 generator: Optional[Generator] = None) -> None:
        super().__init__()
        if len(enc_blocks) != len(dec_blocks):
            raise ValueError(f"NAFNet: enc_blocks {tuple(enc_blocks)} and dec_blocks {tuple(dec_blocks)} need "
                             "the same number of levels")
        self.width, self.levels = width, len(enc_blocks)
        self.intro = nn.Conv2d(channels, width, 3, padding=1, generator=generator)
        self.encoders, self.downs = nn.ModuleList(), nn.ModuleList()
        self.ups, self.decoders = nn.ModuleList(), nn.ModuleList()
        c = width
        for n in enc_blocks:
            self.encoders.append(nn.Sequential(*[NAFBlock(c, generator) for _ in range(n)]))
            self.downs.append(nn.Conv2d(c, 2 * c, 2, stride=2, generator=generator))
            c *= 2
        self.middle = nn.Sequential(*[NAFBlock(c, generator) for _ in range(middle_blocks)])
        for n in dec_blocks:
            self.ups.append(nn.Sequential(nn.Conv2d(c, 2 * c, 1, bias=False, generator=generator),
                                          nn.PixelShuffle(2)))
            c //= 2
            self.decoders.append(nn.Sequential(*[NAFBlock(c, generator) for _ in range(n)]))
        self.ending = nn.Conv2d(width, channels, 3, padding=1, generator=generator)
        for p in self.ending.parameters():   # output = input at init
            p.data[...] = 0

    def forward(self, x: Any) -> Tensor:
        h, w = x.shape[2], x.shape[3]
        m = 2 ** self.levels
        ph, pw = (-h) % m, (-w) % m
        inp = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x
        t = self.intro(inp)
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            t = encoder(t)
            skips.append(t)
            t = down(t)
        t = self.middle(t)
        for decoder, up, skip in zip(self.decoders, self.ups, reversed(skips)):
            t = decoder(up(t) + skip)
        out = inp + self.ending(t)
        return out[:, :, :h, :w] if ph or pw else out


def macs_per_pixel(model: NAFNet) -> float:
    """Multiply-adds per input pixel: the convolutions, depthwise included, each at its level's scale (the channel
    attention's 1x1 conv runs once per image on a 1x1 map and the norms, gates and pooling do no multiply-adds to
    speak of: left out)."""
    sca = {id(block.sca) for block in model.modules() if isinstance(block, NAFBlock)}

    def conv_macs(m: nn.Module, scale: float) -> float:
        out = 0.0
        for layer in m.modules():
            if isinstance(layer, nn.Conv2d) and id(layer) not in sca:
                kh, kw = layer.kernel_size
                out += layer.in_channels * layer.out_channels * kh * kw / (layer.stride[0] * layer.stride[1])
            elif isinstance(layer, nn.DepthwiseConv2d):
                out += layer.channels * layer.kernel_size ** 2
        return out / scale

    total = conv_macs(model.intro, 1) + conv_macs(model.ending, 1) + conv_macs(model.middle, 4 ** model.levels)
    for i, (enc, down) in enumerate(zip(model.encoders, model.downs)):
        total += conv_macs(enc, 4 ** i) + conv_macs(down, 4 ** i)
    for i, (up, dec) in enumerate(zip(model.ups, model.decoders)):
        level = model.levels - 1 - i
        total += conv_macs(up, 4 ** (level + 1)) + conv_macs(dec, 4 ** level)
    return total


def receptive_field(model: NAFNet, size: int = 256) -> int:
    """Width in pixels of the input region that reaches the centre output pixel (by the gradient), with beta, gamma
    and the last conv made nonzero, and the channel attention held out (it is global by construction)."""
    from ..autograd import Tensor as T
    rng = np.random.default_rng(0)
    saved = [(p, p.data.copy()) for p in model.parameters()]
    try:
        for block in model.modules():
            if isinstance(block, NAFBlock):
                block.beta.data[...] = 1
                block.gamma.data[...] = 1
                block.sca.weight.data[...] = 0          # SCA = constant bias: no global term in the gradient
                block.sca.bias.data[...] = 1
        model.ending.weight.data[...] = rng.standard_normal(model.ending.weight.shape).astype(np.float32)
        x = T(rng.standard_normal((1, 3, size, size)), requires_grad=True)
        model(x)[0, 0, size // 2, size // 2].backward()
        hit = np.abs(x.grad.sum(axis=(0, 1))) > 0
        cols, rows = np.nonzero(hit.any(axis=0))[0], np.nonzero(hit.any(axis=1))[0]
        return int(max(cols[-1] - cols[0], rows[-1] - rows[0]) + 1)
    finally:
        for p, data in saved:
            p.data[...] = data
        for p in model.parameters():
            p.grad = None
