"""Strided convolution as a stride-1 convolution of the space-to-depth input: the fast path for stride > 1.

Chosen by the dispatcher (dispatch.py) for strided convolutions of few input channels (``worthwhile``: the GAN's first 4x4
stride-2 encoder and PatchGAN layers); the im2col reference serves the rest and is tested equal to this path.

**Why.** With stride s, kernel row di = s*q + a reads only input rows of phase a (row index = a mod s). So split the
padded input into its s*s phases, each a (H/s, W/s) image, and stack them as channels: (N, C, H, W) ->
(N, C*s*s, H/s, W/s). Split the kernel the same way: (O, C, kh, kw) -> (O, C*s*s, ceil(kh/s), ceil(kw/s)), zeros
where s*q + a >= k. The strided conv is then a stride-1, unpadded conv of the two, which runs on the fast
stride-1 paths (long contiguous runs, batch chunks) instead of im2col's short copies:

    y[o, i, j] = sum_{c, a, b, qi, qj} w[o, c, s*qi + a, s*qj + b] * xpad[c, s*(i + qi) + a, s*(j + qj) + b]

It is written with differentiable tensor operations (pad, reshape, permute, crop), so its backward pass is the
autograd engine's: no new gradient code to trust.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

from ...autograd import Tensor, as_tensor
from ..shape import getitem, pad, permute, reshape


MAX_PHASE_CHANNELS = 256   # measured: 64 -> 128 at 48x48 gains 1.5x; 128 -> 256 at 24x24 loses 1.5x


def worthwhile(c_in: int, stride: Tuple[int, int]) -> bool:
    """Whether the phases (c_in * sh * sw channels) beat im2col for a strided conv (benchmarks/ops.py)."""
    return stride != (1, 1) and c_in * stride[0] * stride[1] <= MAX_PHASE_CHANNELS


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def space_to_depth(x: Tensor, stride: Tuple[int, int], rows: int, cols: int) -> Tensor:
    """(N, C, rows, cols) with rows, cols multiples of the stride -> (N, C*sh*sw, rows/sh, cols/sw), phase-major."""
    n, c = x.shape[:2]
    sh, sw = stride
    phases = reshape(x, (n, c, rows // sh, sh, cols // sw, sw))
    return reshape(permute(phases, (0, 1, 3, 5, 2, 4)), (n, c * sh * sw, rows // sh, cols // sw))


def conv2d_space_to_depth(x: Any, weight: Any, bias: Optional[Any], stride: Tuple[int, int],
                          padding: Tuple[int, int], conv2d_stride1: Any) -> Tensor:
    """conv2d(x, weight, bias, stride, padding) through ``conv2d_stride1`` on the phases (see the module doc)."""
    x, weight = as_tensor(x), as_tensor(weight)
    (h, w), (kh, kw) = x.shape[2:], weight.shape[2:]
    (sh, sw), (ph, pw) = stride, padding
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    qh, qw = _ceil_div(kh, sh), _ceil_div(kw, sw)
    rows, cols = sh * (ho + qh - 1), sw * (wo + qw - 1)        # the padded rows / columns the windows reach
    xpad = pad(x, (pw, max(0, cols - w - pw), ph, max(0, rows - h - ph)))
    if xpad.shape[2] > rows or xpad.shape[3] > cols:           # rows past the last window are never read
        xpad = getitem(xpad, (slice(None), slice(None), slice(0, rows), slice(0, cols)))
    wpad = pad(weight, (0, qw * sw - kw, 0, qh * sh - kh))
    return conv2d_stride1(space_to_depth(xpad, stride, rows, cols),
                          space_to_depth(wpad, stride, qh * sh, qw * sw), bias)
