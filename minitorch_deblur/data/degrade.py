"""Seeded, reproducible degradations: x4 resampling, motion blur, random-trajectory blur, Gaussian blur + noise.

Images are float32 in [0, 1], (N, C, H, W) batches or one (C, H, W) image. Every random choice comes from an explicit
seed: image ``i`` of a call with ``seed`` and ``index_offset`` uses ``numpy.random.default_rng((seed, index_offset
+ i))``, so degrading a test set in one go or batch by batch gives the same inputs, on every machine.

- ``resize_down_up``: x4 down then up with Pillow's bicubic or bilinear filter on uint8 (Pillow itself does the
  resampling, so it matches what the course notebook ran through PIL exactly).
- ``motion_blur_kernel`` + ``convolve2d``: a normalised line through the centre, size 7..15, angle 0..180 degrees
  (counter-clockwise from the x axis), optionally anti-aliased; convolved per channel with reflect borders.
- ``trajectory_kernel``: random camera-shake trajectories (Boracchi & Foi 2012), as DeblurGAN generated them.
- ``shake``: for real photos: half the images an anti-aliased line of 1..25 px (1 = no blur at all: a model must
  also learn to leave sharp detail alone), half a camera-shake trajectory.
- ``gaussian_blur_noise``: 5x5 Gaussian blur, sigma ~ U[1, 4) per image, then + 0.02 N(0, 1) (course B, not clipped).
- ``degrade`` / ``degrade_test_set`` / ``Degrader``: one entry point by name, a fixed-seed test set, a DataLoader
  transform.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..backend import get_array_module, to_device
from .images import from_uint8, to_uint8
from .root import PathLike

KINDS = ("bicubic", "bilinear", "motion", "motion_aa", "trajectory", "shake", "gaussian_noise", "realistic")
SHAKE_SIZES = (1, 25)   # the line lengths of 'shake', inclusive


# ------------------------------------------------------------------------------------------------ resampling ---

def resize_down_up(images: Any, scale: int = 4, method: str = "bicubic", up: Optional[str] = None) -> Any:
    """Downsample by ``scale`` then upsample back to the original size, with Pillow on uint8 (as the course did).

    ``method``: 'bicubic' (what the course document says) or 'bilinear' (what its notebook actually ran). The image
    is rounded to uint8, resized with ``PIL.Image.resize`` (which low-pass filters when shrinking) to
    (W // scale, H // scale) and back to (W, H), and returned as float32 in [0, 1] on the input's device.
    ``up`` upsamples with another filter (default: ``method``); ``up='bicubic'`` is the classic baseline that a
    super-resolution model must beat.
    """
    from PIL import Image  # noqa: PLC0415

    filters = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}
    up = method if up is None else up
    if method not in filters or up not in filters:
        raise ValueError(f"resize_down_up: method and up must be 'bicubic' or 'bilinear', got {method!r}, {up!r}")
    xp = get_array_module(images)
    u8 = to_uint8(images)
    batch = u8 if u8.ndim == 4 else u8[None]
    n, c, h, w = batch.shape
    if c not in (1, 3) or h < scale or w < scale:
        raise ValueError(f"resize_down_up: expected (N, C, H, W) or (C, H, W) with C 1 or 3 and H, W >= {scale}, "
                         f"got {tuple(images.shape)}")
    small = (max(1, w // scale), max(1, h // scale))
    out = np.empty_like(batch)
    for i in range(n):
        arr = batch[i, 0] if c == 1 else batch[i].transpose(1, 2, 0)
        im = Image.fromarray(np.ascontiguousarray(arr))
        im = im.resize(small, filters[method]).resize((w, h), filters[up])
        a = np.asarray(im)
        out[i] = a[None] if c == 1 else a.transpose(2, 0, 1)
    res = from_uint8(out if u8.ndim == 4 else out[0])
    return res if xp is np else to_device(res, "cuda")


# ----------------------------------------------------------------------------------------------- convolution ---

def convolve2d(images: Any, kernel: Any, border: str = "reflect") -> Any:
    """2-D convolution of every channel of ``images`` (..., H, W) with ``kernel`` (kh, kw); output (..., H, W).

    True convolution (the kernel is flipped), anchored at (kh // 2, kw // 2). ``border='reflect'`` mirrors without
    repeating the edge pixel (NumPy/PyTorch 'reflect' = OpenCV's default BORDER_REFLECT_101); 'constant' pads zeros.
    Implemented as one shifted, scaled add per non-zero tap, so a 15-tap line kernel costs 15 adds, on NumPy or CuPy.
    """
    xp = get_array_module(images)
    k = np.asarray(to_device(kernel, "cpu"), dtype=np.float64)
    if k.ndim != 2:
        raise ValueError(f"convolve2d: kernel must be 2-D (kh, kw), got shape {k.shape}")
    x = images if images.dtype in (np.float32, np.float64) else images.astype(np.float32)
    kh, kw = k.shape
    ah, aw = kh // 2, kw // 2
    kf = k[::-1, ::-1]
    pad = [(0, 0)] * (x.ndim - 2) + [(kh - 1 - ah, ah), (kw - 1 - aw, aw)]
    if border not in ("reflect", "constant"):
        raise ValueError(f"convolve2d: border must be 'reflect' or 'constant', got {border!r}")
    xp_pad = xp.pad(x, pad, mode=border)
    h, w = x.shape[-2:]
    out = xp.zeros_like(x)
    for i, j in zip(*np.nonzero(kf)):
        out += x.dtype.type(kf[i, j]) * xp_pad[..., i:i + h, j:j + w]
    return out


# ----------------------------------------------------------------------------------------------- motion blur ---

def motion_blur_kernel(size: int, angle: float, anti_alias: bool = False) -> np.ndarray:
    """A (size, size) float32 kernel: a line of length ``size`` through the centre at ``angle`` degrees, sum 1.

    The angle is counter-clockwise from the +x axis with y pointing up on screen (0 = horizontal, 90 = vertical).
    Plain: one pixel per row or column along the line (the nearest one), equal weights. ``anti_alias``: the line
    is sampled finely and each sample's weight is shared bilinearly among its 4 neighbouring pixels, so oblique
    lines are smooth.
    """
    if size < 1:
        raise ValueError(f"motion_blur_kernel: size must be >= 1, got {size}")
    c = (size - 1) / 2.0
    theta = math.radians(angle)
    dx, dy = math.cos(theta), -math.sin(theta)
    k = np.zeros((size, size), dtype=np.float64)
    half = (size - 1) / 2.0
    if not anti_alias:
        # one tap per pixel along the major axis (a symmetric DDA line), the other coordinate rounded
        swap = abs(dy) > abs(dx)
        major, minor = (dy, dx) if swap else (dx, dy)
        off = np.arange(size) - c
        off = off[np.abs(off) <= half * abs(major) + 0.5 - 1e-9]
        other = np.clip(_round_from_centre(c, off * (minor / major)), 0, size - 1)
        along = (c + off).astype(int)
        k[(along, other) if swap else (other, along)] = 1.0
    else:
        t = np.linspace(-half, half, 16 * size + 1)
        px, py = c + t * dx, c + t * dy
        x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
        fx, fy = px - x0, py - y0
        for ox, oy, wgt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            xi, yi = x0 + ox, y0 + oy
            ok = (xi >= 0) & (xi < size) & (yi >= 0) & (yi < size)
            np.add.at(k, (yi[ok], xi[ok]), wgt[ok])
        k[k < 1e-3 * k.max()] = 0.0  # drop numerically negligible taps (they would cost a full add each)
    return (k / k.sum()).astype(np.float32)


def _round_from_centre(c: float, offset: np.ndarray) -> np.ndarray:
    """Nearest pixel of c + offset, ties away from the centre, so an odd kernel stays symmetric about it."""
    o = np.round(offset, 9)  # cos/sin rounding must not decide a tie
    if float(c).is_integer():
        return (c + np.sign(o) * np.floor(np.abs(o) + 0.5)).astype(int)
    return np.floor(c + o + 0.5).astype(int)


def random_motion_kernel(rng: np.random.Generator, size_range: Tuple[int, int] = (7, 15),
                         angle_range: Tuple[float, float] = (0.0, 180.0), anti_alias: bool = False) -> np.ndarray:
    """A motion kernel with size ~ randint(7, 15) inclusive and angle ~ U[0, 180) degrees (course A, week 4)."""
    size = int(rng.integers(size_range[0], size_range[1] + 1))
    angle = float(rng.uniform(angle_range[0], angle_range[1]))
    return motion_blur_kernel(size, angle, anti_alias)


def motion_blur(image: Any, size: int, angle: float, anti_alias: bool = False, clip: bool = True) -> Any:
    """Blur (C, H, W) or (N, C, H, W) with one motion kernel, per channel, reflect borders; clipped to [0, 1]."""
    out = convolve2d(image, motion_blur_kernel(size, angle, anti_alias))
    return get_array_module(out).clip(out, 0.0, 1.0) if clip else out


# ------------------------------------------------------------------------------------- random trajectories ---

def random_trajectory(rng: np.random.Generator, canvas: int = 32, iters: int = 2000, max_len: float = 24.0,
                      expl: Optional[float] = None) -> np.ndarray:
    """A camera-shake trajectory (complex positions, ``iters`` samples) after Boracchi & Foi (2012).

    Follows DeblurGAN's ``Trajectory.fit``: a random walk of constant speed ``max_len / (iters - 1)`` whose direction
    gets Gaussian shake, a centripetal pull and rare "big shakes" (probability ``prob_big_shake * expl``), centred on
    a ``canvas`` x ``canvas`` grid. ``expl`` (exposure-dependent impulsiveness) defaults to 0.1 * U[0, 1).
    DeblurGAN used canvas 64 and max_len 60 for 256-pixel crops; the defaults here are scaled for 96-pixel images.
    """
    expl = 0.1 * rng.random() if expl is None else expl
    centripetal = 0.7 * rng.random()
    prob_big_shake = 0.2 * rng.random()
    gaussian_shake = 10.0 * rng.random()
    init_angle = 360.0 * rng.random()
    v0 = complex(math.cos(math.radians(init_angle)), math.sin(math.radians(init_angle)))
    step = max_len / (iters - 1)
    v = v0 * expl if expl > 0 else v0 * step
    big = (rng.random(iters - 1) < prob_big_shake * expl).tolist()  # draws made up front, the walk in plain Python
    turn = (rng.random(iters - 1) - 0.5).tolist()
    shake = rng.standard_normal((iters - 1, 2)).tolist()
    pos, path = 0j, [0j]
    for t in range(iters - 1):
        next_direction = 2 * v * complex(math.cos(math.pi + turn[t]), math.sin(math.pi + turn[t])) if big[t] else 0
        v += next_direction + expl * (gaussian_shake * complex(*shake[t]) - centripetal * pos) * step
        v = (v / abs(v)) * step
        pos += v
        path.append(pos)
    x = np.asarray(path, dtype=np.complex128)
    x += complex(-x.real.min(), -x.imag.min())
    x = x - complex(x[0].real % 1.0, x[0].imag % 1.0) + complex(1, 1)
    x += complex(math.ceil((canvas - x.real.max()) / 2), math.ceil((canvas - x.imag.max()) / 2))
    return x


def trajectory_psf(trajectory: np.ndarray, canvas: int = 32, fraction: float = 1.0) -> np.ndarray:
    """The blur kernel (canvas, canvas) float32, sum 1, of the first ``fraction`` of a trajectory's exposure.

    As DeblurGAN's ``PSF.fit`` (exposure fractions 1/100, 1/10, 1/2, 1; it picks one of the last three): each sample
    spreads its share of the exposure time over its 4 neighbouring pixels with triangle (bilinear) weights.
    DeblurGAN then min-max normalised the blurred image; here the kernel is normalised to sum 1 instead, so the
    blur keeps the image's brightness.
    """
    n = len(trajectory)
    t = np.arange(n, dtype=np.float64)
    f, prev = fraction * n, 0.0
    prop = np.select(
        [(f >= t) & (prev < t - 1), (f >= t - 1) & (prev < t - 1), (f >= t) & (prev < t), (f >= t - 1) & (prev < t)],
        [np.ones_like(t), f - (t - 1), t - prev, np.full_like(t, f - prev)], 0.0)
    psf = np.zeros((canvas + 2, canvas + 2), dtype=np.float64)
    re, im = trajectory.real, trajectory.imag
    m2 = np.clip(np.floor(re), 1, canvas - 1).astype(int)
    m1 = np.clip(np.floor(im), 1, canvas - 1).astype(int)
    tri = lambda d: np.maximum(0.0, 1.0 - np.abs(d))  # noqa: E731
    for r, c in ((m1, m2), (m1, m2 + 1), (m1 + 1, m2), (m1 + 1, m2 + 1)):
        np.add.at(psf, (r, c), prop * tri(re - c) * tri(im - r))
    psf = psf[:canvas, :canvas]
    if psf.sum() <= 0:
        raise ValueError("trajectory_psf: the trajectory left no weight on the canvas; use a larger canvas")
    return (psf / psf.sum()).astype(np.float32)


def trajectory_kernel(rng: np.random.Generator, canvas: int = 32, max_len: float = 24.0,
                      expl: Optional[float] = None) -> np.ndarray:
    """A random-trajectory blur kernel as DeblurGAN drew them: expl from {0.01, 0.009, 0.008, 0.007, 0.005, 0.003},
    exposure fraction from {1/10, 1/2, 1}."""
    if expl is None:
        expl = float(rng.choice([0.01, 0.009, 0.008, 0.007, 0.005, 0.003]))
    traj = random_trajectory(rng, canvas=canvas, max_len=max_len, expl=expl)
    return trajectory_psf(traj, canvas, fraction=float(rng.choice([1 / 10, 1 / 2, 1.0])))


# ---------------------------------------------------------------------------------------- gaussian + noise ---

def gaussian_kernel(size: int = 5, sigma: float = 1.0) -> np.ndarray:
    """(size, size) float32 Gaussian, sum 1: outer product of exp(-(i - c)^2 / (2 sigma^2)), c = (size - 1) / 2."""
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(r ** 2) / (2.0 * sigma ** 2))
    g /= g.sum()
    return np.outer(g, g).astype(np.float32)


def gaussian_blur_noise(image: Any, sigma: float, noise: Any, clip: bool = False, size: int = 5) -> Any:
    """Course B: blur with a ``size`` x ``size`` Gaussian of ``sigma`` (reflect borders), then add ``noise``.

    ``noise`` is the already-scaled noise array (e.g. 0.02 * N(0, 1)) of the image's shape. Not clipped unless
    ``clip`` (the course fed unclipped inputs to its models).
    """
    xp = get_array_module(image)
    out = convolve2d(image, gaussian_kernel(size, sigma)) + xp.asarray(noise, dtype=image.dtype)
    return xp.clip(out, 0.0, 1.0) if clip else out


# -------------------------------------------------------------------------------------------- entry points ---

def degrade_one(image: Any, kind: str, rng: np.random.Generator, **options: Any) -> Any:
    """Degrade one (C, H, W) image with ``kind`` (see ``KINDS``), drawing its randomness from ``rng``.

    Options: motion / motion_aa: size_range=(7, 15), angle_range=(0, 180); trajectory (and shake's half of
    trajectories): canvas=32, max_len=24;
    gaussian_noise: sigma_range=(1, 4), noise_std=0.02, clip=False; bicubic / bilinear: scale=4.
    """
    if kind in ("bicubic", "bilinear"):
        return resize_down_up(image, options.get("scale", 4), kind)
    if kind in ("motion", "motion_aa"):
        k = random_motion_kernel(rng, tuple(options.get("size_range", (7, 15))),
                                 tuple(options.get("angle_range", (0.0, 180.0))), anti_alias=kind == "motion_aa")
        out = convolve2d(image, k)
        return get_array_module(out).clip(out, 0.0, 1.0)
    if kind == "trajectory" or (kind == "shake" and rng.random() < 0.5):
        k = trajectory_kernel(rng, options.get("canvas", 32), options.get("max_len", 24.0), options.get("expl"))
        out = convolve2d(image, k)
        return get_array_module(out).clip(out, 0.0, 1.0)
    if kind == "shake":
        out = convolve2d(image, random_motion_kernel(rng, SHAKE_SIZES, anti_alias=True))
        return get_array_module(out).clip(out, 0.0, 1.0)
    if kind == "gaussian_noise":
        lo, hi = options.get("sigma_range", (1.0, 4.0))
        sigma = float(rng.uniform(lo, hi))
        noise = options.get("noise_std", 0.02) * rng.standard_normal(tuple(image.shape))
        noise = noise.astype(np.float32) if get_array_module(image) is np else to_device(noise.astype(np.float32),
                                                                                          "cuda")
        return gaussian_blur_noise(image, sigma, noise, clip=options.get("clip", False))
    if kind == "realistic":  # camera shake in linear light, highlights, noise, JPEG: realistic_blur.py
        from .realistic_blur import realistic_blur  # noqa: PLC0415
        return realistic_blur(image, rng, **options)
    raise ValueError(f"degrade: unknown kind {kind!r}; use one of {', '.join(KINDS)}")


def degrade(images: Any, kind: str, seed: int = 0, index_offset: int = 0, **options: Any) -> Any:
    """Degrade a batch (N, C, H, W) float in [0, 1]: image i uses ``default_rng((seed, index_offset + i))``.

    The result does not depend on how the set is cut into batches (pass each batch's start as ``index_offset``).
    Returns float32 (N, C, H, W) on the input's device.
    """
    if images.ndim != 4:
        raise ValueError(f"degrade: expected a batch (N, C, H, W), got shape {tuple(images.shape)}")
    xp = get_array_module(images)
    x = images.astype(np.float32) if images.dtype != np.float32 else images
    if kind in ("bicubic", "bilinear"):  # no randomness; Pillow handles the batch in one call
        return resize_down_up(x, options.get("scale", 4), kind)
    out = [degrade_one(x[i], kind, np.random.default_rng((seed, index_offset + i)), **options)
           for i in range(len(x))]
    return xp.stack(out).astype(np.float32, copy=False)


def degrade_test_set(images: Any, kind: str, seed: int = 0, cache: Optional[PathLike] = None,
                     batch: int = 256, **options: Any) -> np.ndarray:
    """Degrade a whole test set once with a fixed seed, so every model is scored on the same inputs.

    ``images``: (N, C, H, W) float in [0, 1] or uint8 (it is processed ``batch`` images at a time). With ``cache``
    (a .npz path), the result is saved there with its recipe and reloaded next time if the recipe and the clean
    images are unchanged. Returns float32 (N, C, H, W) on the CPU.
    """
    src = np.asarray(to_device(images, "cpu"))
    recipe: Dict[str, Any] = {"kind": kind, "seed": seed, "options": options, "shape": list(src.shape),
                              "clean_md5": hashlib.md5(np.ascontiguousarray(src).tobytes()).hexdigest()}
    key = json.dumps(recipe, sort_keys=True, default=str)
    if cache is not None and Path(cache).is_file():
        with np.load(cache, allow_pickle=False) as z:
            if str(z["recipe"]) == key:
                return z["degraded"]
    out = np.empty(src.shape, dtype=np.float32)
    for start in range(0, len(src), batch):
        chunk = src[start:start + batch]
        chunk = from_uint8(chunk) if chunk.dtype == np.uint8 else chunk.astype(np.float32)
        out[start:start + batch] = degrade(chunk, kind, seed=seed, index_offset=start, **options)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(f"{cache}.{os.getpid()}.tmp.npz")   # one per process: two runs may build the same cache at once
        np.savez(tmp, degraded=out, recipe=np.asarray(key))
        tmp.replace(cache)
    return out


class Degrader:
    """A DataLoader transform: ``images -> (degraded, images)``, reproducible for a seed.

    Call ``n`` uses indices ``n * 1_000_000 + i`` of the seed's stream, so a training run draws fresh degradations
    for every batch (as the course notebook re-drew its blur on every access) and the same ones on every rerun.
    """

    def __init__(self, kind: str, seed: int = 0, **options: Any) -> None:
        if kind not in KINDS:
            raise ValueError(f"Degrader: unknown kind {kind!r}; use one of {', '.join(KINDS)}")
        self.kind, self.seed, self.options, self.calls = kind, seed, options, 0

    def __call__(self, images: Any) -> Tuple[Any, Any]:
        offset = self.calls * 1_000_000
        self.calls += 1
        return degrade(images, self.kind, seed=self.seed, index_offset=offset, **self.options), images
