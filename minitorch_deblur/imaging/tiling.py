"""Restore an image of any size with bounded memory: whole while it fits the budget, otherwise in overlapping tiles.

For a model made only of local operations (convolutions, pooling, upsampling, eval-mode batch norm, pointwise
activations: SRCNN, the CAE, Win5-RB) one output pixel depends only on the input pixels within its receptive field.
So a tile that carries a ``halo`` of at least that radius around its core, and starts on a multiple of the model's
downsampling factor (``align``, so pooling windows fall where they fall on the whole image), gives exactly the
whole-image output in its core (up to float rounding of the convolution algorithm chosen for each size).

    halo  = sum over layers, in input pixels, of the layer's reach times its input pixel spacing: k // 2 for a
            convolution (exact for odd 'same' kernels), k - 1 for pooling (its window starts at the pixel)
    align = the product of every stride (pooling and strided convolution)

A model with instance norm (the GAN's U-Net) is not local: every output pixel depends on the whole image's
statistics. It runs whole while it fits; otherwise in large tiles that overlap by a quarter of their side, blended
with weights that ramp linearly across each overlap (``blended``), which changes the output a little.

The memory of a forward pass is measured, not guessed: ``bytes_per_pixel`` runs the model on two small probes under
``tracemalloc`` (which sees NumPy's allocations) and fits peak = a + b * pixels.
"""
from __future__ import annotations

import math
import tracemalloc
from typing import Any, Iterator, List, Tuple

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad
from ..backend import to_device

MIN_TILE = 32   # below this the halo costs more than the core: a budget too small for it is exceeded, not obeyed


def receptive_field(model: Any) -> Tuple[int, int]:
    """(halo, align) of a model whose leaf modules run in registration order (all the course's restorers). A GAN
    restores with its generator alone: its discriminator, when loaded, is left out."""
    model = getattr(model, "generator", model)
    halo, spacing, align = 0.0, 1.0, 1
    for module in model.modules():
        if list(module.children()):
            continue
        if isinstance(module, nn.Conv2d):
            halo += max(module.kernel_size) // 2 * spacing
            stride = max(module.stride)
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            halo += (module.kernel_size - 1) * spacing if isinstance(module.kernel_size, int) else \
                (max(module.kernel_size) - 1) * spacing
            stride = module.stride if isinstance(module.stride, int) else max(module.stride)
        elif isinstance(module, nn.Upsample):
            spacing /= module.scale_factor
            continue
        elif isinstance(module, nn.ConvTranspose2d):
            spacing /= max(module.stride)
            halo += max(module.kernel_size) // 2 * spacing
            continue
        else:
            continue
        spacing *= stride
        align *= stride
    return int(math.ceil(halo)), align


def bytes_per_pixel(model: Any, channels: int = 3, probes: Tuple[int, int] = (48, 96)) -> Tuple[float, float]:
    """(fixed bytes, bytes per input pixel) of one eval-mode forward pass, measured with tracemalloc on the CPU."""
    _, align = receptive_field(model)
    sides = [-(-side // align) * align for side in probes]
    sides[1] = max(sides[1], sides[0] + align)          # two different sizes, whatever the alignment
    peaks = []
    for side in sides:
        x = Tensor(np.zeros((1, channels, side, side), dtype=np.float32))
        tracemalloc.start()
        try:
            with no_grad():
                model(x)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    pixels = [side ** 2 for side in sides]
    slope = max((peaks[1] - peaks[0]) / (pixels[1] - pixels[0]), peaks[1] / pixels[1] / 2)
    return max(0.0, peaks[1] - slope * pixels[1]), slope


def is_local(model: Any) -> bool:
    """Whether each output pixel depends only on a window of the input (no instance norm anywhere)."""
    return not any(isinstance(m, nn.InstanceNorm2d) for m in model.modules())


def _ramp(start: int, length: int, size: int, overlap: int) -> np.ndarray:
    """Blend weights of one tile along one axis: rising over the first ``overlap`` pixels and falling over the last,
    except at the image's own border."""
    w = np.ones(length, dtype=np.float32)
    r = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
    if start > 0:
        w[:overlap] = np.minimum(w[:overlap], r)
    if start + length < size:
        w[length - overlap:] = np.minimum(w[length - overlap:], r[::-1])
    return w


def _starts(size: int, tile: int, overlap: int) -> List[int]:
    if tile >= size:
        return [0]
    starts = list(range(0, size - tile + 1, tile - overlap))
    return starts if starts[-1] == size - tile else starts + [size - tile]


def blended(model: Any, padded: np.ndarray, tile: int, align: int, device: str) -> Tuple[np.ndarray, int]:
    """Overlapping ``tile`` x ``tile`` tiles (a quarter overlap, multiples of ``align``) blended linearly."""
    c, H, W = padded.shape
    tile = max(4 * align, tile // align * align)
    overlap = max(align, tile // 4 // align * align)
    out = np.zeros((c, H, W), dtype=np.float64)
    weight = np.zeros((H, W), dtype=np.float64)
    count = 0
    for y in _starts(H, tile, overlap):
        for x in _starts(W, tile, overlap):
            th, tw = min(tile, H), min(tile, W)
            wgt = np.outer(_ramp(y, th, H, overlap), _ramp(x, tw, W, overlap))
            out[:, y:y + th, x:x + tw] += _forward(model, padded[:, y:y + th, x:x + tw], device) * wgt
            weight[y:y + th, x:x + tw] += wgt
            count += 1
    return (out / weight).astype(np.float32), count


def tiles(size: int, core: int, halo: int, align: int) -> Iterator[Tuple[int, int, int, int]]:
    """Along one axis of ``size`` pixels: (crop start, crop stop, core start, core stop) per tile; crop starts and
    core starts are multiples of ``align``; cores cover [0, size) without overlap."""
    core = max(align, core // align * align)
    halo = -(-halo // align) * align
    for start in range(0, size, core):
        stop = min(size, start + core)
        yield max(0, start - halo), min(size, stop + halo), start, stop


def _forward(model: Any, image: np.ndarray, device: str) -> np.ndarray:
    with no_grad():
        return to_device(model(Tensor(to_device(image[None], device))).data, "cpu")[0]


def restore_image(model: Any, image: np.ndarray, max_memory: float = 2e9, device: str = "cpu",
                  tile: int = 0) -> Tuple[np.ndarray, str]:
    """A (C, H, W) float32 image through the model (eval mode): whole when the measured forward memory fits
    ``max_memory`` bytes, else (or when ``tile`` > 0 gives the core size) in tiles. Returns (output, how).

    The image is reflect-padded at the bottom and right to a multiple of the model's ``align`` and the output is
    cropped back, so any size works.
    """
    model.eval()
    halo, align = receptive_field(model)
    c, h, w = image.shape
    ph, pw = -(-h // align) * align - h, -(-w // align) * align - w
    padded = np.pad(image, ((0, 0), (0, ph), (0, pw)), mode="reflect" if min(h, w) > max(ph, pw) else "edge")
    fixed, per_pixel = bytes_per_pixel(model, c)
    H, W = padded.shape[1:]
    if not tile and fixed + per_pixel * H * W <= max_memory:
        return _forward(model, padded, device)[:, :h, :w], "whole image"
    if not is_local(model):
        side = tile or int(math.sqrt(max(max_memory - fixed, 0) / per_pixel))
        out, count = blended(model, padded, side, align, device)
        return out[:, :h, :w], f"{count} blended tiles of {max(4 * align, side // align * align)} px (instance norm)"
    if not tile:   # the largest square core whose tile (core + halo on both sides) fits; at least MIN_TILE
        side = int(math.sqrt(max(max_memory - fixed, 0) / per_pixel)) - 2 * halo
        tile = max(MIN_TILE, side)
    out = np.empty((c, H, W), dtype=np.float32)
    count = 0
    for y0, y1, cy0, cy1 in tiles(H, tile, halo, align):
        for x0, x1, cx0, cx1 in tiles(W, tile, halo, align):
            part = _forward(model, padded[:, y0:y1, x0:x1], device)
            out[:, cy0:cy1, cx0:cx1] = part[:, cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
            count += 1
    return out[:, :h, :w], f"{count} tiles of {tile}x{tile} (+{halo} px halo)"


__all__: List[str] = ["blended", "bytes_per_pixel", "is_local", "receptive_field", "restore_image", "tiles"]
