"""One-kernel activations, dropout and the conv's output layout on a GPU.

    LEAKY            y = x if x > 0 else a x          (a = 0: ReLU)       backward: cuda_kernels' ACTIVATION_BACKWARD
    DROPOUT          y = x / (1 - p) where r >= p, else 0                  (r: the uniform draws of the mask)
    DROPOUT_BACKWARD dx = g / (1 - p) where r >= p, else 0
    FROM_ROWS        (C, N*H*W) GEMM rows -> (N, C, H, W) plus the bias (conv.py's _from_rows: a copy and an add)

functional/activation.py and functional/dropout.py issue 2-4 array operations for each of these; fusion.py's
``Activation`` and ``DropoutCuda`` run these kernels instead (dispatch.py picks them on CuPy arrays).
Their NumPy references are in testing/cuda_references.py, which testing/fake_cupy.py runs in their place.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

from . import cuda_kernels

LEAKY = r"""
y = x > (T)0 ? x : x * slope;
"""

DROPOUT = r"""
y = r >= p ? x * scale : (T)0;
"""

FROM_ROWS = r"""
long long p = i % P, o = (i / P) % O, n = i / (P * O);
T v = rows[o * NP + n * P + p];
out = has_bias ? v + b[o] : v;
"""


def _register() -> None:
    register, elementwise = cuda_kernels.register, cuda_kernels.Elementwise
    register("leaky", elementwise("T x, T slope", "T y", LEAKY, "mt_leaky"))
    register("dropout", elementwise("T x, T r, T p, T scale", "T y", DROPOUT, "mt_dropout"))
    register("from_rows", elementwise("raw T rows, raw T b, int64 O, int64 NP, int64 P, bool has_bias", "T out",
                                      FROM_ROWS, "mt_from_rows"))


_register()


def leaky(x: Any, slope: float) -> Any:
    """act(x) = x if x > 0 else slope x, one kernel."""
    return cuda_kernels.kernel("leaky")(x, x.dtype.type(slope))


def from_rows(rows: Any, n: int, hw: Tuple[int, int], bias: Optional[Any]) -> Any:
    """(C, N*H*W) -> a contiguous (N, C, H, W), plus a per-channel bias: conv.py's _from_rows in one kernel."""
    import cupy as cp

    c = rows.shape[0]
    if n == 1 and bias is None:                       # one image: the rows are already its layout
        return cp.ascontiguousarray(rows).reshape(1, c, *hw)
    out = cp.empty((n, c, *hw), dtype=rows.dtype)
    cuda_kernels.kernel("from_rows")(cp.ascontiguousarray(rows), rows if bias is None else bias, c, rows.shape[1],
                                     hw[0] * hw[1], bias is not None, out)
    return out


def dropout(x: Any, r: Any, p: float) -> Any:
    """x / (1 - p) where r >= p, else 0, one kernel (also the backward pass, with g for x)."""
    t = x.dtype.type
    return cuda_kernels.kernel("dropout")(x, r, t(p), t(1.0 / (1.0 - p)))
