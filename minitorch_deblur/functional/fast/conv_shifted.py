"""Stride-1 convolution on shifted runs of a row-padded image: the fast path beside im2col.

Chosen by the dispatcher (dispatch.py) for every stride-1 convolution that is neither 1x1 (conv_pointwise.py) nor big
enough for the DFT (conv_fft.py): its forward, its input gradient and its weight gradient. The
textbook im2col path in ../conv.py stays the reference and is tested equal to this one (tests/test_conv_paths.py).

**Why.** ``im2col`` copies every window row separately: Wo numbers at a time, kh*kw*C times per output pixel, into a
matrix kh*kw times larger than the image. For stride 1 the windows line up better. Pad each image by p on every
side plus one spare row at the bottom and lay each channel out flat with row length Wp = W + 2p. Kernel offset
(i, j) of *every* output pixel of one image is then one contiguous run of that flat channel: it starts at
i*Wp + j and is Ho*Wp long. Output (ho, wo) sits at ho*Wp + wo of the run. The last Wp - Wo positions of each row
wrap around into the next row; they are computed and thrown away (a 3x3 on 32x32 computes 34/32 = 1.06x the
outputs it keeps, a 7x7 38/32 = 1.19x).

**Two algorithms on those runs**, chosen by which side has fewer channels (each moves the smaller amount):

- unfold (C <= O): copy the C*kh*kw runs into a column matrix U, then one GEMM, y = W (O, C*kh*kw) @ U.
- fold (O < C): one GEMM first, Z = W' (kh*kw*O, C) @ xpad, then add the kh*kw shifted runs of Z,
  y[o, q] = sum_ij Z[(i, j, o), q + i*Wp + j]. It moves kh*kw*O numbers per pixel instead of kh*kw*C.

The batch is processed in chunks so that no temporary is larger than ``CHUNK_BYTES``: nothing holds a kh*kw-times
copy of a whole activation, and the buffers stay small enough to be reused chunk after chunk.

**Gradients** (stride 1), with gE = dy laid on the same row-padded grid (zeros at the wrap-around positions):

- dx = this same convolution of dy with the kernel flipped and its channels swapped, padding k - 1 - p;
- dW = sum over chunks of gE @ U.T (unfold x), or when O < C the cheaper mirror image: unfold gE backwards,
  V[(o, i, j), r] = gE[o, r - i*Wp - j], and dW.T = xpad @ V.T.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

from ...backend import get_array_module

CHUNK_BYTES = 16 << 20  # the largest temporary of one chunk of images (columns or GEMM output); fewer, bigger chunks
#                          keep the fold's kh*kw Python-level adds per chunk cheap
ALGORITHMS = ("unfold", "fold")


def choose(c_in: int, c_out: int) -> str:
    """'fold' when the output has fewer channels than the input, else 'unfold' (see the module docstring)."""
    return "fold" if c_out < c_in else "unfold"


class _Grid:
    """The row-padded layout of one image: padded size (hp, wp), output size (ho, wo), run and plane lengths."""

    def __init__(self, shape: Tuple[int, ...], kernel: Tuple[int, int], padding: Tuple[int, int]) -> None:
        _, c, h, w = shape
        self.c, self.kernel, self.padding = c, kernel, padding
        self.hp, self.wp = h + 2 * padding[0], w + 2 * padding[1]
        self.ho, self.wo = self.hp - kernel[0] + 1, self.wp - kernel[1] + 1
        self.run = self.ho * self.wp                    # one kernel offset's run: every output of one image
        self.plane = (self.hp + 1) * self.wp            # one padded channel, with the spare bottom row
        self.reach = (kernel[0] - 1) * self.wp + kernel[1] - 1   # the largest offset i*wp + j

    def chunk(self, n: int, per_image_floats: int, itemsize: int) -> int:
        """How many images per chunk keep the largest temporary under CHUNK_BYTES (at least one)."""
        return max(1, min(n, CHUNK_BYTES // max(1, per_image_floats * itemsize)))

    def pad_buffer(self, x: Any, images: int) -> Any:
        """A zeroed (C, images, Hp + 1, Wp) buffer for ``padded``: its borders stay zero chunk after chunk."""
        return get_array_module(x).zeros((self.c, images, self.hp + 1, self.wp), dtype=x.dtype)

    def padded(self, x: Any, n0: int, n1: int, buf: Any) -> Any:
        """Images n0:n1 of x (N, C, H, W), zero-padded, channel-major (C, nb, plane), written into ``buf``."""
        (ph, pw), (h, w) = self.padding, x.shape[2:]
        out = buf[:, :n1 - n0]
        out[:, :, ph:ph + h, pw:pw + w] = x[n0:n1].transpose(1, 0, 2, 3)
        return out

    def unfold(self, xpad: Any, buf: Any) -> Any:
        """The column matrix (C*kh*kw, nb*run) of a padded chunk (C, nb, plane): one run per (c, i, j, image)."""
        xp = get_array_module(xpad)
        c, nb = xpad.shape[:2]
        kh, kw = self.kernel
        sc, sn, _, sw = xpad.strides
        runs = xp.lib.stride_tricks.as_strided(xpad, shape=(c, kh, kw, nb, self.run),
                                               strides=(sc, self.wp * sw, sw, sn, sw))
        cols = buf[:c * kh * kw * nb * self.run].reshape(c, kh, kw, nb, self.run)
        xp.copyto(cols, runs)
        return cols.reshape(c * kh * kw, nb * self.run)

    def crop(self, grid: Any, out: Any, bias: Optional[Any]) -> None:
        """(O, nb, run) outputs on the grid -> out (nb, O, Ho, Wo): drop the wrap-around, add the bias."""
        xp = get_array_module(grid)
        o, nb = grid.shape[:2]
        kept = grid.reshape(o, nb, self.ho, self.wp)[:, :, :, :self.wo].transpose(1, 0, 2, 3)
        if bias is None:
            xp.copyto(out, kept)
        else:
            xp.add(kept, bias.reshape(1, -1, 1, 1), out=out)


def conv2d_shifted(x: Any, weight: Any, bias: Optional[Any], padding: Tuple[int, int],
                   algorithm: Optional[str] = None) -> Any:
    """Stride-1 conv2d, x (N, C, H, W), weight (O, C, kh, kw), bias (O,) or None -> (N, O, Ho, Wo)."""
    xp = get_array_module(x)
    o, c, kh, kw = weight.shape
    algorithm = algorithm or choose(c, o)
    g = _Grid(x.shape, (kh, kw), padding)
    n = x.shape[0]
    out = xp.empty((n, o, g.ho, g.wo), dtype=x.dtype)
    if algorithm == "unfold":
        per_image, w_mat = c * kh * kw * g.run, weight.reshape(o, -1)
    else:   # rows (i, j, o) of the fold GEMM
        per_image, w_mat = kh * kw * o * g.plane, xp.ascontiguousarray(weight.transpose(2, 3, 0, 1)).reshape(-1, c)
    step = g.chunk(n, per_image, x.dtype.itemsize)
    pad_buf = g.pad_buffer(x, step)
    cols_buf = xp.empty(per_image * step, dtype=x.dtype) if algorithm == "unfold" else None
    for n0 in range(0, n, step):
        n1 = min(n, n0 + step)
        xpad = g.padded(x, n0, n1, pad_buf)
        nb = n1 - n0
        if algorithm == "unfold":
            grid = (w_mat @ g.unfold(xpad, cols_buf)).reshape(o, nb, g.run)
        else:
            z = (w_mat @ xpad.reshape(c, nb * g.plane)).reshape(kh, kw, o, nb, g.plane)
            grid = z[0, 0, :, :, :g.run].copy()
            for i in range(kh):
                for j in range(kw):
                    if i or j:
                        grid += z[i, j, :, :, i * g.wp + j:i * g.wp + j + g.run]
        g.crop(grid, out[n0:n1], bias)
    return out


def conv2d_shifted_input_grad(grad: Any, weight: Any, padding: Tuple[int, int],
                              algorithm: Optional[str] = None) -> Any:
    """dx of a stride-1 conv2d with padding p < k: the conv of dy with the flipped kernel, padding k - 1 - p."""
    kh, kw = weight.shape[2:]
    flipped = get_array_module(weight).ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return conv2d_shifted(grad, flipped, None, (kh - 1 - padding[0], kw - 1 - padding[1]), algorithm)


def conv2d_shifted_weight_grad(x: Any, grad: Any, kernel: Tuple[int, int], padding: Tuple[int, int],
                               algorithm: Optional[str] = None) -> Any:
    """dW (O, C, kh, kw) of a stride-1 conv2d from x (N, C, H, W) and dy (N, O, Ho, Wo)."""
    xp = get_array_module(x)
    n, c = x.shape[:2]
    o = grad.shape[1]
    kh, kw = kernel
    algorithm = algorithm or choose(c, o)
    g = _Grid(x.shape, kernel, padding)
    if algorithm == "unfold":   # dW = gE @ U.T
        per_image, grad_len, grad_at = c * kh * kw * g.run, g.run, 0
    else:                       # dW.T = xpad @ V.T, gE placed after `reach` zeros so V can look back
        per_image, grad_len, grad_at = o * kh * kw * g.plane, g.reach + g.plane, g.reach
    step = g.chunk(n, per_image, x.dtype.itemsize)
    cols_buf = xp.empty(per_image * step, dtype=x.dtype)
    grad_buf = xp.zeros((o, step, grad_len), dtype=x.dtype)
    total = xp.zeros((o, c * kh * kw) if algorithm == "unfold" else (c, o * kh * kw), dtype=x.dtype)
    pad_buf = g.pad_buffer(x, step)
    for n0 in range(0, n, step):
        n1 = min(n, n0 + step)
        nb = n1 - n0
        xpad = g.padded(x, n0, n1, pad_buf)
        g_e = grad_buf[:, :nb]
        g_e[:, :, grad_at:grad_at + g.run].reshape(o, nb, g.ho, g.wp)[:, :, :, :g.wo] = \
            grad[n0:n1].transpose(1, 0, 2, 3)
        if algorithm == "unfold":
            total += g_e.reshape(o, nb * g.run) @ g.unfold(xpad, cols_buf).T
        else:
            so, sn, sw = g_e.strides
            looking_back = xp.lib.stride_tricks.as_strided(
                g_e[:, :, g.reach:], shape=(o, kh, kw, nb, g.plane), strides=(so, -g.wp * sw, -sw, sn, sw))
            v = cols_buf[:o * kh * kw * nb * g.plane].reshape(o, kh, kw, nb, g.plane)
            xp.copyto(v, looking_back)
            total += xpad.reshape(c, nb * g.plane) @ v.reshape(o * kh * kw, nb * g.plane).T
    if algorithm == "unfold":
        return total.reshape(o, c, kh, kw)
    return xp.ascontiguousarray(total.reshape(c, o, kh, kw).transpose(1, 0, 2, 3))
