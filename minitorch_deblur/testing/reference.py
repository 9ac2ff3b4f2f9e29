"""Naive loop references for the convolution and pooling operators (test oracles, not for speed).

Plain Python loops over output positions in float64 on NumPy arrays, written independently of im2col so that
they can check it. Same signatures as the functional operators, but raw arrays in and out.
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

import numpy as np

IntPair = Union[int, Tuple[int, int]]


def _pair(v: IntPair) -> Tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _pad(x: np.ndarray, padding: Tuple[int, int], value: float = 0.0) -> np.ndarray:
    ph, pw = padding
    out = np.full((x.shape[0], x.shape[1], x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), value, dtype=np.float64)
    out[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]] = x
    return out


def conv2d(x: np.ndarray, weight: np.ndarray, bias: Optional[np.ndarray] = None, stride: IntPair = 1,
           padding: IntPair = 0) -> np.ndarray:
    """y[n, o, i, j] = b[o] + sum_{c, u, v} x_pad[n, c, i*s + u, j*s + v] * W[o, c, u, v]."""
    (sh, sw), p = _pair(stride), _pair(padding)
    x = _pad(np.asarray(x, dtype=np.float64), p)
    w = np.asarray(weight, dtype=np.float64)
    n, _, hp, wp = x.shape
    o, _, kh, kw = w.shape
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    y = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]          # (N, C, kh, kw)
            y[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w)
    if bias is not None:
        y += np.asarray(bias, dtype=np.float64)[None, :, None, None]
    return y


def conv_transpose2d(x: np.ndarray, weight: np.ndarray, bias: Optional[np.ndarray] = None, stride: IntPair = 1,
                     padding: IntPair = 0, output_padding: IntPair = 0) -> np.ndarray:
    """Scatter: each input pixel (n, c, i, j) adds x * W[c] onto the output window at (i*s - p, j*s - p)."""
    (sh, sw), (ph, pw), (oh, ow) = _pair(stride), _pair(padding), _pair(output_padding)
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    n, _, h, wd = x.shape
    _, cout, kh, kw = w.shape
    ho, wo = (h - 1) * sh - 2 * ph + kh + oh, (wd - 1) * sw - 2 * pw + kw + ow
    full = np.zeros((n, cout, ho + 2 * ph, wo + 2 * pw))                      # output before cropping the padding
    for i in range(h):
        for j in range(wd):
            full[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += np.einsum("nc,cohw->nohw", x[:, :, i, j], w)
    y = full[:, :, ph:ph + ho, pw:pw + wo].copy()
    if bias is not None:
        y += np.asarray(bias, dtype=np.float64)[None, :, None, None]
    return y


def max_pool2d(x: np.ndarray, kernel_size: IntPair, stride: Optional[IntPair] = None,
               padding: IntPair = 0) -> np.ndarray:
    """Maximum over each window; padding counts as -inf."""
    (kh, kw) = _pair(kernel_size)
    (sh, sw), p = _pair(kernel_size if stride is None else stride), _pair(padding)
    x = _pad(np.asarray(x, dtype=np.float64), p, value=-np.inf)
    n, c, hp, wp = x.shape
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    y = np.empty((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            y[:, :, i, j] = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(2, 3))
    return y


def avg_pool2d(x: np.ndarray, kernel_size: IntPair, stride: Optional[IntPair] = None, padding: IntPair = 0,
               count_include_pad: bool = True) -> np.ndarray:
    """Mean over each window; zero padding is counted in the divisor when count_include_pad, else excluded."""
    (kh, kw) = _pair(kernel_size)
    (sh, sw), p = _pair(kernel_size if stride is None else stride), _pair(padding)
    xf = np.asarray(x, dtype=np.float64)
    xpad = _pad(xf, p)
    inside = _pad(np.ones((1, 1) + xf.shape[2:]), p)                          # 1 on real pixels, 0 on padding
    n, c, hp, wp = xpad.shape
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    y = np.empty((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = (slice(None), slice(None), slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw))
            count = kh * kw if count_include_pad else inside[window].sum()
            y[:, :, i, j] = xpad[window].sum(axis=(2, 3)) / count
    return y


def upsample_nearest2d(x: np.ndarray, scale_factor: int = 2) -> np.ndarray:
    """y[n, c, i, j] = x[n, c, i // s, j // s]."""
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    s = int(scale_factor)
    y = np.empty((n, c, h * s, w * s))
    for i in range(h * s):
        for j in range(w * s):
            y[:, :, i, j] = x[:, :, i // s, j // s]
    return y
