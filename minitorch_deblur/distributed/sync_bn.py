"""``--sync-bn``: batch norm whose statistics are those of the global batch, across every rank.

Default (as PyTorch's DDP): each rank normalises its shard with the shard's own mean and variance. That is a
different computation from one process at the global batch (smaller batches: noisier statistics), so the
weights drift apart from the one-process run. ``--sync-bn`` sums, per channel, the count, sum(x) and
sum((x - mean)^2) across ranks in the forward pass, and sum(g) and sum(g x_hat) in the backward pass (the two sums
batch norm's gradient needs, functional/norm.py): every rank then computes exactly what one process computes on
the whole batch. Three small allreduces per layer and step (2C floats each).
"""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from ..backend import get_array_module
from ..functional import norm as F_norm
from ..functional.norm import Normalize, _sum_over

_COMM: Any = None    # the communicator SyncNormalize reduces over (set by ``convert_sync_batchnorm``)
_SHARD: Any = None   # this rank's share of the batch (parallel.Shard), None: 1 / size


def _allreduce(a: Any) -> Any:
    """Sum a small float array across ranks (float64 on the wire, so the sums lose nothing)."""
    xp = get_array_module(a)
    host = np.ascontiguousarray(a if xp is np else xp.asnumpy(a), dtype=np.float64).ravel()
    summed = _COMM.allreduce_values(host).reshape(a.shape)
    return xp.asarray(summed.astype(a.dtype))


class SyncNormalize(Normalize):
    """Normalize over the global batch (module docstring); batch norm only (axes include the batch axis 0)."""

    @staticmethod
    def moments(x: Any, axes: Tuple[int, ...]) -> Tuple[Any, Any, Any, int]:
        """Normalize.moments over the global batch: this rank's sums and count, summed over the ranks."""
        xp = get_array_module(x)
        sums = _sum_over(x, axes)   # with this rank's count appended: one allreduce for both
        host = np.append(np.asarray(sums if xp is np else xp.asnumpy(sums), dtype=np.float64).ravel(),
                         x.size // x.shape[1])
        total = _COMM.allreduce_values(host)
        count = int(total[-1])
        mean = xp.asarray(total[:-1].reshape(sums.shape).astype(x.dtype)) / x.dtype.type(count)
        x_hat = x - mean
        var = _allreduce(_sum_over(x_hat, axes, x_hat)) / x.dtype.type(count)
        return mean, x_hat, var, count

    @staticmethod
    def gradient_sums(sum_g: Any, sum_gx: Any) -> Tuple[Any, Any]:
        """dx's two sums over the global batch. dw and db stay this rank's share (GradientSync sums them with the
        others'). The global loss weighs this rank's mean loss by w = n_rank / n_global, so the sums over all
        ranks are of w * g; they are divided by this rank's own w, which GradientSync multiplies back."""
        w = sum_g.dtype.type(_weight())
        both = _allreduce(get_array_module(sum_g).concatenate([sum_g, sum_gx], axis=1) * w) / w
        c = sum_g.shape[1]
        return both[:, :c], both[:, c:]


def _sync_forward(module: Any, x: Any) -> Any:
    """_BatchNorm.forward with the statistics of the global batch in training (nn/norm.py's, one argument more)."""
    if not (module.training or not module.track_running_stats):
        return type(module).forward(module, x)
    module._check_input(x)
    module._count_batch()
    momentum = module.momentum
    if momentum is None:
        momentum = 1.0 / max(1, int(module.num_batches_tracked)) if module.track_running_stats else 0.0
    return F_norm.batch_norm(x, module.running_mean, module.running_var, module.weight, module.bias, training=True,
                             momentum=momentum, eps=module.eps, normalize=SyncNormalize)


def _weight() -> float:
    return _SHARD.weight if _SHARD is not None and _SHARD.total else 1.0 / _COMM.size


def convert_sync_batchnorm(model: Any, comm: Any, shard: Any = None) -> int:
    """Make every batch-norm layer of ``model`` reduce its statistics over ``comm``; returns how many."""
    from ..nn.norm import _BatchNorm

    global _COMM, _SHARD
    _COMM, _SHARD = comm, shard
    count = 0
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            object.__setattr__(module, "forward", lambda x, m=module: _sync_forward(m, x))
            count += 1
    return count
