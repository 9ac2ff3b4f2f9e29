"""Normalisation on a GPU: ``NormalizeCuda``, norm.py's ``Normalize`` in three CUDA kernels each way.

When it is chosen: ``F.batch_norm`` / ``F.instance_norm`` (dispatch.py) on CuPy arrays; NumPy takes ``Normalize``.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

from ...autograd import Context
from ..norm import Normalize, _reduced_size
from . import cuda_kernels, cuda_norm


class NormalizeCuda(Normalize):
    """``Normalize`` for a 4-D (N, C, H, W) input over (0, 2, 3) (batch norm) or (2, 3) (instance norm) as fused
    kernels (cuda_norm.py): statistics, finalize (+ running statistics), apply; backward: row sums, channel sums,
    dx; optionally with a ReLU / LeakyReLU on the output inside the same kernels (``slope``, dispatch.py's
    ``norm_activation``). Anything else (other ranks or axes, mixed dtypes, only one of weight / bias, instance
    norm with running statistics) takes ``Normalize`` with one-pass ``moments``."""

    name = "normalize"

    @staticmethod
    def moments(x: Any, axes: Tuple[int, ...]) -> Tuple[Any, Any, Any, int]:
        if x.ndim == 4 and axes in ((0, 2, 3), (2, 3)):
            mean, var = cuda_kernels.norm_stats(x, per_sample=axes == (2, 3))
            return mean, x - mean, var, x.size // _reduced_size(x.shape, axes)
        return Normalize.moments(x, axes)

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Optional[Any], bias: Optional[Any], axes: Tuple[int, ...] = (0,),
                eps: float = 1e-5, running_mean: Optional[Any] = None, running_var: Optional[Any] = None,
                momentum: float = 0.1, slope: Optional[float] = None, tracked: Optional[Any] = None) -> Any:
        """``slope``: y = LeakyReLU(y) with that slope (0: ReLU); ``tracked``: the layer's int64 batch counter,
        += 1 inside the statistics kernel (with running statistics). Both only where ``fusable`` (dispatch.py)."""
        ctx.fused = fusable(x, weight, bias, axes, running_mean, running_var)
        if not ctx.fused:
            if slope is not None or tracked is not None:
                raise ValueError("NormalizeCuda: an activation or a batch counter is fused only where fusable() holds")
            return Normalize.forward(ctx, x, weight, bias, axes, eps, running_mean, running_var, momentum)
        per_sample = axes == (2, 3)
        running = None if running_mean is None else (running_mean, running_var, momentum)
        if tracked is not None and running is None:
            raise ValueError("NormalizeCuda: a batch counter needs running statistics")
        y, x_hat, inv_std = cuda_norm.forward(_contiguous(x), weight, bias, per_sample, eps, running, slope, tracked)
        ctx.per_sample, ctx.slope = per_sample, slope
        ctx.save_for_backward(x_hat, inv_std, weight, y if slope is not None else None)
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        if not ctx.fused:
            return Normalize.backward(ctx, grad)
        x_hat, inv_std, weight, y = ctx.saved
        dx, dw, db = cuda_norm.backward(grad, x_hat, inv_std, weight, ctx.per_sample,
                                        ctx.needs_input_grad[1] or ctx.needs_input_grad[2], y, ctx.slope)
        return (dx if ctx.needs_input_grad[0] else None, dw if ctx.needs_input_grad[1] else None,
                db if ctx.needs_input_grad[2] else None)


def _contiguous(x: Any) -> Any:
    import cupy as cp

    return cp.ascontiguousarray(x)


def fusable(x: Any, weight: Optional[Any], bias: Optional[Any], axes: Tuple[int, ...],
             running_mean: Optional[Any], running_var: Optional[Any]) -> bool:
    """Whether the fused kernels cover this call (see ``NormalizeCuda``)."""
    if x.ndim != 4 or axes not in ((0, 2, 3), (2, 3)) or (weight is None) != (bias is None):
        return False
    if (running_mean is None) != (running_var is None) or (running_mean is not None and axes == (2, 3)):
        return False
    same = [a for a in (weight, bias, running_mean, running_var) if a is not None]
    return all(a.dtype == x.dtype and a.ndim == 1 and a.flags.c_contiguous for a in same)
