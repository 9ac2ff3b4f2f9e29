"""Normalisation: batch_norm (training and eval paths) and instance_norm, sharing one ``Normalize`` operator.

Batch norm normalises each channel over (N, H, W); instance norm over (H, W) of each sample. Both are
``Normalize`` with different reduction axes, followed by the per-channel affine ``weight * x_hat + bias``.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, Type

from ..autograd import Context, Function, Tensor, array_of
from ..backend import get_array_module, shape_str


class Normalize(Function):
    """y = w * x_hat + b,  x_hat = (x - mean) / sqrt(var + eps), statistics over ``axes`` (biased variance).

    When running_mean/running_var arrays are given they are updated in place with ``momentum``
    (running_var takes the unbiased variance), as PyTorch does.
    Backward, with sums over ``axes`` of M elements each:
    dx = w / sqrt(var + eps) * (g - sum(g) / M - x_hat * sum(g x_hat) / M),
    dw = sum(g x_hat), db = sum(g) over every axis but the channel axis 1.
    The statistics come from ``moments``, and dx's two sums pass through ``gradient_sums``: a subclass may replace
    either (the class applied is ``ctx.function``).
    """

    @staticmethod
    def moments(x: Any, axes: Tuple[int, ...]) -> Tuple[Any, Any, Any, int]:
        """(mean, x - mean, biased var, count) over ``axes``, the axes kept as size 1; count: the elements each
        statistic is over."""
        count = x.size // _reduced_size(x.shape, axes)
        mean = _sum_over(x, axes) / x.dtype.type(count)
        x_hat = x - mean  # centred for now; each line is one pass over x, with no other temporaries
        var = _sum_over(x_hat, axes, x_hat) / x.dtype.type(count)
        return mean, x_hat, var, count

    @staticmethod
    def gradient_sums(sum_g: Any, sum_gx: Any) -> Tuple[Any, Any]:
        """The sums of g and g x_hat that dx needs, over the elements the statistics were over: here, as given."""
        return sum_g, sum_gx

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Optional[Any], bias: Optional[Any], axes: Tuple[int, ...] = (0,),
                eps: float = 1e-5, running_mean: Optional[Any] = None, running_var: Optional[Any] = None,
                momentum: float = 0.1) -> Any:
        xp = get_array_module(x)
        mean, x_hat, var, count = ctx.function.moments(x, axes)   # x_hat centred, scaled below in place
        inv_std = 1 / xp.sqrt(var + x.dtype.type(eps))
        x_hat *= inv_std
        if running_mean is not None:
            c = x.shape[1]
            _update_running(running_mean, mean.reshape(-1, c).mean(axis=0), momentum)
            _update_running(running_var, var.reshape(-1, c).mean(axis=0) * (count / max(count - 1, 1)), momentum)
        ctx.axes, ctx.count = axes, count
        ctx.param_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        ctx.save_for_backward(x_hat, inv_std, weight)
        if weight is None and bias is None:
            return x_hat
        y = x_hat * weight.reshape(ctx.param_shape) if weight is not None else x_hat.copy()
        if bias is not None:
            y += bias.reshape(ctx.param_shape)
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        x_hat, inv_std, weight = ctx.saved
        channel_only = tuple(i for i in range(grad.ndim) if i != 1)
        sum_g = _sum_over(grad, ctx.axes)                  # (1, C, 1, 1) for batch norm, (N, C, 1, 1) for instance
        sum_gx = _sum_over(grad, ctx.axes, x_hat)
        dw = sum_gx.sum(axis=channel_only) if ctx.needs_input_grad[1] else None
        db = sum_g.sum(axis=channel_only) if ctx.needs_input_grad[2] else None
        dx = None
        if ctx.needs_input_grad[0]:
            sum_g, sum_gx = ctx.function.gradient_sums(sum_g, sum_gx)
            m = grad.dtype.type(ctx.count)
            scale = inv_std * weight.reshape(ctx.param_shape) if weight is not None else inv_std
            dx = x_hat * (-sum_gx / m)
            dx += grad
            dx -= sum_g / m
            dx *= scale
        return dx, dw, db


def _reduced_size(shape: Tuple[int, ...], axes: Tuple[int, ...]) -> int:
    """How many statistics there are: the product of the axes not reduced."""
    n = 1
    for i, s in enumerate(shape):
        if i not in axes:
            n *= s
    return n


def _sum_over(a: Any, axes: Tuple[int, ...], b: Optional[Any] = None) -> Any:
    """sum(a) or sum(a * b) over ``axes`` keeping them as size 1, in one pass with einsum (no temporary a * b)."""
    xp = get_array_module(a)
    letters = "abcdefgh"[:a.ndim]
    kept = "".join(ch for i, ch in enumerate(letters) if i not in axes)
    operands = (a,) if b is None else (a, b)
    subscripts = ",".join([letters] * len(operands)) + "->" + kept
    out = xp.einsum(subscripts, *operands)
    return out.reshape(tuple(1 if i in axes else s for i, s in enumerate(a.shape)))


def _update_running(running: Any, value: Any, momentum: float) -> None:
    """running <- (1 - momentum) running + momentum value, in place (so the module's buffer updates)."""
    running *= 1 - momentum
    running += (momentum * value).astype(running.dtype)


def _check(op: str, x: Any, named: dict) -> None:
    if x.ndim < 2:
        raise ValueError(f"{op}: input of shape {shape_str(x.shape)} needs at least 2 dims (N, C, ...)")
    for name, p in named.items():
        if p is not None and tuple(array_of(p).shape) != (x.shape[1],):
            raise ValueError(f"{op}: {name} of shape {shape_str(array_of(p).shape)} does not match the input's "
                             f"{x.shape[1]} channels (input shape {shape_str(x.shape)}); expected ({x.shape[1]},)")


def batch_norm(input: Any, running_mean: Optional[Any], running_var: Optional[Any],  # noqa: A002
               weight: Optional[Any] = None, bias: Optional[Any] = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5, *, normalize: Type[Normalize] = Normalize) -> Tensor:
    """Batch normalisation of (N, C) or (N, C, H, W) per channel, as torch.nn.functional.batch_norm.

    Training (or no running stats): the batch's statistics, running ones updated in place.
    Eval: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias, gradients flowing to x, weight, bias.
    ``normalize``: the Function applied in training (F.batch_norm passes the one for the input's device).
    """
    x = array_of(input)
    _check("batch_norm", x, {"running_mean": running_mean, "running_var": running_var,
                             "weight": weight, "bias": bias})
    if training or running_mean is None:
        if x.size // x.shape[1] <= 1:
            raise ValueError(f"batch_norm: training needs more than one value per channel, got input shape "
                             f"{shape_str(x.shape)}; use a batch size > 1 or call model.eval()")
        return normalize.apply(input, weight, bias, axes=(0,) + tuple(range(2, x.ndim)), eps=eps,
                               running_mean=running_mean if training else None,
                               running_var=running_var if training else None, momentum=momentum)
    xp = get_array_module(x)
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    inv_std = (1 / xp.sqrt(running_var + eps)).astype(x.dtype).reshape(shape)
    y = (input - running_mean.astype(x.dtype).reshape(shape)) * inv_std
    if weight is not None:
        y = y * weight.reshape(shape)
    return y + bias.reshape(shape) if bias is not None else y


def instance_norm(input: Any, running_mean: Optional[Any] = None, running_var: Optional[Any] = None,  # noqa: A002
                  weight: Optional[Any] = None, bias: Optional[Any] = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5, *, normalize: Type[Normalize] = Normalize) -> Tensor:
    """Instance normalisation: each (sample, channel) plane of (N, C, H, W) normalised over its own H, W.
    ``normalize``: the Function applied (F.instance_norm passes the one for the input's device)."""
    x = array_of(input)
    _check("instance_norm", x, {"running_mean": running_mean, "running_var": running_var,
                                "weight": weight, "bias": bias})
    if x.ndim < 3:
        raise ValueError(f"instance_norm: input of shape {shape_str(x.shape)} needs spatial dims (N, C, H, W)")
    if not use_input_stats:
        if running_mean is None:
            raise ValueError("instance_norm: use_input_stats=False needs running_mean and running_var")
        return batch_norm(input, running_mean, running_var, weight, bias, training=False, eps=eps)
    return normalize.apply(input, weight, bias, axes=tuple(range(2, x.ndim)), eps=eps,
                           running_mean=running_mean, running_var=running_var, momentum=momentum)
