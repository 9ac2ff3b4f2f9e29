"""CuPy kernels for the generic path's hot spots, chosen by the dispatcher (dispatch.py) only when the data is on a
GPU (never on NumPy).

- ``im2col``: one thread per element of the (C kh kw, N Ho Wo) matrix reads its pixel (or the padding value).
- ``col2im``: one thread per image pixel gathers the columns that cover it: no atomics, no kh*kw passes.
- ``max_pool2d_forward`` / ``max_pool2d_backward``: one thread per window (max and the offset of the first maximum),
  then one thread per input pixel gathering the gradients of the windows it won.
- ``norm_stats``: batch-norm and instance-norm statistics in one pass over x: one thread per (sample, channel) row
  runs Welford's update in double over the row's H*W pixels; batch norm then merges the N rows of each channel
  (Chan et al.: M2 = sum M2_n + HW sum (mean_n - mean)^2). The generic path makes two passes (mean, then the
  centred squares).
- ``bias_activation`` / ``activation_backward``: a convolution's bias add and the ReLU / LeakyReLU after it in one
  pass (y = act(x + b[c])), and the activation's gradient in one pass (fusion.py).

Each kernel is the same arithmetic as a NumPy gather written out in ``tests/test_cuda_kernels.py``, where that
gather is checked against the NumPy path on the CPU; the CUDA text itself is compared with the NumPy path on the
device run (``benchmarks/gpu_check.sh``). Every source lives in ``SOURCES`` (kernels are built only from there), and
``tests/test_nvrtc_compile.py`` compiles each one with NVRTC on a CPU, no GPU needed. NVRTC has no C library headers:
no ``INFINITY``, ``NAN`` or ``<math.h>`` constants in a kernel; write them from their bits (``__int_as_float``).
Kernels are built on first use, so importing this module costs nothing without CuPy.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Optional, Tuple, Union

IM2COL = r"""
int L = N * Ho * Wo;
int row = i / L, column = i % L;
int c = row / (kh * kw), offset = row % (kh * kw), ki = offset / kw, kj = offset % kw;
int n = column / (Ho * Wo), rest = column % (Ho * Wo), ho = rest / Wo, wo = rest % Wo;
int h = ho * sh - ph + ki, w = wo * sw - pw + kj;
col = (h >= 0 && h < H && w >= 0 && w < W) ? x[((n * C + c) * H + h) * W + w] : pad;
"""

COL2IM = r"""
int w = i % W, h = (i / W) % H, c = (i / (H * W)) % C, n = i / (C * H * W);
int L = N * Ho * Wo;
T acc = 0;
for (int ki = 0; ki < kh; ki++) {
    int hp = h + ph - ki;
    if (hp < 0 || hp % sh != 0 || hp / sh >= Ho) continue;
    for (int kj = 0; kj < kw; kj++) {
        int wp = w + pw - kj;
        if (wp < 0 || wp % sw != 0 || wp / sw >= Wo) continue;
        acc += cols[((c * kh + ki) * kw + kj) * L + (n * Ho + hp / sh) * Wo + wp / sw];
    }
}
img = acc;
"""

MAXPOOL_FORWARD = r"""
int wo = i % Wo, ho = (i / Wo) % Ho, nc = i / (Ho * Wo);
const T minus_inf = (T)__int_as_float(0xff800000);   // -inf from its bits: NVRTC has no math.h, so no INFINITY
T best = minus_inf;
int winner = 0;
for (int ki = 0; ki < kh; ki++) {
    for (int kj = 0; kj < kw; kj++) {
        int h = ho * sh - ph + ki, w = wo * sw - pw + kj;
        T v = (h >= 0 && h < H && w >= 0 && w < W) ? x[(nc * H + h) * W + w] : minus_inf;
        if (v > best || (ki == 0 && kj == 0)) { best = v; winner = ki * kw + kj; }
    }
}
y = best;
k = winner;
"""

MAXPOOL_BACKWARD = r"""
int w = i % W, h = (i / W) % H, nc = i / (H * W);
T acc = 0;
for (int ki = 0; ki < kh; ki++) {
    int hp = h + ph - ki;
    if (hp < 0 || hp % sh != 0 || hp / sh >= Ho) continue;
    for (int kj = 0; kj < kw; kj++) {
        int wp = w + pw - kj;
        if (wp < 0 || wp % sw != 0 || wp / sw >= Wo) continue;
        int o = (nc * Ho + hp / sh) * Wo + wp / sw;
        if (k[o] == ki * kw + kj) acc += grad[o];
    }
}
dx = acc;
"""

NORM_STATS = r"""
double m = 0, s = 0;
for (long long j = 0; j < L; j++) {
    double v = (double)x[(long long)i * L + j], d = v - m;
    m += d / (double)(j + 1);
    s += d * (v - m);
}
mean = (T)m;
m2 = (T)s;
"""

BIAS_ACTIVATION = r"""
T v = x + b[(i / HW) % C];
y = v > (T)0 ? v : v * slope;
"""

ACTIVATION_BACKWARD = r"""
dx = y > (T)0 ? g : g * slope;
"""

_GEOMETRY = "int32 N, int32 C, int32 H, int32 W, int32 kh, int32 kw, int32 sh, int32 sw, int32 ph, int32 pw, " \
            "int32 Ho, int32 Wo"


@dataclass(frozen=True)
class Elementwise:
    """A ``cupy.ElementwiseKernel``: CuPy wraps ``body`` in a __global__ loop over ``i``, binding each non-raw
    parameter to its element; ``raw`` parameters are whole arrays indexed by hand. ``preamble``: CUDA code placed
    before the kernel (device functions); ``options``: extra NVRTC options."""

    in_params: str
    out_params: str
    body: str
    name: str
    preamble: str = ""
    options: Tuple[str, ...] = ()

    def build(self, cp: Any) -> Any:
        return cp.ElementwiseKernel(self.in_params, self.out_params, self.body, self.name,
                                    preamble=self.preamble, options=self.options)


@dataclass(frozen=True)
class Reduction:
    """A ``cupy.ReductionKernel``: ``map_expr`` per input element, folded by ``reduce_expr`` (a, b) from
    ``identity``, then ``post_map_expr`` (a: the result) writes the output."""

    in_params: str
    out_params: str
    map_expr: str
    reduce_expr: str
    post_map_expr: str
    identity: str
    name: str
    reduce_type: Optional[str] = None
    preamble: str = ""
    options: Tuple[str, ...] = ()

    def build(self, cp: Any) -> Any:
        return cp.ReductionKernel(self.in_params, self.out_params, self.map_expr, self.reduce_expr,
                                  self.post_map_expr, self.identity, self.name, reduce_type=self.reduce_type,
                                  preamble=self.preamble, options=self.options)


@dataclass(frozen=True)
class Raw:
    """A ``cupy.RawKernel``: ``code`` is the whole CUDA source, ``name`` its extern "C" __global__ function."""

    code: str
    name: str
    options: Tuple[str, ...] = ()

    def build(self, cp: Any) -> Any:
        return cp.RawKernel(self.code, self.name, options=self.options)


Source = Union[Elementwise, Reduction, Raw]

# Every CUDA source the package builds, by key. Kernels are built only from here (``kernel``), so
# tests/test_nvrtc_compile.py compiles each entry with NVRTC on a CPU. A new kernel: add it here or ``register`` it.
SOURCES: Dict[str, Source] = {
    "im2col": Elementwise(f"raw T x, T pad, {_GEOMETRY}", "T col", IM2COL, "mt_im2col"),
    "col2im": Elementwise(f"raw T cols, {_GEOMETRY}", "T img", COL2IM, "mt_col2im"),
    "maxpool_forward": Elementwise(f"raw T x, {_GEOMETRY}", "T y, int32 k", MAXPOOL_FORWARD, "mt_maxpool_fwd"),
    "maxpool_backward": Elementwise(f"raw T grad, raw int32 k, {_GEOMETRY}", "T dx", MAXPOOL_BACKWARD,
                                    "mt_maxpool_bwd"),
    "bias_activation": Elementwise("T x, raw T b, int64 C, int64 HW, T slope", "T y", BIAS_ACTIVATION, "mt_bias_act"),
    "activation_backward": Elementwise("T g, T y, T slope", "T dx", ACTIVATION_BACKWARD, "mt_act_bwd"),
    "norm_stats": Elementwise("raw T x, int64 L", "T mean, T m2", NORM_STATS, "mt_norm_stats"),
}


def register(key: str, source: Source) -> Source:
    """Add a kernel source to ``SOURCES`` (for a module outside this file); returns it. A taken key is an error."""
    if key in SOURCES and SOURCES[key] != source:
        raise ValueError(f"CUDA kernel {key!r} is already registered with another source; pick another key")
    SOURCES[key] = source
    return source


@lru_cache(maxsize=None)
def kernel(key: str) -> Any:
    """The CuPy kernel of ``SOURCES[key]``, built (and compiled by CuPy) on first use."""
    import cupy as cp

    if key not in SOURCES:
        raise KeyError(f"no CUDA kernel {key!r}: add its source to cuda_kernels.SOURCES ({', '.join(SOURCES)})")
    return SOURCES[key].build(cp)


_kernel = kernel   # the name the callers below use


def _geometry(x_shape: Tuple[int, ...], kernel: Tuple[int, int], stride: Tuple[int, int],
              padding: Tuple[int, int], out: Tuple[int, int]) -> Tuple[int, ...]:
    n, c, h, w = x_shape
    return (n, c, h, w, *kernel, *stride, *padding, *out)


def im2col(x: Any, kernel: Tuple[int, int], stride: Tuple[int, int], padding: Tuple[int, int],
           out: Tuple[int, int], pad_value: float = 0.0) -> Any:
    """(N, C, H, W) -> (C kh kw, N Ho Wo) on the GPU."""
    import cupy as cp

    n, c = x.shape[:2]
    cols = cp.empty((c * kernel[0] * kernel[1], n * out[0] * out[1]), dtype=x.dtype)
    _kernel("im2col")(cp.ascontiguousarray(x), x.dtype.type(pad_value),
                      *_geometry(x.shape, kernel, stride, padding, out), cols)
    return cols


def col2im(cols: Any, x_shape: Tuple[int, ...], kernel: Tuple[int, int], stride: Tuple[int, int],
           padding: Tuple[int, int], out: Tuple[int, int]) -> Any:
    """(C kh kw, N Ho Wo) -> (N, C, H, W): each pixel sums the columns that cover it."""
    import cupy as cp

    image = cp.empty(x_shape, dtype=cols.dtype)
    _kernel("col2im")(cp.ascontiguousarray(cols), *_geometry(x_shape, kernel, stride, padding, out), image)
    return image


def max_pool2d_forward(x: Any, kernel: Tuple[int, int], stride: Tuple[int, int], padding: Tuple[int, int],
                       out: Tuple[int, int]) -> Tuple[Any, Any]:
    """(window maxima (N, C, Ho, Wo), offset of each window's first maximum as int32)."""
    import cupy as cp

    n, c = x.shape[:2]
    y = cp.empty((n, c, *out), dtype=x.dtype)
    k = cp.empty((n, c, *out), dtype=cp.int32)
    _kernel("maxpool_forward")(cp.ascontiguousarray(x), *_geometry(x.shape, kernel, stride, padding, out), y, k)
    return y, k


def max_pool2d_backward(grad: Any, winner: Any, x_shape: Tuple[int, ...], kernel: Tuple[int, int],
                        stride: Tuple[int, int], padding: Tuple[int, int]) -> Any:
    """dx (N, C, H, W): each pixel gathers the gradients of the windows whose maximum it was."""
    import cupy as cp

    dx = cp.empty(x_shape, dtype=grad.dtype)
    _kernel("maxpool_backward")(cp.ascontiguousarray(grad), cp.ascontiguousarray(winner, dtype=cp.int32),
                                *_geometry(x_shape, kernel, stride, padding, grad.shape[2:]), dx)
    return dx


def merge_row_stats(mean: Any, m2: Any, pixels: int, per_sample: bool) -> Tuple[Any, Any]:
    """Row statistics (N, C) of ``pixels`` values each -> (mean, biased var): per row for instance norm, shaped
    (N, C, 1, 1); merged over the N rows of each channel for batch norm, shaped (1, C, 1, 1). Works on NumPy and
    CuPy arrays alike (the test runs it on NumPy)."""
    n, c = mean.shape
    if per_sample:
        return mean.reshape(n, c, 1, 1), (m2 / pixels).reshape(n, c, 1, 1)
    merged = mean.mean(axis=0)
    spread = ((mean - merged) ** 2).sum(axis=0)
    var = (m2.sum(axis=0) + pixels * spread) / (n * pixels)
    return merged.reshape(1, c, 1, 1), var.reshape(1, c, 1, 1)


def norm_stats(x: Any, per_sample: bool) -> Tuple[Any, Any]:
    """(mean, biased var) of an (N, C, H, W) array on the GPU: over (H, W) per sample (instance norm) or over
    (N, H, W) per channel (batch norm), shaped to broadcast against x."""
    import cupy as cp

    n, c = x.shape[:2]
    pixels = x.size // (n * c)
    mean, m2 = cp.empty((n, c), dtype=x.dtype), cp.empty((n, c), dtype=x.dtype)
    _kernel("norm_stats")(cp.ascontiguousarray(x), pixels, mean, m2)
    return merge_row_stats(mean, m2, pixels, per_sample)


def bias_activation(x: Any, bias: Any, slope: float) -> Any:
    """act(x + bias[c]) for (N, C, ...) x on the GPU, in one kernel."""
    import cupy as cp

    c = x.shape[1]
    hw = x.size // (x.shape[0] * c)
    y = cp.empty_like(x)
    _kernel("bias_activation")(cp.ascontiguousarray(x), cp.ascontiguousarray(bias, dtype=x.dtype), c, hw,
                               x.dtype.type(slope), y)
    return y


def activation_backward(grad: Any, y: Any, slope: float) -> Any:
    """g where y > 0, else slope * g, in one kernel."""
    return _kernel("activation_backward")(grad, y, grad.dtype.type(slope))
