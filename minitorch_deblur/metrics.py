"""Evaluation metrics on raw NumPy or CuPy arrays: accuracy, MSE, PSNR, SSIM.

Restoration results follow one rule (see REFERENCE.md): RGB in [0, 1] with MAX = 1, PSNR and SSIM computed per
image and averaged over the set, no border crop. A batch is (N, C, H, W); a single image is (C, H, W) or (H, W).
Results are Python floats (``reduction='mean'``) or per-image arrays (``reduction='none'``).
"""
from __future__ import annotations

import math
from typing import Any, Tuple, Union

import numpy as np

from .backend import get_array_module, shape_str, to_device

Range = Union[float, Tuple[float, float]]
SSIM_CHUNK = 64  # images per step of the SSIM computation
RANGE_TOL = 1e-3  # how far (as a fraction of the range) values may stray outside it: float rounding, not real data


def accuracy(logits_or_pred: Any, labels: Any) -> float:
    """Fraction of correct predictions: ``logits (N, K)`` are turned into ``argmax(1)``; ``pred (N,)`` is used as is."""
    xp = get_array_module(logits_or_pred, labels)
    pred = logits_or_pred.argmax(axis=1) if logits_or_pred.ndim == 2 else logits_or_pred
    if pred.shape != labels.shape:
        raise ValueError(f"accuracy: predictions {shape_str(pred.shape)} and labels {shape_str(labels.shape)} differ; "
                         "pass logits (N, K) or predicted classes (N,) with labels (N,)")
    return float(xp.mean(pred == labels))


def _batch(x: Any, name: str) -> Any:
    """(H, W) -> (1, 1, H, W); (C, H, W) -> (1, C, H, W); (N, C, H, W) unchanged."""
    if x.ndim == 2:
        return x[None, None]
    if x.ndim == 3:
        return x[None]
    if x.ndim == 4:
        return x
    raise ValueError(f"{name}: expected an image (H, W) / (C, H, W) or a batch (N, C, H, W), got {shape_str(x.shape)}")


def _pair(x: Any, y: Any, name: str) -> Tuple[Any, Any, Any]:
    if tuple(x.shape) != tuple(y.shape):
        raise ValueError(f"{name}: the two images must have the same shape, got {shape_str(x.shape)} and "
                         f"{shape_str(y.shape)}")
    xp = get_array_module(x, y)
    return xp, _batch(x, name).astype(xp.float64), _batch(y, name).astype(xp.float64)


def _range(data_range: Range) -> Tuple[float, float]:
    lo, hi = (0.0, float(data_range)) if np.isscalar(data_range) else (float(data_range[0]), float(data_range[1]))
    if not hi > lo:
        raise ValueError(f"data_range must be MAX > 0 (values in [0, MAX]) or (low, high) with high > low, "
                         f"got {data_range}")
    return lo, hi


def assert_in_range(x: Any, data_range: Range, name: str) -> None:
    """Raise if ``x`` leaves the stated range by more than float rounding (``RANGE_TOL`` of the range)."""
    lo, hi = _range(data_range)
    xp = get_array_module(x)
    tol = RANGE_TOL * (hi - lo)
    xmin, xmax = float(xp.min(x)), float(xp.max(x))
    if xmin < lo - tol or xmax > hi + tol:
        raise ValueError(f"{name}: values span [{xmin:.4g}, {xmax:.4g}] but data_range says [{lo:g}, {hi:g}]. "
                         "State the true range (data_range=255 for uint8, (-1, 1) for tanh outputs) or clip first "
                         "(x.clip(0, 1)); check_range=False skips this check.")


def mse(x: Any, y: Any, reduction: str = "mean") -> Any:
    """Mean squared error per image, then averaged (or per image with ``reduction='none'``)."""
    xp, a, b = _pair(x, y, "mse")
    per = ((a - b) ** 2).reshape(a.shape[0], -1).mean(axis=1)
    return _reduce(per, reduction, "mse")


def psnr(x: Any, y: Any, data_range: Range = 1.0, reduction: str = "mean", check_range: bool = True) -> Any:
    """PSNR = 10 log10(R^2 / MSE) in dB, R = high - low of ``data_range`` (MAX = 1 for [0, 1] images).

    Computed per image and averaged over the batch (the evaluation rule). Identical images give +inf.
    Values outside ``data_range`` by more than rounding raise a ValueError.
    """
    xp, a, b = _pair(x, y, "psnr")
    lo, hi = _range(data_range)
    if check_range:
        _check_both(a, b, data_range, "psnr")
    per = ((a - b) ** 2).reshape(a.shape[0], -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        val = 10.0 * xp.log10((hi - lo) ** 2 / per)
    return _reduce(val, reduction, "psnr")


def _check_both(a: Any, b: Any, data_range: Range, name: str) -> None:
    assert_in_range(a, data_range, f"{name} (first image)")
    assert_in_range(b, data_range, f"{name} (second image)")


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """1-D Gaussian of ``size`` taps, sum 1 (the SSIM window is its outer product with itself)."""
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(r ** 2) / (2.0 * sigma ** 2))
    return g / g.sum()


def _filter_valid(x: Any, g: np.ndarray) -> Any:
    """Separable 'valid' filtering of (..., H, W) with the outer product of ``g``: output (..., H-k+1, W-k+1)."""
    k = len(g)
    h, w = x.shape[-2:]
    rows = sum(float(g[i]) * x[..., i:i + h - k + 1, :] for i in range(k))
    return sum(float(g[j]) * rows[..., :, j:j + w - k + 1] for j in range(k))


def ssim(x: Any, y: Any, data_range: Range = 1.0, reduction: str = "mean", check_range: bool = True,
         win_size: int = 11, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> Any:
    """Structural similarity (Wang et al. 2004), per channel, averaged over channels, then over images.

    Local statistics use an 11x11 Gaussian window (sigma 1.5) over the positions where it fits entirely ('valid'),
    with population (biased) variances and covariance: the convention of Wang et al.'s reference MATLAB code and of
    ``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    data_range=R)``, whose mean over its cropped interior is this value.
    SSIM map = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)), C1 = (K1 R)^2,
    C2 = (K2 R)^2. Needs H, W >= 11. Computed in float64.
    """
    xp, a, b = _pair(x, y, "ssim")
    lo, hi = _range(data_range)
    if check_range:
        _check_both(a, b, data_range, "ssim")
    if min(a.shape[-2:]) < win_size:
        raise ValueError(f"ssim: images {shape_str(a.shape[-2:])} are smaller than the {win_size}x{win_size} window; "
                         "use larger images or a smaller win_size")
    g = gaussian_window(win_size, sigma)
    c1, c2 = (k1 * (hi - lo)) ** 2, (k2 * (hi - lo)) ** 2
    per = []
    for i in range(0, a.shape[0], SSIM_CHUNK):  # bounded memory for a whole test set
        x, y = a[i:i + SSIM_CHUNK], b[i:i + SSIM_CHUNK]
        mu_x, mu_y = _filter_valid(x, g), _filter_valid(y, g)
        sxx = _filter_valid(x * x, g) - mu_x * mu_x
        syy = _filter_valid(y * y, g) - mu_y * mu_y
        sxy = _filter_valid(x * y, g) - mu_x * mu_y
        smap = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (sxx + syy + c2))
        per.append(smap.mean(axis=(2, 3)).mean(axis=1))  # per channel, then the channel mean
    return _reduce(xp.concatenate(per), reduction, "ssim")


def _reduce(per_image: Any, reduction: str, name: str) -> Any:
    if reduction == "none":
        return per_image
    if reduction == "mean":
        return float(to_device(per_image, "cpu").mean())
    raise ValueError(f"{name}: reduction must be 'mean' or 'none', got {reduction!r}")


def psnr_from_mse(mse_value: float, data_range: float = 1.0) -> float:
    """10 log10(R^2 / MSE): e.g. the course's printed test MSE 0.0028165 -> 25.50 dB."""
    return math.inf if mse_value == 0 else 10.0 * math.log10(data_range ** 2 / mse_value)
