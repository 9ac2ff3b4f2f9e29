"""Multi-tensor optimiser updates on a GPU: one kernel updates every parameter of a group.

optim/multi_tensor.py lays a group's parameters, gradients and state out as views of flat buffers; each kernel
here then runs once over the flat arrays (one thread per element) instead of ~13 array operations per parameter
(Adam) on the per-parameter path. Each kernel's NumPy reference (the same arithmetic in the same order) is in
testing/cuda_references.py, which testing/fake_cupy.py runs in its place and tests/test_optim.py checks against
optim/'s per-parameter updates.
"""
from __future__ import annotations

from typing import Any, Sequence, Tuple

import numpy as np

from . import cuda_kernels

ADAM = r"""
T d = g;
if (l2 != (T)0) d = d + l2 * p;
if (decay != (T)1) p = p * decay;
m = beta1 * m + one_minus_beta1 * d;
v = beta2 * v + one_minus_beta2 * d * d;
p = p - step_size * m / (sqrt(v) / bias2_sqrt + eps);
"""

SGD_MOMENTUM = r"""
T d = g;
if (wd != (T)0) d = d + wd * p;
buf = first ? d : momentum * buf + one_minus_dampening * d;
p = p - lr * (nesterov ? d + momentum * buf : buf);
"""

SGD = r"""
T d = g;
if (wd != (T)0) d = d + wd * p;
p = p - lr * d;
"""

CLIP_COEF = r"""
double s = 0;
for (int j = 0; j < n; j++) s += partials[j];
double t = sqrt(s), coef = max_norm / (t + 1e-6);
total = (T)t;
scale = coef < 1 ? (T)coef : (T)1;
"""

_ADAM_IN = "T g, T l2, T decay, T beta1, T one_minus_beta1, T beta2, T one_minus_beta2, T step_size, " \
           "T bias2_sqrt, T eps"


def _register() -> None:
    register, elementwise = cuda_kernels.register, cuda_kernels.Elementwise
    register("adam", elementwise(_ADAM_IN, "T p, T m, T v", ADAM, "mt_adam"))
    register("sgd_momentum", elementwise("T g, T wd, T momentum, T one_minus_dampening, T lr, bool first, "
                                         "bool nesterov", "T p, T buf", SGD_MOMENTUM, "mt_sgd_momentum"))
    register("sgd", elementwise("T g, T wd, T lr", "T p", SGD, "mt_sgd"))
    register("sum_squares", cuda_kernels.Reduction("T x", "float64 y", "(double)x * (double)x", "a + b", "y = a",
                                                   "0", "mt_sum_squares"))
    register("clip_coef", elementwise("raw float64 partials, int32 n, float64 max_norm", "T total, T scale",
                                      CLIP_COEF, "mt_clip_coef"))


_register()


def clip_grad_norm(grads: Sequence[Any], max_norm: float) -> Tuple[Any, Any]:
    """(total 2-norm of all grads, scale = min(1, max_norm / (total + 1e-6))), both 0-d device arrays of the grads'
    dtype, without a copy to the host: one reduction per gradient and one kernel."""
    import cupy as cp

    partials = cp.empty(len(grads), dtype=np.float64)
    for i, g in enumerate(grads):
        cuda_kernels.kernel("sum_squares")(g, out=partials[i])
    total, scale = cp.empty((), dtype=grads[0].dtype), cp.empty((), dtype=grads[0].dtype)
    cuda_kernels.kernel("clip_coef")(partials, len(grads), float(max_norm), total, scale)
    return total, scale


def adam(g: Any, p: Any, m: Any, v: Any, *scalars: float) -> None:
    """One Adam step over flat arrays (p, m, v in place); scalars as ADAM's, after g."""
    t = p.dtype.type
    cuda_kernels.kernel("adam")(g, *(t(s) for s in scalars), p, m, v)


def sgd_momentum(g: Any, p: Any, buf: Any, wd: float, momentum: float, one_minus_dampening: float, lr: float,
                 first: bool, nesterov: bool) -> None:
    """One SGD-with-momentum step over flat arrays (p and buf in place)."""
    t = p.dtype.type
    cuda_kernels.kernel("sgd_momentum")(g, t(wd), t(momentum), t(one_minus_dampening), t(lr), bool(first),
                                        bool(nesterov), p, buf)


def sgd(g: Any, p: Any, wd: float, lr: float) -> None:
    """One plain SGD step over flat arrays (p in place)."""
    t = p.dtype.type
    cuda_kernels.kernel("sgd")(g, t(wd), t(lr), p)
