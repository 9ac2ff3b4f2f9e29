"""Losses: cross_entropy (fused log-softmax + NLL), nll_loss, mse_loss, l1_loss, binary_cross_entropy_with_logits.

``reduction`` is 'mean' (default), 'sum' or 'none', as in PyTorch.
"""
from __future__ import annotations

import math
from typing import Any

from ..autograd import Context, Function, Tensor, array_of
from ..backend import get_array_module, shape_str
from .activation import log_softmax_array
from .elementwise import abs as _abs, log
from .reduce import mean, sum as _sum

REDUCTIONS = ("mean", "sum", "none")


def _reduce(op: str, loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return _sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction={reduction!r} is not one of {REDUCTIONS}")


def _labels(op: str, logits: Any, target: Any) -> Any:
    t = array_of(target)
    xp = get_array_module(logits)
    t = xp.asarray(t)
    if logits.ndim != 2 or t.shape != (logits.shape[0],):
        raise ValueError(f"{op}: expected input (N, C) and integer target (N,), got input {shape_str(logits.shape)} "
                         f"and target {shape_str(t.shape)}")
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {t.dtype}")
    if t.size and (int(t.min()) < 0 or int(t.max()) >= logits.shape[1]):
        raise ValueError(f"{op}: target holds class {int(t.min()) if int(t.min()) < 0 else int(t.max())}, "
                         f"outside [0, {logits.shape[1] - 1}] for input {shape_str(logits.shape)}")
    return t


class CrossEntropy(Function):
    """loss_i = -sum_c q_ic log softmax(x_i)_c with q = one-hot target (smoothed by eps: (1-eps) onehot + eps/C).

    dx_i = (softmax(x_i) - q_i) * g_i. Returns per-sample losses (N,); the wrapper reduces.
    """

    name = "cross_entropy"
    float_inputs = (0,)

    @staticmethod
    def forward(ctx: Context, logits: Any, target: Any, label_smoothing: float = 0.0) -> Any:
        xp = get_array_module(logits)
        logp = log_softmax_array(logits, dim=1)
        n, c = logits.shape
        q = xp.zeros_like(logp)
        q[xp.arange(n), target] = 1.0
        if label_smoothing:
            q = q * (1 - label_smoothing) + label_smoothing / c
        ctx.save_for_backward(logp, q)
        return -(q * logp).sum(axis=1)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        logp, q = ctx.saved
        return (get_array_module(grad).exp(logp) - q) * grad[:, None], None


def cross_entropy(input: Any, target: Any, reduction: str = "mean",  # noqa: A002
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits (N, C) against integer classes (N,), as torch.nn.functional.cross_entropy."""
    x = array_of(input)
    t = _labels("cross_entropy", x, target)
    return _reduce("cross_entropy", CrossEntropy.apply(input, t, label_smoothing=label_smoothing), reduction)


def nll_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Negative log-likelihood of log-probabilities (N, C) at integer classes (N,)."""
    x = array_of(input)
    t = _labels("nll_loss", x, target)
    xp = get_array_module(x)
    return _reduce("nll_loss", -input[xp.arange(x.shape[0]), t], reduction)


def _same_shape(op: str, a: Any, b: Any) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{op}: input {shape_str(a.shape)} and target {shape_str(b.shape)} must have the same shape")


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """mean((input - target)^2);  d/dinput = 2 (input - target) / n."""
    _same_shape("mse_loss", input, target)
    d = input - target
    return _reduce("mse_loss", d * d, reduction)


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """mean(|input - target|);  d/dinput = sign(input - target) / n."""
    _same_shape("l1_loss", input, target)
    return _reduce("l1_loss", _abs(input - target), reduction)


def psnr_loss(input: Any, target: Any, reduction: str = "mean", eps: float = 1e-8) -> Tensor:  # noqa: A002
    """Each image's negative PSNR (MAX 1): 10 log10(mse_i + eps), mse_i over all axes but the first.

    The mean over images is minus what 'mean per-image PSNR' scores. MSE weighs images by their squared error, so
    the hard ones dominate; this loss weighs every image's decibels equally (NAFNet trains on it).
    d/dinput = 20 / ln(10) * (input_i - target_i) / (n_i (mse_i + eps)), n_i the elements of one image."""
    _same_shape("psnr_loss", input, target)
    if len(input.shape) < 2:
        raise ValueError(f"psnr_loss: expected a batch of images (N, ...), got shape {shape_str(input.shape)}")
    d = input - target
    per_image = mean(d * d, dim=tuple(range(1, len(input.shape))))
    return _reduce("psnr_loss", log(per_image + eps) * (10 / math.log(10)), reduction)


class BCEWithLogits(Function):
    """loss = max(x, 0) - x t + log(1 + exp(-|x|))  (stable form of -[t log s(x) + (1-t) log(1-s(x))]);
    dx = (sigmoid(x) - t) g, dt = -x g."""

    @staticmethod
    def forward(ctx: Context, x: Any, t: Any) -> Any:
        xp = get_array_module(x)
        ctx.save_for_backward(x, t)
        return xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-abs(x)))

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        x, t = ctx.saved
        xp = get_array_module(x)
        s = 0.5 * (xp.tanh(0.5 * x) + 1)
        return (s - t) * grad, (-x * grad if ctx.needs_input_grad[1] else None)


def binary_cross_entropy_with_logits(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Binary cross-entropy on logits, numerically stable for any |x|."""
    _same_shape("binary_cross_entropy_with_logits", input, target)
    return _reduce("binary_cross_entropy_with_logits", BCEWithLogits.apply(input, target), reduction)
