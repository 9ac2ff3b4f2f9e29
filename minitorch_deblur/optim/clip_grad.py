"""Gradient clipping: ``clip_grad_norm_`` (rescale all gradients together) and ``clip_grad_value_``."""
from __future__ import annotations

import math
from typing import Iterable, Union

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from ..functional.fast import cuda_optim

Params = Union[Tensor, Iterable[Tensor]]


def _with_grads(parameters: Params) -> list:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in params if p.grad is not None]


def clip_grad_norm_(parameters: Params, max_norm: float, norm_type: float = 2.0) -> Tensor:
    """total = (sum over all grads of |g|^norm_type)^(1/norm_type) (max |g| for inf); when total > max_norm every
    grad becomes g * max_norm / (total + 1e-6) (a new array; the old one is not written). Returns total (0-d).
    On a GPU the 2-norm takes ``_clip_on_gpu``: no copy to the host, no per-gradient chain of array operations."""
    params = _with_grads(parameters)
    if not params:
        return Tensor(0.0)
    xp = get_array_module(params[0].grad)
    norm_type = float(norm_type)
    if xp is not np and norm_type == 2.0 and len({p.grad.dtype for p in params}) == 1:
        return _clip_on_gpu(params, max_norm)
    if math.isinf(norm_type):
        total = max(float(xp.abs(p.grad).max()) for p in params)
    else:
        total = sum(float((xp.abs(p.grad.astype(xp.float64)) ** norm_type).sum()) for p in params) ** (1 / norm_type)
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for p in params:
            p.grad = p.grad * p.grad.dtype.type(coef)
    return Tensor(xp.asarray(total, dtype=params[0].grad.dtype))


def _clip_on_gpu(params: list, max_norm: float) -> Tensor:
    """clip_grad_norm_ (2-norm) without a copy to the host: the total and the scale min(1, coef) stay on the GPU
    (cuda_optim.clip_grad_norm), and every grad becomes g * scale (a new array; g * 1 where nothing is clipped)."""
    total, scale = cuda_optim.clip_grad_norm([p.grad for p in params], max_norm)
    for p in params:
        p.grad = p.grad * scale
    return Tensor(total)


def clip_grad_value_(parameters: Params, clip_value: float) -> None:
    """Every grad element clamped to [-clip_value, clip_value] (a new array)."""
    for p in _with_grads(parameters):
        p.grad = get_array_module(p.grad).clip(p.grad, -clip_value, clip_value)
