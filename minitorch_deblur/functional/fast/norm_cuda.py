"""Normalisation statistics on a GPU: ``NormalizeCuda``, norm.py's ``Normalize`` with one-pass ``moments``.

When it is chosen: ``F.batch_norm`` / ``F.instance_norm`` (dispatch.py) on CuPy arrays; NumPy takes ``Normalize``.
"""
from __future__ import annotations

from typing import Any, Tuple

from ..norm import Normalize
from . import cuda_kernels


class NormalizeCuda(Normalize):
    """``Normalize`` whose (mean, x - mean, biased var) of a 4-D (N, C, H, W) input over (0, 2, 3) (batch norm) or
    (2, 3) (instance norm) come from one pass over x: a thread per (n, c) row runs Welford's update, the rows then
    merge per channel (cuda_kernels.norm_stats). Other ranks and axes take ``Normalize.moments``."""

    name = "normalize"

    @staticmethod
    def moments(x: Any, axes: Tuple[int, ...], count: int) -> Tuple[Any, Any, Any]:
        if x.ndim == 4 and axes in ((0, 2, 3), (2, 3)):
            mean, var = cuda_kernels.norm_stats(x, per_sample=axes == (2, 3))
            return mean, x - mean, var
        return Normalize.moments(x, axes, count)
