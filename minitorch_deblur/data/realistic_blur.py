"""Realistic synthetic camera shake: inertial trajectories, blur in linear light, saturated highlights, sensor noise.

The course's blurs ('motion', 'shake' in degrade.py) are straight or wiggly lines convolved with the sRGB values
of a 96x96 image. A real blurred frame (GoPro, REDS, a phone) differs in four ways that a model must see in
training, and this module adds each of them, seeded (every draw comes from the ``rng`` passed in):

1. **Trajectory with inertia** (``shake_trajectory``): the camera's velocity is a random walk with momentum
   (v[t] = m v[t-1] + (1 - m) a[t], a ~ N(0, I), m ~ U[0.75, 0.97)), started with a random drift, so paths are
   smooth curves, from nearly straight lines to hooks and loops. The exposure is a random window (25 %..100 %) of a
   longer walk. The path is scaled so that its extent (the larger side of its bounding box, plus one pixel) is
   ``extent`` pixels, drawn from ``EXTENT_RANGE`` = 5..45 px at full resolution times ``scale``.
   ``rasterise`` spreads the path over a kernel with bilinear weights (sum 1, non-negative), its centroid on the
   kernel's centre, so the blurred image stays aligned with the sharp one (as GoPro pairs its middle frame).
2. **Linear light**: the sRGB gamma is undone (``srgb_to_linear``), the image is blurred, and redone.
   Light adds up in linear units, which is why a bright point on a dark ground stays a bright streak.
3. **Saturated highlights** (``saturate_highlights``): before the blur, a random fraction of the brightest pixels
   (0.1 %..2 % of the image, and only near-clipped ones: a channel at sRGB 0.92 or more, where the photo's true
   radiance is unknown) is scaled by 1.5..5 above 1.0, the radiance a clipped sensor pixel had; the result is
   clipped after the blur, so light sources become bright, hard streaks. (A floor of sRGB 0.74 turned sunlit
   gravel of a TRAIN crop into hundreds of light sources; the floor is where a pixel may have been clipped.)
4. **Sensor noise** (``add_sensor_noise``): Poisson-Gaussian in linear light, variance = shot * signal + read^2
   (the heteroscedastic Gaussian model of Foi et al. 2008), then optional JPEG re-compression with Pillow at a
   random quality (``jpeg_recompress``).
5. **Mildly non-uniform blur** (optional): a small camera rotation about the image centre is added to the
   translation. The kernel of 2 (one per side) or 4 (one per corner) anchor points is rasterised from that anchor's
   motion, the image is blurred with each (one FFT of the image, one per kernel) and the results are blended with
   bilinear weights across the image. The rotation is sized so a corner moves 10 %..50 % of the extent.

**Scale.** ``EXTENT_RANGE`` is in pixels of a full-resolution frame, ``FULL_RESOLUTION`` = 1280 px on the long side
(a 1280x720 GoPro frame, where real shake is 10-40 px). A crop keeps the scale of the photo it was cut from, not of
the crop: pass ``scale = long side of that photo / 1280`` (``scale_for``): a crop of a 481x321 BSDS photo gets
``scale`` 0.38 (2-17 px), one of a 1024x768 photo 0.8 (4-36 px), a crop of a 320x180 REDS-sized frame 0.25. The
default ``scale=1.0`` means the crop is from a full-resolution frame.

Speed: the blur is an FFT convolution (NumPy's pocketfft) with reflect borders; everything is NumPy (no SciPy).
``benchmarks/realistic_blur_examples.py`` measures it: a 96x96 crop takes 3-6 ms, a 256x256 one 12-20 ms on one
CPU core (uniform without JPEG .. non-uniform with JPEG), well under a training step's time.

Entry points: ``realistic_blur(image, rng, ...)`` for one (C, H, W) image, and the degradation kind 'realistic' of
degrade.py (``degrade(images, 'realistic', seed, scale=...)``), whose options are ``realistic_blur``'s keywords.
"""
from __future__ import annotations

import io
import math
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from ..backend import get_array_module, to_device

EXTENT_RANGE = (5.0, 45.0)   # blur extent in pixels at full resolution (the long side FULL_RESOLUTION)
FULL_RESOLUTION = 1280       # long side of the full-resolution frame the extents refer to (1280x720 GoPro)
Range = Tuple[float, float]


def scale_for(width: int, height: int, full_resolution: int = FULL_RESOLUTION) -> float:
    """The ``scale`` for crops of a ``width`` x ``height`` photo: its long side over ``full_resolution``."""
    return max(width, height) / float(full_resolution)


# --------------------------------------------------------------------------------------------- gamma (sRGB) ---

def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1: x / 12.92 below 0.04045, else ((x + 0.055) / 1.055) ** 2.4 (same dtype)."""
    x = np.asarray(x)
    return np.where(x <= 0.04045, x / 12.92, ((np.maximum(x, 0.04045) + 0.055) / 1.055) ** 2.4).astype(x.dtype)


def linear_to_srgb(y: np.ndarray) -> np.ndarray:
    """The inverse of ``srgb_to_linear``: 12.92 y below 0.0031308, else 1.055 y ** (1 / 2.4) - 0.055."""
    y = np.asarray(y)
    out = np.where(y <= 0.0031308, 12.92 * y, 1.055 * np.maximum(y, 0.0031308) ** (1 / 2.4) - 0.055)
    return out.astype(y.dtype)


# ------------------------------------------------------------------------------------------------ trajectory ---

def shake_trajectory(rng: np.random.Generator, extent: float, steps: int = 256,
                     momentum: Optional[float] = None, exposure: Optional[float] = None) -> np.ndarray:
    """A camera-shake path (n, 2) of (x, y) pixel positions, its extent ``extent`` px (bounding box + 1).

    The velocity is a random walk with momentum ``m`` (default U[0.75, 0.97)): v[t] = m v[t-1] + (1 - m) a[t] with
    a[t] ~ N(0, I) and v[0] a random drift of length U[0, 1.5); the position is its running sum over ``steps``
    samples. The exposure is the window of the first ``exposure`` (default U[0.25, 1)) of the walk, so short
    exposures are near-straight and long ones curve. The window is then scaled to the extent.
    """
    m = float(rng.uniform(0.75, 0.97)) if momentum is None else float(momentum)
    frac = float(rng.uniform(0.25, 1.0)) if exposure is None else float(exposure)
    angle = rng.uniform(0.0, 2 * math.pi)
    v0 = np.array([math.cos(angle), math.sin(angle)]) * rng.uniform(0.0, 1.5)
    acc = rng.standard_normal((steps, 2))
    # AR(1) velocity: v[t] = m^t v0 + (1 - m) sum_{s<=t} m^(t-s) a[s], as a geometric-weighted running sum
    v = np.empty((steps, 2))
    cur = v0
    for t in range(steps):
        cur = m * cur + (1.0 - m) * acc[t]
        v[t] = cur
    n = max(2, int(round(frac * steps)))
    pos = np.cumsum(v[:n], axis=0)
    pos -= pos[0]
    span = float((pos.max(axis=0) - pos.min(axis=0)).max())
    target = max(float(extent) - 1.0, 0.0)
    return pos * (target / span) if span > 0 else pos


def _resample_centred(path: np.ndarray) -> np.ndarray:
    """The path resampled at 4 points per pixel of its length (equal time per sample), its mean at (0, 0)."""
    p = np.asarray(path, dtype=np.float64)
    seg = np.hypot(*np.diff(p, axis=0).T) if len(p) > 1 else np.zeros(0)
    length = float(seg.sum())
    if length > 0:
        s = np.concatenate([[0.0], np.cumsum(seg)])
        t = np.linspace(0.0, length, max(2, int(math.ceil(4 * length)) + 1))
        p = np.stack([np.interp(t, s, p[:, 0]), np.interp(t, s, p[:, 1])], axis=1)
    return p - p.mean(axis=0)


def _min_size(p: np.ndarray) -> int:
    return 2 * int(math.ceil(float(np.abs(p).max()) if len(p) else 0.0)) + 3


def rasterise(path: np.ndarray, size: Optional[int] = None) -> np.ndarray:
    """A (size, size) float32 kernel, sum 1, non-negative, of a path (n, 2) of (x, y) positions.

    The path is resampled at 4 points per pixel of its length (the camera spends equal time per sample) and each
    point's weight is shared among its 4 neighbouring pixels with bilinear weights. The path's centroid lands on the
    kernel's centre ``size // 2`` (exactly: bilinear splatting keeps the mean), so blurring does not shift the image.
    ``size`` (odd) defaults to the smallest that holds the path.
    """
    p = _resample_centred(path)
    need = _min_size(p)
    size = need if size is None else int(size)
    if size % 2 == 0 or size < need:
        raise ValueError(f"rasterise: size must be odd and at least {need}, got {size}")
    c = size // 2
    x, y = p[:, 0] + c, p[:, 1] + c
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    k = np.zeros((size, size), dtype=np.float64)
    for ox, oy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(k, (y0 + oy, x0 + ox), w)
    return (k / k.sum()).astype(np.float32)


def shake_kernel(rng: np.random.Generator, extent_range: Range = EXTENT_RANGE, scale: float = 1.0,
                 **trajectory: Any) -> Tuple[np.ndarray, float]:
    """One uniform camera-shake kernel and its extent: extent ~ U(extent_range) * scale (at least 1 px)."""
    extent = max(1.0, float(rng.uniform(*extent_range)) * scale)
    return rasterise(shake_trajectory(rng, extent, **trajectory)), extent


def nonuniform_kernels(rng: np.random.Generator, height: int, width: int, extent_range: Range = EXTENT_RANGE,
                       scale: float = 1.0, anchors: Optional[int] = None, rotation_ratio: Range = (0.1, 0.5),
                       **trajectory: Any) -> Tuple[List[np.ndarray], np.ndarray, float]:
    """Kernels for a shake with a small rotation: (kernels, anchor (u, v) positions in [0, 1]^2, extent).

    The translation is ``shake_trajectory``'s path; the rotation angle theta(t) follows a second smooth walk, scaled
    so a corner of the image moves ``rotation_ratio`` (10 %..50 %) of the extent. The anchor at image position p
    (from the centre) moves by T(t) + (R(theta(t)) - I) p; each anchor's kernel is rasterised from that, all with
    one odd size. ``anchors``: 2 (left/right or top/bottom sides) or 4 (corners); default drawn from {2, 4}.
    """
    extent = max(1.0, float(rng.uniform(*extent_range)) * scale)
    path = shake_trajectory(rng, extent, **trajectory)
    n = len(path)
    spin = shake_trajectory(rng, 2.0, steps=n, exposure=1.0)[:, 0]  # a smooth 1-D walk...
    spin = (spin - spin.mean()) / max(float(np.ptp(spin)), 1e-12)    # ...of range 1
    radius = 0.5 * math.hypot(height, width)
    theta = spin * (float(rng.uniform(*rotation_ratio)) * extent / radius)
    n_anchor = int(rng.choice([2, 4])) if anchors is None else int(anchors)
    if n_anchor == 4:
        uv = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    elif n_anchor == 2:
        uv = np.array([[0.0, 0.5], [1.0, 0.5]]) if rng.random() < 0.5 else np.array([[0.5, 0.0], [0.5, 1.0]])
    else:
        raise ValueError(f"nonuniform_kernels: anchors must be 2 or 4, got {anchors}")
    cos, sin = np.cos(theta)[:, None], np.sin(theta)[:, None]
    paths = []
    for u, v in uv:
        px, py = (u - 0.5) * (width - 1), (v - 0.5) * (height - 1)
        rot = np.concatenate([cos * px - sin * py - px, sin * px + cos * py - py], axis=1)
        paths.append(path + rot)
    size = max(_min_size(_resample_centred(q)) for q in paths)
    return [rasterise(q, size) for q in paths], uv, extent


# ------------------------------------------------------------------------------------------------ convolution ---

def _fast_size(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n (FFT sizes NumPy's pocketfft handles fastest)."""
    best = 1 << max(0, (n - 1).bit_length())
    f5 = 1
    while f5 < best:
        f35 = f5
        while f35 < best:
            m = f35
            while m < n:
                m *= 2
            best = min(best, m)
            f35 *= 3
        f5 *= 5
    return best


def fft_convolve(images: np.ndarray, kernels: Union[np.ndarray, List[np.ndarray]]) -> np.ndarray:
    """Convolve (C, H, W) with one (k, k) kernel, or with each of a list of them (-> (K, C, H, W)).

    Reflect borders (as degrade.convolve2d), odd kernels anchored at their centre; the image is padded by k // 2
    (and up to a fast FFT size) and multiplied in the frequency domain: its FFT is computed once for all kernels.
    """
    single = not isinstance(kernels, (list, tuple))
    ks = [np.asarray(kernels)] if single else [np.asarray(k) for k in kernels]
    k = ks[0].shape[0]
    if any(q.shape != (k, k) for q in ks) or k % 2 == 0:
        raise ValueError(f"fft_convolve: kernels must be square, odd and of one size, got {[q.shape for q in ks]}")
    c, h, w = images.shape
    r = k // 2
    fh, fw = _fast_size(h + 2 * r), _fast_size(w + 2 * r)
    pad = np.pad(images, ((0, 0), (r, fh - h - r), (r, fw - w - r)), mode="reflect")
    spec = np.fft.rfft2(pad, axes=(-2, -1))
    outs = []
    for q in ks:
        kp = np.zeros((fh, fw), dtype=np.float32)
        kp[:k, :k] = q
        kp = np.roll(kp, (-r, -r), axis=(0, 1))   # the kernel's centre at (0, 0)
        out = np.fft.irfft2(spec * np.fft.rfft2(kp), s=(fh, fw), axes=(-2, -1))
        outs.append(out[:, r:r + h, r:r + w].astype(np.float32))
    return outs[0] if single else np.stack(outs)


def blend(blurred: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Blend (K, C, H, W) images blurred by the kernels of anchors ``uv`` (K, 2) with bilinear weights."""
    _, _, h, w = blurred.shape
    u = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    v = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    total = np.zeros(blurred.shape[1:], dtype=np.float32)
    weight_sum = np.zeros((h, w), dtype=np.float32)
    for (au, av), img in zip(uv, blurred):
        wu = 1.0 - np.abs(u - au) if au in (0.0, 1.0) else np.ones_like(u)
        wv = 1.0 - np.abs(v - av) if av in (0.0, 1.0) else np.ones_like(v)
        wgt = wu * wv
        total += wgt * img
        weight_sum += wgt
    return total / weight_sum


# ---------------------------------------------------------------------------------------- highlights, noise ---

HIGHLIGHT_FLOOR = 0.8276   # srgb_to_linear(0.92): only pixels this bright may have been clipped by the sensor


def saturate_highlights(linear: np.ndarray, rng: np.random.Generator, fraction: Range = (0.001, 0.02),
                        gain: Range = (1.5, 5.0), floor: float = HIGHLIGHT_FLOOR) -> np.ndarray:
    """Scale the brightest ``fraction`` of pixels (by their brightest channel, and only those above ``floor`` in
    linear light) by ``gain``, above 1.0: the radiance of a clipped pixel. Returns a new array."""
    peak = linear.max(axis=0)
    f = float(rng.uniform(*fraction))
    g = float(rng.uniform(*gain))
    threshold = max(float(np.quantile(peak, 1.0 - f)), floor)
    mask = peak >= threshold
    out = linear.copy()
    out[:, mask] *= np.float32(g)
    return out


def add_sensor_noise(linear: np.ndarray, rng: np.random.Generator, shot: float, read: float) -> np.ndarray:
    """Poisson-Gaussian noise in linear light: x + sqrt(shot * x + read^2) N(0, 1) (variance grows with x)."""
    var = shot * np.maximum(linear, 0.0) + read * read
    noise = rng.standard_normal(linear.shape, dtype=np.float32)
    return linear + np.sqrt(var).astype(np.float32) * noise


def jpeg_recompress(image: np.ndarray, quality: int) -> np.ndarray:
    """Round (C, H, W) float in [0, 1] to uint8, encode as JPEG at ``quality`` with Pillow, decode; float32."""
    from PIL import Image  # noqa: PLC0415

    u8 = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    arr = u8[0] if u8.shape[0] == 1 else u8.transpose(1, 2, 0)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr)).save(buf, format="JPEG", quality=int(quality))
    dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())))
    dec = dec[None] if dec.ndim == 2 else dec.transpose(2, 0, 1)
    return dec.astype(np.float32) / 255.0


# -------------------------------------------------------------------------------------------- entry point ---

def _chance(rng: np.random.Generator, p: Union[bool, float]) -> bool:
    p = float(p)
    return p >= 1.0 or (p > 0.0 and rng.random() < p)


def realistic_blur(image: Any, rng: np.random.Generator, scale: float = 1.0, extent_range: Range = EXTENT_RANGE,
                   highlights: Union[bool, float] = 1.0, highlight_fraction: Range = (0.001, 0.02),
                   highlight_gain: Range = (1.5, 5.0), noise: Union[bool, float] = 1.0,
                   shot_range: Range = (1e-4, 4e-3), read_range: Range = (5e-4, 5e-3),
                   jpeg: Union[bool, float] = 0.5, quality_range: Tuple[int, int] = (60, 95),
                   nonuniform: Union[bool, float] = 0.5, return_info: bool = False) -> Any:
    """Blur one (C, H, W) sRGB image in [0, 1] as a shaking camera would; float32 (C, H, W) in [0, 1].

    sRGB -> linear; with probability ``highlights`` the brightest pixels go above 1.0; blur with a camera-shake
    kernel of extent U(extent_range) * ``scale`` px (with probability ``nonuniform`` a rotating shake, 2 or 4
    kernels blended across the image); with probability ``noise`` Poisson-Gaussian noise (shot ~ log-U(shot_range),
    read std ~ log-U(read_range)); clip to [0, 1]; linear -> sRGB; with probability ``jpeg`` JPEG re-compression
    at quality ~ randint(quality_range) inclusive. The boolean options accept True/False or a probability.
    ``return_info``: also return a dict with the kernels, anchors, extent and every drawn parameter.
    The result is on the input's device (the work is done with NumPy on the CPU).
    """
    xp = get_array_module(image)
    x = np.asarray(to_device(image, "cpu"), dtype=np.float32)
    if x.ndim != 3 or x.shape[0] not in (1, 3):
        raise ValueError(f"realistic_blur: expected one image (C, H, W) with C 1 or 3, got {tuple(x.shape)}")
    _, h, w = x.shape
    info: Dict[str, Any] = {"scale": scale}
    lin = srgb_to_linear(np.clip(x, 0.0, 1.0))
    if _chance(rng, highlights):
        lin = saturate_highlights(lin, rng, highlight_fraction, highlight_gain)
        info["highlights"] = True
    if _chance(rng, nonuniform):
        kernels, uv, extent = nonuniform_kernels(rng, h, w, extent_range, scale)
        blurred = blend(fft_convolve(lin, kernels), uv)
        info.update(kernels=kernels, anchors=uv, extent=extent, nonuniform=True)
    else:
        kernel, extent = shake_kernel(rng, extent_range, scale)
        blurred = fft_convolve(lin, kernel)
        info.update(kernels=[kernel], anchors=np.array([[0.5, 0.5]]), extent=extent, nonuniform=False)
    if _chance(rng, noise):
        shot = float(np.exp(rng.uniform(np.log(shot_range[0]), np.log(shot_range[1]))))
        read = float(np.exp(rng.uniform(np.log(read_range[0]), np.log(read_range[1]))))
        blurred = add_sensor_noise(blurred, rng, shot, read)
        info.update(shot=shot, read=read)
    out = linear_to_srgb(np.clip(blurred, 0.0, 1.0)).astype(np.float32)
    if _chance(rng, jpeg):
        quality = int(rng.integers(quality_range[0], quality_range[1] + 1))
        out = jpeg_recompress(out, quality)
        info["quality"] = quality
    out = np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)
    res = out if xp is np else to_device(out, "cuda")
    return (res, info) if return_info else res
