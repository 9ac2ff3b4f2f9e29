"""Restore an image of any size with bounded memory: whole while it fits the budget, otherwise in overlapping tiles.

For a model made only of local operations (convolutions, pooling, upsampling, eval-mode batch norm, pointwise
activations: SRCNN, the CAE, Win5-RB) one output pixel depends only on the input pixels within its receptive field.
So a tile that carries a ``halo`` of at least that radius around its core, and starts on a multiple of the model's
downsampling factor (``align``, so pooling windows fall where they fall on the whole image), gives exactly the
whole-image output in its core (up to float rounding of the convolution algorithm chosen for each size).

    halo  = sum over layers, in input pixels, of the layer's reach times its input pixel spacing: k // 2 for a
            convolution (exact for odd 'same' kernels), k - 1 for pooling (its window starts at the pixel)
    align = the product of every stride (pooling and strided convolution)

A model with instance norm (the GAN's U-Net) or global average pooling (NAFNet's channel attention) is not local:
every output pixel depends on the whole image's statistics. It runs whole while it fits; otherwise in large tiles
that overlap by a quarter of their side, blended with weights that ramp linearly across each overlap
(``blended``), which changes the output a little.

The memory of a forward pass is measured, not guessed: ``bytes_per_pixel`` runs the model on two small probes and
fits peak = a + b * pixels, once per model (then remembered). The probes and the tiles run on the model's device
(``model_device``: where its parameters are), and ``peak_memory`` measures that device's memory: host memory under
``tracemalloc`` (which sees NumPy's allocations) on the CPU, the growth of CuPy's memory pool on a GPU.
On the CPU the budget covers the whole working set: the image and output held (a photo as its decoded uint8 values,
photo_io.Pixels and Canvas, converted a tile at a time) plus one tile's forward pass and, when blending, one band
of tile rows. On a GPU it bounds device memory: one tile's float input and forward pass (the photo, the output and
the blending band stay on the host).
"""
from __future__ import annotations

import math
import tracemalloc
import weakref
from functools import partial
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad
from ..backend import cupy_module, device_of, to_device

MIN_TILE = 32   # below this the halo costs more than the core: a budget too small for it is exceeded, not obeyed
HEADROOM = 0.85   # of the bound for the forward pass: the process's RSS also holds freed blocks the allocator
#                   keeps, BLAS and Pillow buffers (measured: 16 Mpx grey at 300 MB peaked 3% over without it)


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


def model_device(model: Any) -> str:
    """'cpu' or 'cuda': where the model's parameters are, so where its probes and tiles run ('cpu' without any)."""
    for parameter in getattr(model, "parameters", tuple)():
        return device_of(getattr(parameter, "data", parameter))
    return "cpu"


def peak_memory(run: Callable[[], Any], device: str) -> int:
    """Peak bytes that ``run()`` allocates on ``device`` beyond what was held before: host memory under tracemalloc
    on the CPU; on a GPU the growth of CuPy's memory pool, its cached free blocks released first (the pool then
    grows to the peak of what is live, rounded up to its blocks). A CuPy stand-in without a memory pool
    (testing/fake_cupy.py computes with NumPy) is measured as host memory."""
    pool = None if device == "cpu" else getattr(cupy_module(), "get_default_memory_pool", lambda: None)()
    if pool is None:
        tracemalloc.start()
        try:
            run()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    pool.free_all_blocks()
    before = pool.total_bytes()
    run()
    return max(0, pool.total_bytes() - before)


def bytes_per_pixel(model: Any, channels: int = 3, probes: Tuple[int, int] = (48, 96)) -> Tuple[float, float]:
    """(fixed bytes, bytes per input pixel) of one eval-mode forward pass on the model's device (``peak_memory``),
    measured once per (model, channels, probes, parameter device and dtype) and then remembered: memory depends on
    the layers and the input's size, not on the weights' values, so a new photo only scales the slope by its
    pixels."""
    params = [p.data for p in model.parameters()][:1]
    key = (channels, tuple(probes), *((type(p).__module__, p.dtype.str) for p in params))
    known = _PROBED.setdefault(model, {})
    if key not in known:
        known[key] = _probe(model, channels, probes)
    return known[key]


_PROBED: "weakref.WeakKeyDictionary[Any, Dict[tuple, Tuple[float, float]]]" = weakref.WeakKeyDictionary()


def _probe(model: Any, channels: int, probes: Tuple[int, int]) -> Tuple[float, float]:
    """bytes_per_pixel's measurement: two forward passes on the model's device, peak = a + b * pixels."""
    _, align = receptive_field(model)
    device = model_device(model)
    sides = [-(-side // align) * align for side in probes]
    sides[1] = max(sides[1], sides[0] + align)          # two different sizes, whatever the alignment
    peaks = []
    for side in sides:
        x = Tensor(to_device(np.zeros((1, channels, side, side), dtype=np.float32), device))
        peaks.append(peak_memory(partial(_no_grad_call, model, x), device))
    pixels = [side ** 2 for side in sides]
    slope = max((peaks[1] - peaks[0]) / (pixels[1] - pixels[0]), peaks[1] / pixels[1] / 2)
    return max(0.0, peaks[1] - slope * pixels[1]), slope


def _no_grad_call(model: Any, x: Tensor) -> None:
    with no_grad():
        model(x)


def is_local(model: Any) -> bool:
    """Whether each output pixel depends only on a window of the input: no instance norm and no global average
    pooling (NAFNet's channel attention) anywhere."""
    return not any(isinstance(m, (nn.InstanceNorm2d, nn.AdaptiveAvgPool2d)) for m in model.modules())


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


def blended(model: Any, image: Any, out: Any, tile: int, align: int, device: str, mode: str) -> Tuple[int, int]:
    """Overlapping ``tile`` x ``tile`` tiles (a quarter overlap, multiples of ``align``) blended linearly into out,
    a band of tile rows at a time: rows are written as soon as no later tile reaches them. Returns (tiles, side)."""
    _, h, w = out.shape
    H, W = -(-h // align) * align, -(-w // align) * align
    tile = max(4 * align, tile // align * align)
    overlap = max(align, tile // 4 // align * align)
    th, tw = min(tile, H), min(tile, W)
    acc = np.zeros((out.shape[0], th, W), dtype=np.float64)
    weight = np.zeros((th, W), dtype=np.float64)
    rows, count = _starts(H, tile, overlap), 0
    for i, y in enumerate(rows):          # acc and weight hold rows y .. y + th
        for x in _starts(W, tile, overlap):
            wgt = np.outer(_ramp(y, th, H, overlap), _ramp(x, tw, W, overlap))
            acc[:, :, x:x + tw] += _forward(model, _crop(image, y, y + th, x, x + tw, mode), device) * wgt
            weight[:, x:x + tw] += wgt
            count += 1
        done = rows[i + 1] - y if i + 1 < len(rows) else th
        if min(y + done, h) > y:
            out[:, y:min(y + done, h), :w] = (acc[:, :min(done, h - y), :w] / weight[:min(done, h - y), :w]
                                               ).astype(np.float32)
        for band in (acc, weight):       # shift the rows still open to the top of the band
            band[..., :th - done, :] = band[..., done:, :].copy()
            band[..., th - done:, :] = 0
    return count, tile


def tiles(size: int, core: int, halo: int, align: int) -> Iterator[Tuple[int, int, int, int]]:
    """Along one axis of ``size`` pixels: (crop start, crop stop, core start, core stop) per tile; crop starts and
    core starts are multiples of ``align``; cores cover [0, size) without overlap."""
    core = max(align, core // align * align)
    halo = -(-halo // align) * align
    for start in range(0, size, core):
        stop = min(size, start + core)
        yield max(0, start - halo), min(size, stop + halo), start, stop


def _crop(image: Any, y0: int, y1: int, x0: int, x1: int, mode: str) -> np.ndarray:
    """[:, y0:y1, x0:x1] of the image padded at the bottom and right by ``mode``, read from the unpadded image (an
    array or photo_io.Pixels): a crop that reaches past the border is padded on its own, which gives the same
    values because every crop holds more real rows and columns than the padding (tiles carry their halo)."""
    _, h, w = image.shape
    part = image[:, y0:min(y1, h), x0:min(x1, w)]
    if y1 > h or x1 > w:
        part = np.pad(part, ((0, 0), (0, max(0, y1 - h)), (0, max(0, x1 - w))), mode=mode)
    return part


def _forward(model: Any, image: np.ndarray, device: str) -> np.ndarray:
    with no_grad():
        return to_device(model(Tensor(to_device(image[None], device))).data, "cpu")[0]


def _check_device(model: Any, device: Optional[str]) -> str:
    """The model's device; a ValueError when the caller names another one."""
    where = model_device(model)
    if device not in (None, "auto") and device.split(":")[0] != where:
        raise ValueError(f"restore_image: device {device!r} was asked but the model's parameters are on {where!r}; "
                         f"move the model first (model.to({device!r}), or load_model(path, {device!r})) or leave "
                         "device out")
    return where


def restore_image(model: Any, image: Any, max_memory: float = 2e9, device: Optional[str] = None, tile: int = 0,
                  out: Any = None) -> Tuple[Any, str]:
    """A (C, H, W) float32 image (or photo_io.Pixels, read a tile at a time) through the model (eval mode) into
    ``out`` (an array or photo_io.Canvas; else a new float32 array). Returns (output, how).

    The image, ``out`` and the result stay on the host; each tile (or the whole image) runs on the model's device
    (``device``, when given, must be that device). ``max_memory`` bounds, on the CPU, the working set: the image and
    the output held, plus the measured forward pass of the whole image or of one tile (its float input and output
    included); on a GPU, device memory: the forward pass and its float input. Whole when that fits, else (or when
    ``tile`` > 0 gives the core size) in tiles; a ValueError when the image and output alone exceed it (CPU). The
    image is reflect-padded at the bottom and right to a multiple of the model's ``align`` and the output is
    cropped back, so any size works.
    """
    model.eval()
    device = _check_device(model, device)
    on_host = device == "cpu"
    halo, align = receptive_field(model)
    c, h, w = image.shape
    H, W = -(-h // align) * align, -(-w // align) * align
    mode = "reflect" if min(h, w) > max(H - h, W - w) else "edge"
    held = getattr(image, "nbytes", 0) + (4 * c * h * w if out is None else getattr(out, "nbytes", 0))
    held = held if on_host else 0      # on a GPU the image and output are host memory, outside the device bound
    if held >= max_memory:
        raise ValueError(f"a {w}x{h} image and its output take {held / 1e6:,.0f} MB, over the memory bound of "
                         f"{max_memory / 1e6:,.0f} MB (--max-memory)")
    fixed, per_pixel = bytes_per_pixel(model, c)
    per_pixel += (8 if on_host else 4) * c   # the float input of the forward pass (and on the CPU a float copy of
    #                                          its output; on a GPU that copy is host memory)
    free = HEADROOM * (max_memory - held) - fixed
    if not tile and per_pixel * H * W <= free:
        whole = _forward(model, _crop(image, 0, H, 0, W, mode), device)[:, :h, :w]
        if out is not None:
            out[:, :, :] = whole
        return (whole if out is None else out), "whole image"
    out = np.empty((c, h, w), dtype=np.float32) if out is None else out
    if not is_local(model):     # the largest side whose tile plus its band of blended rows fits
        b = 8 * (c + 1) * W if on_host else 0     # the band of blended rows (float64), host memory
        side = tile or int((math.sqrt(b * b + 4 * per_pixel * max(free, 0)) - b) / (2 * per_pixel))
        count, side = blended(model, image, out, side, align, device, mode)
        return out, f"{count} blended tiles of {side} px (not local: whole-image statistics)"
    if not tile:   # the largest square core whose tile (core + halo on both sides) fits; at least MIN_TILE
        side = int(math.sqrt(max(free, 0) / per_pixel)) - 2 * halo
        tile = max(MIN_TILE, side)
    count = 0
    for y0, y1, cy0, cy1 in tiles(H, tile, halo, align):
        for x0, x1, cx0, cx1 in tiles(W, tile, halo, align):
            part = _forward(model, _crop(image, y0, y1, x0, x1, mode), device)
            ry, rx = min(cy1, h), min(cx1, w)
            out[:, cy0:ry, cx0:rx] = part[:, cy0 - y0:ry - y0, cx0 - x0:rx - x0]
            count += 1
    return out, f"{count} tiles of {tile}x{tile} (+{halo} px halo)"


__all__: List[str] = ["blended", "bytes_per_pixel", "is_local", "model_device", "peak_memory", "receptive_field",
                       "restore_image", "tiles"]
