"""Batch norm and instance norm of (N, C, H, W) on a GPU in three kernels each way (norm_cuda.NormalizeCuda).

Statistics live per *slot* s: a channel c (batch norm: over N, H, W) or a row (n, c) (instance norm: over H, W).
With rows of L = H W values, x_hat = (x - mean_s) inv_std_s, y = w_c x_hat + b_c:

    forward   norm_stats (cuda_kernels.py): per row Welford (mean_r, M2_r)
              NORM_FINALIZE, a thread per slot: mean_s, inv_std_s = 1 / sqrt(var_s + eps) (batch norm merges its
                N rows, Chan et al.), and the running statistics updated in place (r = (1 - mu) r + mu stat; the
                running variance takes the unbiased var_s * count / (count - 1))
              NORM_APPLY, a thread per element: x_hat, and y (optionally y = LeakyReLU(y), slope a; a = 0: ReLU)
    backward  NORM_GRAD_ROWS, a thread per row: sum_g_r, sum_gx_r (float64 accumulators)
              NORM_GRAD_CHANNELS, a thread per channel: dw_c = sum_n sum_gx, db_c = sum_n sum_g (batch norm needs
                these totals for dx as well)
              NORM_DX, a thread per element: dx = w_c inv_std_s (g - sum_g_s / M - x_hat sum_gx_s / M)
              (with the activation, g is first its gradient: g where y > 0, else a g)

Each kernel's NumPy reference (same arithmetic, same order) is in testing/cuda_references.py, which
testing/fake_cupy.py runs in its place; norm.py's textbook ``Normalize`` is the reference of the whole
(tests/test_gpu_launch_budget.py checks them equal on the stand-in).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

from . import cuda_kernels

NORM_FINALIZE = r"""
double mean_d, var_d;
if (per_sample) {
    mean_d = (double)mean_rows[i];
    var_d = (double)m2_rows[i] / (double)L;
} else {
    double m = 0, s = 0, count = 0;
    for (int n = 0; n < N; n++) {
        double mr = (double)mean_rows[n * C + i], total = count + (double)L, d = mr - m;
        m += d * (double)L / total;
        s += (double)m2_rows[n * C + i] + d * d * count * (double)L / total;
        count = total;
    }
    mean_d = m;
    var_d = s / count;
}
mean = (T)mean_d;
inv_std = (T)1 / sqrt((T)var_d + eps);
"""

RUNNING = r"""
running_mean[i] = running_mean[i] * one_minus_momentum + momentum * (T)mean_d;
running_var[i] = running_var[i] * one_minus_momentum + momentum * (T)(var_d * unbias);
if (i == 0 && count_batch) tracked[0] = tracked[0] + 1;
"""

NORM_APPLY = r"""
long long c = (i / HW) % C, s = per_sample ? i / HW : c;
T xh = (x - mean[s]) * inv_std[s];
x_hat = xh;
T v = affine ? xh * w[c] + b[c] : xh;
y = (act && !(v > (T)0)) ? v * slope : v;
"""

NORM_APPLY_PLAIN = r"""
long long s = per_sample ? i / HW : (i / HW) % C;
x_hat = (x - mean[s]) * inv_std[s];
"""

NORM_GRAD_ROWS = r"""
double a = 0, b = 0;
for (long long j = 0; j < L; j++) {
    T gt = g[(long long)i * L + j];
    if (act && !(y[(long long)i * L + j] > (T)0)) gt = gt * slope;
    double gv = (double)gt;
    a += gv;
    b += gv * (double)x_hat[(long long)i * L + j];
}
sum_g = (T)a;
sum_gx = (T)b;
"""

NORM_GRAD_CHANNELS = r"""
double a = 0, b = 0;
for (int n = 0; n < N; n++) {
    a += (double)sum_gx[n * C + i];
    b += (double)sum_g[n * C + i];
}
dw = (T)a;
db = (T)b;
"""

NORM_DX = r"""
long long c = (i / HW) % C, s = per_sample ? i / HW : c;
T scale = affine ? inv_std[s] * w[c] : inv_std[s];
T gt = (act && !(y > (T)0)) ? g * slope : g;
dx = (gt - sg[s] / m - x_hat * (sgx[s] / m)) * scale;
"""

_FINALIZE_IN = "raw T mean_rows, raw T m2_rows, int32 N, int32 C, int64 L, bool per_sample, T eps"


def _register() -> None:
    register, elementwise = cuda_kernels.register, cuda_kernels.Elementwise
    register("norm_finalize", elementwise(_FINALIZE_IN, "T mean, T inv_std", NORM_FINALIZE, "mt_norm_finalize"))
    register("norm_finalize_running", elementwise(
        _FINALIZE_IN + ", T momentum, T one_minus_momentum, float64 unbias, bool count_batch",
        "T mean, T inv_std, raw T running_mean, raw T running_var, raw int64 tracked", NORM_FINALIZE + RUNNING,
        "mt_norm_finalize_running"))
    register("norm_apply", elementwise("T x, raw T mean, raw T inv_std, raw T w, raw T b, int64 C, int64 HW, "
                                       "bool per_sample, bool affine, bool act, T slope", "T x_hat, T y",
                                       NORM_APPLY, "mt_norm_apply"))
    register("norm_apply_plain", elementwise("T x, raw T mean, raw T inv_std, int64 C, int64 HW, bool per_sample",
                                             "T x_hat", NORM_APPLY_PLAIN, "mt_norm_apply_plain"))
    register("norm_grad_rows", elementwise("raw T g, raw T x_hat, raw T y, int64 L, bool act, T slope",
                                           "T sum_g, T sum_gx", NORM_GRAD_ROWS, "mt_norm_grad_rows"))
    register("norm_grad_channels", elementwise("raw T sum_g, raw T sum_gx, int32 N, int32 C", "T dw, T db",
                                               NORM_GRAD_CHANNELS, "mt_norm_grad_channels"))
    register("norm_dx", elementwise("T g, T x_hat, T y, raw T sg, raw T sgx, raw T inv_std, raw T w, int64 C, "
                                    "int64 HW, T m, bool per_sample, bool affine, bool act, T slope", "T dx", NORM_DX,
                                    "mt_norm_dx"))


_register()


# ------------------------------------------------------------------------------------------------ the calls
def forward(x: Any, weight: Optional[Any], bias: Optional[Any], per_sample: bool, eps: float,
            running: Optional[Tuple[Any, Any, float]], slope: Optional[float] = None,
            tracked: Optional[Any] = None) -> Tuple[Any, Any, Any]:
    """(y, x_hat, inv_std) of a contiguous (N, C, H, W) x; ``running`` = (running_mean, running_var, momentum)
    updated in place (batch norm only), and the layer's batch counter ``tracked`` (int64) += 1 when given;
    ``slope``: y = LeakyReLU(y) with that slope (0: ReLU). Three kernels."""
    import cupy as cp

    n, c = x.shape[:2]
    length = x.size // (n * c)
    t = x.dtype.type
    rows_mean, rows_m2 = cp.empty((n, c), dtype=x.dtype), cp.empty((n, c), dtype=x.dtype)
    cuda_kernels.kernel("norm_stats")(x, length, rows_mean, rows_m2)
    slots = n * c if per_sample else c
    mean, inv_std = cp.empty(slots, dtype=x.dtype), cp.empty(slots, dtype=x.dtype)
    if running is None:
        cuda_kernels.kernel("norm_finalize")(rows_mean, rows_m2, n, c, length, per_sample, t(eps), mean, inv_std)
    else:
        running_mean, running_var, momentum = running
        count = x.size // c
        cuda_kernels.kernel("norm_finalize_running")(
            rows_mean, rows_m2, n, c, length, per_sample, t(eps), t(momentum), t(1 - momentum),
            count / max(count - 1, 1), tracked is not None, mean, inv_std, running_mean, running_var,
            cp.empty(1, dtype=cp.int64) if tracked is None else tracked.reshape(1))
    x_hat = cp.empty_like(x)
    if weight is None and slope is None:
        cuda_kernels.kernel("norm_apply_plain")(x, mean, inv_std, c, length, per_sample, x_hat)
        return x_hat, x_hat, inv_std
    y = cp.empty_like(x)
    w, b = (mean, mean) if weight is None else (weight, bias)
    cuda_kernels.kernel("norm_apply")(x, mean, inv_std, w, b, c, length, per_sample, weight is not None,
                                      slope is not None, t(slope or 0.0), x_hat, y)
    return y, x_hat, inv_std


def backward(grad: Any, x_hat: Any, inv_std: Any, weight: Optional[Any], per_sample: bool,
             need_affine_grads: bool, y: Optional[Any] = None, slope: Optional[float] = None) -> Tuple[Any, Any, Any]:
    """(dx, dw, db) (dw, db None unless ``need_affine_grads``); with ``slope`` the forward's activation is undone
    first from its output ``y``. Two or three kernels."""
    import cupy as cp

    grad = cp.ascontiguousarray(grad)
    n, c = grad.shape[:2]
    length = grad.size // (n * c)
    sum_g, sum_gx = cp.empty(n * c, dtype=grad.dtype), cp.empty(n * c, dtype=grad.dtype)
    act, t = slope is not None, grad.dtype.type
    y = grad if y is None else y
    cuda_kernels.kernel("norm_grad_rows")(grad, x_hat, y, length, act, t(slope or 0.0), sum_g, sum_gx)
    dw = db = None
    if need_affine_grads or not per_sample:
        dw, db = cp.empty(c, dtype=grad.dtype), cp.empty(c, dtype=grad.dtype)
        cuda_kernels.kernel("norm_grad_channels")(sum_g, sum_gx, n, c, dw, db)
    sg, sgx = (sum_g, sum_gx) if per_sample else (db, dw)
    count = length if per_sample else n * length
    dx = cp.empty_like(grad)
    cuda_kernels.kernel("norm_dx")(grad, x_hat, y, sg, sgx, inv_std, inv_std if weight is None else weight, c, length,
                                   t(count), per_sample, weight is not None, act, t(slope or 0.0), dx)
    return dx, (dw if need_affine_grads else None), (db if need_affine_grads else None)
