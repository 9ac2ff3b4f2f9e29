"""The NumPy reference of every CUDA kernel the package builds, keyed by the kernel's name (``mt_im2col``...).

Each reference computes what its kernel computes (the CUDA text in functional/fast/cuda_kernels.py, cuda_norm.py,
cuda_optim.py, cuda_elementwise.py), in the same order, from the same arguments the kernel is called with: the
inputs (the kernel's output arrays left out), returning the output(s); those in ``IN_PLACE`` (kernels that read
their outputs, as the optimiser updates do) take the outputs too and update them in place. testing/fake_cupy.py
runs them in place of the kernels, so a GPU step runs, and is counted, on the CPU; tests/test_gpu_launch_budget.py
and tests/test_optim.py check them against the textbook NumPy paths.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import numpy as np

from ..functional import conv

Geometry = Tuple[int, ...]   # N, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo


# ----------------------------------------------------------------------------------------------- cuda_kernels.py
def im2col(x: Any, pad: Any, *g: int) -> Any:
    """(N, C, H, W) -> (C kh kw, N Ho Wo), outside the image ``pad``."""
    return conv.im2col(x, g[4:6], g[6:8], g[8:10], pad_value=float(pad))


def col2im(cols: Any, *g: int) -> Any:
    """(C kh kw, N Ho Wo) -> (N, C, H, W), overlapping windows summed."""
    return conv.col2im(cols, g[:4], g[4:6], g[6:8], g[8:10])


def maxpool_forward(x: Any, *g: int) -> Tuple[Any, Any]:
    """(window maxima (N, C, Ho, Wo), int32 offset ki * kw + kj of each window's first maximum); padding is -inf."""
    n, c, h, w, kh, kw, sh, sw, ph, pw, ho, wo = g
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    best, winner = None, np.zeros((n, c, ho, wo), dtype=np.int32)
    for ki in range(kh):
        for kj in range(kw):
            v = padded[:, :, ki:ki + sh * (ho - 1) + 1:sh, kj:kj + sw * (wo - 1) + 1:sw]
            if best is None:
                best = v.copy()
                continue
            take = v > best
            best = np.where(take, v, best)
            winner[take] = ki * kw + kj
    return best, winner


def maxpool_backward(grad: Any, k: Any, *g: int) -> Any:
    """dx (N, C, H, W): each window's gradient added at its winning offset."""
    n, c, h, w, kh, kw, sh, sw, ph, pw, ho, wo = g
    dx = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=grad.dtype)
    for ki in range(kh):
        for kj in range(kw):
            won = k == ki * kw + kj
            dx[:, :, ki:ki + sh * (ho - 1) + 1:sh, kj:kj + sw * (wo - 1) + 1:sw] += np.where(won, grad, 0)
    return dx[:, :, ph:ph + h, pw:pw + w]


def norm_stats(x: Any, length: int) -> Tuple[Any, Any]:
    """Per row of ``length`` values (a (sample, channel) row): (mean, sum of squared deviations), float64 inside."""
    rows = x.reshape(-1, int(length)).astype(np.float64)
    mean = rows.mean(axis=1)
    return mean.astype(x.dtype), ((rows - mean[:, None]) ** 2).sum(axis=1).astype(x.dtype)


def bias_activation(x: Any, b: Any, c: int, hw: int, slope: Any) -> Any:
    """act(x + b[c]): v if v > 0 else slope * v."""
    v = (x.reshape(-1, int(c), int(hw)) + b.reshape(1, -1, 1)).reshape(x.shape)
    return np.where(v > 0, v, v * slope)


def activation_backward(g: Any, y: Any, slope: Any) -> Any:
    """g where y > 0, else slope * g."""
    return np.where(y > 0, g, g * slope)



# -------------------------------------------------------------------------------------------------- cuda_norm.py
def finalize_reference(mean_rows: Any, m2_rows: Any, n: int, c: int, length: int, per_sample: bool,
                       eps: Any) -> Tuple[Any, Any]:
    """NORM_FINALIZE: (mean_s, inv_std_s) per slot (C for batch norm, N C for instance norm)."""
    mean_d, var_d = _merged(mean_rows, m2_rows, int(n), int(c), int(length), bool(per_sample))
    t = mean_rows.dtype.type
    return mean_d.astype(t), (t(1) / np.sqrt(var_d.astype(t) + eps)).astype(t)


def finalize_running_reference(mean_rows: Any, m2_rows: Any, n: int, c: int, length: int, per_sample: bool,
                               eps: Any, momentum: Any, one_minus_momentum: Any, unbias: Any, count_batch: bool,
                               mean: Any, inv_std: Any, running_mean: Any, running_var: Any, tracked: Any) -> None:
    """NORM_FINALIZE + RUNNING, outputs in place (tracked += 1 when count_batch)."""
    mean[...], inv_std[...] = finalize_reference(mean_rows, m2_rows, n, c, length, per_sample, eps)
    mean_d, var_d = _merged(mean_rows, m2_rows, int(n), int(c), int(length), bool(per_sample))
    t = mean_rows.dtype.type
    running_mean[...] = running_mean * one_minus_momentum + momentum * mean_d.astype(t)
    running_var[...] = running_var * one_minus_momentum + momentum * (var_d * float(unbias)).astype(t)
    if count_batch:
        tracked[...] += 1


def _merged(mean_rows: Any, m2_rows: Any, n: int, c: int, length: int, per_sample: bool) -> Tuple[Any, Any]:
    """float64 (mean, biased var) per slot from row statistics."""
    mean_r, m2_r = mean_rows.reshape(n, c).astype(np.float64), m2_rows.reshape(n, c).astype(np.float64)
    if per_sample:
        return mean_r.reshape(-1), (m2_r / length).reshape(-1)
    mean = mean_r.mean(axis=0)
    return mean, (m2_r.sum(axis=0) + length * ((mean_r - mean) ** 2).sum(axis=0)) / (n * length)


def _slot_index(shape: Tuple[int, ...], c: int, hw: int, per_sample: bool) -> Tuple[Any, Any]:
    i = np.arange(int(np.prod(shape))).reshape(shape)
    channel = (i // hw) % c
    return channel, (i // hw if per_sample else channel)


def _act_grad(g: Any, y: Any, act: bool, slope: Any) -> Any:
    """The activation's gradient: g where y > 0, else slope g (g itself without an activation)."""
    return np.where(y > 0, g, g * slope) if act else g


def apply_reference(x: Any, mean: Any, inv_std: Any, w: Any, b: Any, c: int, hw: int, per_sample: bool,
                    affine: bool, act: bool, slope: Any) -> Tuple[Any, Any]:
    """NORM_APPLY: (x_hat, y = act(w_c x_hat + b_c)), act(v) = v if v > 0 else slope v (or none)."""
    channel, slot = _slot_index(x.shape, int(c), int(hw), bool(per_sample))
    x_hat = (x - mean[slot]) * inv_std[slot]
    v = x_hat * w[channel] + b[channel] if affine else x_hat
    return x_hat, (np.where(v > 0, v, v * slope) if act else v)


def apply_plain_reference(x: Any, mean: Any, inv_std: Any, c: int, hw: int, per_sample: bool) -> Any:
    """NORM_APPLY_PLAIN: x_hat."""
    _, slot = _slot_index(x.shape, int(c), int(hw), bool(per_sample))
    return (x - mean[slot]) * inv_std[slot]


def grad_rows_reference(g: Any, x_hat: Any, y: Any, length: int, act: bool, slope: Any) -> Tuple[Any, Any]:
    """NORM_GRAD_ROWS: per row (sum g', sum g' x_hat), float64 inside; g' = the activation's gradient of g."""
    g = _act_grad(g, y, act, slope)
    g64, x64 = g.reshape(-1, int(length)).astype(np.float64), x_hat.reshape(-1, int(length)).astype(np.float64)
    return g64.sum(axis=1).astype(g.dtype), (g64 * x64).sum(axis=1).astype(g.dtype)


def grad_channels_reference(sum_g: Any, sum_gx: Any, n: int, c: int) -> Tuple[Any, Any]:
    """NORM_GRAD_CHANNELS: (dw_c, db_c) = sums over the N rows of each channel."""
    return (sum_gx.reshape(int(n), int(c)).astype(np.float64).sum(axis=0).astype(sum_g.dtype),
            sum_g.reshape(int(n), int(c)).astype(np.float64).sum(axis=0).astype(sum_g.dtype))


def dx_reference(g: Any, x_hat: Any, y: Any, sg: Any, sgx: Any, inv_std: Any, w: Any, c: int, hw: int, m: Any,
                 per_sample: bool, affine: bool, act: bool, slope: Any) -> Any:
    """NORM_DX: w_c inv_std_s (g' - sum_g_s / M - x_hat sum_gx_s / M), g' the activation's gradient of g."""
    g = _act_grad(g, y, act, slope)
    channel, slot = _slot_index(g.shape, int(c), int(hw), bool(per_sample))
    scale = inv_std[slot] * w[channel] if affine else inv_std[slot]
    return (g - sg[slot] / m - x_hat * (sgx[slot] / m)) * scale


# ------------------------------------------------------------------------------------------------- cuda_optim.py
def adam_reference(g: Any, l2: Any, decay: Any, beta1: Any, one_minus_beta1: Any, beta2: Any,
                   one_minus_beta2: Any, step_size: Any, bias2_sqrt: Any, eps: Any, p: Any, m: Any,
                   v: Any) -> None:
    """ADAM on NumPy arrays, p, m, v updated in place:
    d = g + l2 p;  p *= decay;  m = b1 m + (1 - b1) d;  v = b2 v + (1 - b2) d^2;  p -= s m / (sqrt(v) / c2 + eps)."""
    d = g + l2 * p if l2 != 0 else g
    if decay != 1:
        p *= decay
    m *= beta1
    m += one_minus_beta1 * d
    v *= beta2
    v += one_minus_beta2 * d * d
    p -= step_size * m / (np.sqrt(v) / bias2_sqrt + eps)


def sgd_momentum_reference(g: Any, wd: Any, momentum: Any, one_minus_dampening: Any, lr: Any, first: Any,
                           nesterov: Any, p: Any, buf: Any) -> None:
    """SGD_MOMENTUM on NumPy arrays, p and buf in place: d = g + wd p;  buf = d (first) or mu buf + (1 - damp) d;
    p -= lr (d + mu buf) (Nesterov) or lr buf."""
    d = g + wd * p if wd != 0 else g
    if first:
        buf[...] = d
    else:
        buf *= momentum
        buf += one_minus_dampening * d
    p -= lr * (d + momentum * buf if nesterov else buf)


def sgd_reference(g: Any, wd: Any, lr: Any, p: Any) -> None:
    """SGD on NumPy arrays, p in place: p -= lr (g + wd p)."""
    d = g + wd * p if wd != 0 else g
    p -= lr * d


def sum_squares_reference(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """mt_sum_squares: sum of x^2 in float64."""
    x64 = x.astype(np.float64)
    return (x64 * x64).sum(axis=axis, keepdims=keepdims)


def clip_coef_reference(partials: Any, n: int, max_norm: Any) -> Tuple[Any, Any]:
    """CLIP_COEF: total = sqrt(sum of partials), scale = min(1, max_norm / (total + 1e-6))."""
    t = float(np.sqrt(partials[:int(n)].sum()))
    coef = float(max_norm) / (t + 1e-6)
    return np.asarray(t), np.asarray(min(coef, 1.0))


# ------------------------------------------------------------------------------------------- cuda_elementwise.py
def leaky_reference(x: Any, slope: Any) -> Any:
    """LEAKY: x where x > 0, else slope x."""
    return np.where(x > 0, x, x * slope)


def dropout_reference(x: Any, r: Any, p: Any, scale: Any) -> Any:
    """DROPOUT: x * scale where r >= p, else 0 (the textbook x * (keep * scale) rounds the same)."""
    return np.where(r >= p, x * scale, x.dtype.type(0))


def from_rows_reference(rows: Any, b: Any, o: int, np_: int, p: int, has_bias: bool) -> Any:
    """FROM_ROWS: rows (O, N*P) -> (N, O, P), plus b[o] when has_bias."""
    out = rows.reshape(int(o), int(np_) // int(p), int(p)).transpose(1, 0, 2)
    return out + b.reshape(1, -1, 1) if has_bias else out.copy()


REFERENCES: Dict[str, Callable[..., Any]] = {
    "mt_im2col": im2col, "mt_col2im": col2im, "mt_maxpool_fwd": maxpool_forward,
    "mt_maxpool_bwd": maxpool_backward, "mt_norm_stats": norm_stats, "mt_bias_act": bias_activation,
    "mt_act_bwd": activation_backward,
    "mt_norm_finalize": finalize_reference, "mt_norm_finalize_running": finalize_running_reference,
    "mt_norm_apply": apply_reference, "mt_norm_apply_plain": apply_plain_reference,
    "mt_norm_grad_rows": grad_rows_reference, "mt_norm_grad_channels": grad_channels_reference,
    "mt_norm_dx": dx_reference,
    "mt_adam": adam_reference, "mt_sgd_momentum": sgd_momentum_reference, "mt_sgd": sgd_reference,
    "mt_sum_squares": sum_squares_reference, "mt_clip_coef": clip_coef_reference,
    "mt_leaky": leaky_reference, "mt_dropout": dropout_reference, "mt_from_rows": from_rows_reference,
}
IN_PLACE = {"mt_adam", "mt_sgd_momentum", "mt_sgd", "mt_norm_finalize_running"}   # these take the outputs too
