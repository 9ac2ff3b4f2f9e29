"""Stride-1 convolution through the discrete Fourier transform: the fast path for big kernels.

Chosen by the dispatcher (dispatch.py) for stride-1 convolutions with a kernel of at least 5x5 between layers of 16+ channels on small
images (``worthwhile``: Win5-RB's 5x5 and 7x7 middle layers); tested equal to the im2col reference on every shape
the op table draws.

**Why.** A kh x kw kernel costs 2*kh*kw multiply-adds per input channel, output channel and pixel in space. In
frequency it costs one complex multiply-add (8 real flops) per frequency, whatever the kernel size: a 7x7 conv
does ~12x fewer flops. The transforms are linear in the number of images and channels, not in their product.

**How.** On a grid of P = H + 2p rows (likewise columns) a stride-1 correlation never wraps around, so
circular correlation, which the DFT turns into a product, gives the exact output:

    y[n, o] = crop( IDFT( sum_c X[n, c] * conj(K[o, c]) ) ),     X = DFT(x placed at (p, p)), K = DFT(w)

For each frequency f the sum over c is a matrix product, Y[f] (N, O) = X[f] (N, C) @ conj(K[f]).T (C, O): one
batched complex GEMM. Each 2-D DFT is itself two matrix products with small precomputed DFT matrices (BLAS on
every core), which beats an FFT library on images this small: a real one along the rows (half the spectrum,
U = P//2 + 1 columns, as rfft does), then a complex one along the columns. The inverse takes only the rows and
columns that survive the crop.

Gradients, with G = DFT(dy placed at (0, 0)):

    dx = crop( IDFT( sum_o G[n, o] * K[o, c] ) )            (rows and columns p .. p + H of the grid)
    dW = IDFT( sum_n conj(G[n, o]) * X[n, c] ) [:kh, :kw]

float32 in, float32 out, complex64 inside (complex128 for float64, so the gradient checks stay exact).
"""
from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from typing import Any, Optional, Tuple

import numpy as np

from ...autograd import is_grad_enabled
from ...backend import get_array_module, to_device

MIN_KERNEL = 5      # 3x3: the transforms cost more than the flops they save
MIN_CHANNELS = 16   # 3 -> 64 or 32 -> 3: the GEMM in space is small anyway, the transforms are not
MAX_GRID = 64       # each 1-D DFT is a matrix product, O(P) per value: big images want an FFT, not this
CACHE_BYTES = 256 << 20  # kernel spectra remembered under no_grad (inference on many small photos): Win5-RB's
#                          on a 32x32 image take 160 MB; evicted oldest first beyond this
CHUNK_BYTES = 16 << 20   # kernel spectra of one block of output channels: 16 MB keeps Win5-RB's step at PyTorch's
#                          memory; much smaller blocks make the per-frequency GEMMs too thin (4 MB: 1.8x slower)


def worthwhile(c_in: int, c_out: int, kernel: Tuple[int, int], grid: Tuple[int, int]) -> bool:
    """Whether the DFT path beats conv_shifted for this stride-1 shape (thresholds measured with
    benchmarks/ops.py on the course's layers: 2.8x faster for Win5-RB's 7x7 128->128, slower for 3x3s)."""
    return (min(kernel) >= MIN_KERNEL and min(c_in, c_out) >= MIN_CHANNELS and max(grid) <= MAX_GRID)


@lru_cache(maxsize=64)
def _matrices(length: int, period: int, shift: int, sign: int, out_start: int, out_len: int,
              dtype_name: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DFT matrices of one axis, built in float64 on the CPU.

    rows_half (length, 2U): real input at positions shift.. -> half spectrum, columns interleaved (re, im), so a
      float GEMM's output *is* a complex array (U = period//2 + 1);
    full (period, length): complex input at positions shift.. -> full spectrum;
    inverse_half (2U, out_len): interleaved half spectrum -> real outputs out_start..out_start+out_len, with the
      Hermitian weights and the 1/period of the inverse folded in.
    The sign of the exponent is -sign (sign=1: the DFT; sign=-1: its conjugate).
    """
    u_count = period // 2 + 1
    positions = np.arange(length) + shift
    angle = -sign * 2 * np.pi * np.outer(positions, np.arange(u_count)) / period
    rows_half = np.empty((length, 2 * u_count))
    rows_half[:, 0::2], rows_half[:, 1::2] = np.cos(angle), np.sin(angle)
    full = np.exp(-sign * 2j * np.pi * np.outer(np.arange(period), positions) / period)
    weight = np.full(u_count, 2.0)
    weight[0] = 1.0
    if period % 2 == 0:
        weight[-1] = 1.0
    back = 2 * np.pi * np.outer(np.arange(u_count), np.arange(out_start, out_start + out_len)) / period
    inverse_half = np.empty((2 * u_count, out_len))
    inverse_half[0::2], inverse_half[1::2] = weight[:, None] * np.cos(back), -weight[:, None] * np.sin(back)
    real, complex_ = np.dtype(dtype_name), np.result_type(np.dtype(dtype_name), np.complex64)
    return rows_half.astype(real), full.astype(complex_), (inverse_half / period).astype(real)


def _axis(xp: Any, length: int, period: int, shift: int, sign: int = 1, out_start: int = 0, out_len: int = 0,
          dtype: Any = np.float32) -> Tuple[Any, Any, Any]:
    key = (length, period, shift, sign, out_start, out_len, np.dtype(dtype).name)
    if xp is np:
        return _matrices(*key)
    try:
        gpu = int(xp.cuda.runtime.getDevice())
    except AttributeError:      # a stand-in for CuPy (testing/fake_cupy.py)
        gpu = 0
    return _on_gpu(key, id(xp), gpu)


@lru_cache(maxsize=64)
def _on_gpu(key: Tuple[Any, ...], module: int, gpu: int) -> Tuple[Any, Any, Any]:
    """_matrices copied once to GPU number ``gpu`` (the current device when called) of array module ``module``."""
    return tuple(to_device(m, "cuda") for m in _matrices(*key))  # type: ignore[return-value]


def spectrum(a: Any, period: Tuple[int, int], shift: Tuple[int, int], sign: int = 1) -> Any:
    """The 2-D DFT (size ``period``) of real images a (B, h, w) placed at ``shift``: complex (P_h * U, B).

    Frequency-major, so that a reshape to (F, N, C) gives the batched GEMM its matrices.
    """
    xp = get_array_module(a)
    b, h, w = a.shape
    rows, _, _ = _axis(xp, w, period[1], shift[1], sign, dtype=a.dtype)
    _, cols, _ = _axis(xp, h, period[0], shift[0], sign, dtype=a.dtype)
    u = rows.shape[1] // 2
    along_w = (a.reshape(b * h, w) @ rows).view(cols.dtype).reshape(b, h, u)      # (B, h, U)
    along_w = xp.ascontiguousarray(along_w.transpose(1, 0, 2)).reshape(h, b * u)   # (h, B*U)
    both = (cols @ along_w).reshape(period[0], b, u)                               # (P_h, B, U)
    del along_w
    return xp.ascontiguousarray(both.transpose(0, 2, 1)).reshape(period[0] * u, b)


def inverse(spec: Any, period: Tuple[int, int], start: Tuple[int, int], size: Tuple[int, int],
            real_dtype: Any) -> Any:
    """Real images (B, size) cut at ``start`` out of the inverse DFT of spec (P_h * U, B)."""
    xp = get_array_module(spec)
    b = spec.shape[1]
    # along the columns: out[a] = sum_v exp(+2 pi i v a / P_h) spec[v] / P_h, a matrix that is the transpose of
    # the conjugate DFT's `full` matrix for rows start..start+h (the 1/P_w of the rows sits in inv_w)
    _, cols_back, _ = _axis(xp, size[0], period[0], start[0], sign=-1, dtype=real_dtype)
    _, _, inv_w = _axis(xp, 1, period[1], 0, out_start=start[1], out_len=size[1], dtype=real_dtype)
    u = inv_w.shape[0] // 2
    along_h = (cols_back.T / period[0]) @ spec.reshape(period[0], u * b)                         # (h, U*B)
    along_h = xp.ascontiguousarray(along_h.reshape(size[0], u, b).transpose(2, 0, 1))  # (B, h, U)
    return (along_h.view(real_dtype).reshape(b * size[0], 2 * u) @ inv_w).reshape(b, *size)


def _out_blocks(o: int, c: int, f: int, itemsize: int) -> range:
    """Starts of blocks of output channels whose kernel spectra (F, block, C) stay under CHUNK_BYTES."""
    block = max(1, min(o, CHUNK_BYTES // max(1, 2 * itemsize * f * c)))
    return range(0, o, block)


def _kernel_spectrum(weight: Any, o0: int, o1: int, period: Tuple[int, int], sign: int) -> Any:
    """Spectra of kernels o0:o1 of weight (O, C, kh, kw): (F, o1 - o0, C); sign -1 gives their conjugates.
    Under no_grad (inference) they are remembered (``_remembered``)."""
    key = (id(weight), o0, o1, period, sign)
    if not is_grad_enabled():
        hit = _remembered(weight, key)
        if hit is not None:
            return hit
    _, c, kh, kw = weight.shape
    spec = spectrum(weight[o0:o1].reshape((o1 - o0) * c, kh, kw), period, (0, 0), sign=sign).reshape(-1, o1 - o0, c)
    if not is_grad_enabled() and spec.nbytes <= CACHE_BYTES:
        _SPECTRA[key] = (weight.copy(), spec)
        while sum(entry[1].nbytes for entry in _SPECTRA.values()) > CACHE_BYTES:
            _SPECTRA.pop(next(iter(_SPECTRA)))   # the oldest first
    return spec


_SPECTRA: "OrderedDict[tuple, Tuple[Any, Any]]" = OrderedDict()   # key -> (copy of the weight, its spectrum)


def _remembered(weight: Any, key: tuple) -> Optional[Any]:
    """The remembered spectrum of a weight with these very values, else None: weights change in place during
    training (and an id can be reused), so the values are compared with a copy and a stale spectrum is never used."""
    entry = _SPECTRA.get(key)
    if entry is None or type(entry[0]) is not type(weight) or entry[0].shape != weight.shape \
            or entry[0].dtype != weight.dtype \
            or not (entry[0] == weight).all():
        _SPECTRA.pop(key, None)
        return None
    _SPECTRA.move_to_end(key)
    return entry[1]


def conv2d_fft(x: Any, weight: Any, bias: Optional[Any], padding: Tuple[int, int]) -> Any:
    """Stride-1 conv2d, x (N, C, H, W), weight (O, C, kh, kw) -> (N, O, Ho, Wo), through the DFT."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    period = (h + 2 * padding[0], w + 2 * padding[1])
    ho, wo = period[0] - kh + 1, period[1] - kw + 1
    spec_x = spectrum(x.reshape(n * c, h, w), period, padding)
    f = spec_x.shape[0]
    spec_x = spec_x.reshape(f, n, c)
    y_spec = xp.empty((f, n, o), dtype=spec_x.dtype)
    blocks = _out_blocks(o, c, f, x.dtype.itemsize)
    for o0 in blocks:   # the kernels' spectra a block of output channels at a time, to bound memory
        o1 = min(o, o0 + blocks.step)
        conj_k = _kernel_spectrum(weight, o0, o1, period, sign=-1)
        y_spec[:, :, o0:o1] = xp.matmul(spec_x, conj_k.transpose(0, 2, 1))             # (F, N, block)
    y = inverse(y_spec.reshape(f, n * o), period, (0, 0), (ho, wo), x.dtype).reshape(n, o, ho, wo)
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


def conv2d_fft_grads(x: Optional[Any], weight: Optional[Any], grad: Any, x_shape: Tuple[int, ...],
                     kernel: Tuple[int, int], padding: Tuple[int, int]) -> Tuple[Optional[Any], Optional[Any]]:
    """(dx, dW) of a stride-1 conv2d through the DFT: dx when weight is given, dW when x is given."""
    xp = get_array_module(grad)
    (n, c, h, w), (o, ho, wo), (kh, kw) = x_shape, grad.shape[1:], kernel
    period = (h + 2 * padding[0], w + 2 * padding[1])
    spec_g = spectrum(grad.reshape(n * o, ho, wo), period, (0, 0))
    f = spec_g.shape[0]
    spec_g = spec_g.reshape(f, n, o)
    spec_x = None if x is None else spectrum(x.reshape(n * c, h, w), period, padding).reshape(f, n, c)
    dx_spec = None if weight is None else xp.zeros((f, n, c), dtype=spec_g.dtype)
    dw = None if x is None else xp.empty((o, c, kh, kw), dtype=grad.dtype)
    blocks = _out_blocks(o, c, f, grad.dtype.itemsize)
    for o0 in blocks:
        o1 = min(o, o0 + blocks.step)
        if weight is not None:
            dx_spec += xp.matmul(spec_g[:, :, o0:o1], _kernel_spectrum(weight, o0, o1, period, sign=1))
        if x is not None:
            dw_spec = xp.matmul(xp.conj(spec_g[:, :, o0:o1]).transpose(0, 2, 1), spec_x)   # (F, block, C)
            dw[o0:o1] = inverse(dw_spec.reshape(f, (o1 - o0) * c), period, (0, 0), (kh, kw),
                                grad.dtype).reshape(o1 - o0, c, kh, kw)
    dx = None
    if dx_spec is not None:
        dx = inverse(dx_spec.reshape(f, n * c), period, padding, (h, w), grad.dtype).reshape(n, c, h, w)
    return dx, dw
