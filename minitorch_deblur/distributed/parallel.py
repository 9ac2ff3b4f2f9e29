"""Data parallelism as a wrapper around a training ``Task`` (train/task.py): the loop itself is unchanged.

``DataParallel(task, comm)`` answers the loop as the task does, except:

- ``batches(epoch)``: every rank draws the whole global batch (the same shuffling, degradations and
  augmentations as one process) and keeps its rows ``shard_rows(n, rank, size)``;
- ``build``: each dropout layer draws its mask for the whole global batch and keeps its rows
  (``ShardedGenerator``), so the masks do not depend on the number of ranks; ``--sync-bn`` makes batch norm use
  the global batch's statistics (sync_bn.py);
- after every backward the task calls ``task.sync(parameters)``: ``GradientSync`` weights each rank's gradient by
  its share of the batch (n_rank / n_global: the loss is the mean over the global batch), sums them with one
  allreduce per flat float32 bucket and writes the sums back as the gradients, before clipping and the
  optimiser step, so every rank takes the same step;
- ``update`` returns the global batch's mean loss and summed metrics (one small allreduce);
- ``evaluate``, ``describe`` and ``finish`` run on rank 0 only, which alone writes the run folder.

Exactness: with the same global batch, K ranks compute the same sums as one process, only grouped differently
(per shard, then across shards), so the weights agree to float32 rounding (tests/test_distributed.py).
"""
from __future__ import annotations

import os
import sys
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..backend import Generator, get_array_module
from ..errors import UserError
from .comm import BUCKET_BYTES, bucketize


def shard_rows(n: int, rank: int, size: int) -> Tuple[int, int]:
    """Rows [lo, hi) of a batch of n that rank takes: equal shards, the first n mod size ranks one row more."""
    base, extra = divmod(n, size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


class Shard:
    """The rows of the current global batch this rank holds: [lo, hi) of ``total``."""

    def __init__(self) -> None:
        self.lo, self.hi, self.total = 0, 0, 0

    def set(self, lo: int, hi: int, total: int) -> None:
        self.lo, self.hi, self.total = lo, hi, total

    @property
    def weight(self) -> float:
        """This rank's share of the global batch: what its mean loss weighs in the global mean."""
        return (self.hi - self.lo) / self.total if self.total else 1.0


class ShardedGenerator:
    """A dropout layer's ``Generator`` that draws for the whole global batch and returns this rank's rows: the same
    numbers one process draws, whatever the number of ranks. Draws of another leading size pass through."""

    def __init__(self, inner: Generator, shard: Shard) -> None:
        self.inner, self.shard = inner, shard

    def random(self, shape: Sequence[int], dtype: Any = np.float32, device: str = "cpu") -> Any:
        shard, shape = self.shard, tuple(shape)
        if shard.total and shape and shape[0] == shard.hi - shard.lo and shard.total != shape[0]:
            full = self.inner.random((shard.total,) + shape[1:], dtype=dtype, device="cpu")
            return self.inner._out(np.ascontiguousarray(full[shard.lo:shard.hi]), device)
        return self.inner.random(shape, dtype=dtype, device=device)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class GradientSync:
    """``sync(parameters)``: each gradient times this rank's share of the batch, summed across ranks in flat
    float32 buckets of at most ``bucket_bytes`` (one allreduce each), written back as the gradients."""

    def __init__(self, comm: Any, shard: Optional[Shard] = None, bucket_bytes: int = BUCKET_BYTES) -> None:
        self.comm, self.shard, self.bucket_bytes = comm, shard, bucket_bytes
        self.calls = self.bytes = 0

    def __call__(self, parameters: Any) -> None:
        held = [p for p in parameters if p.grad is not None]
        if not held:
            return
        weight = self.shard.weight if self.shard is not None and self.shard.total else 1.0 / self.comm.size
        for bucket in bucketize([p.grad.size for p in held], self.bucket_bytes):
            grads = [held[i].grad for i in bucket]
            xp = get_array_module(grads[0])
            flat = xp.concatenate([g.reshape(-1).astype(np.float32, copy=False) for g in grads])
            flat *= np.float32(weight)
            self.comm.allreduce_(flat)
            self.calls, self.bytes = self.calls + 1, self.bytes + flat.nbytes
            offset = 0
            for i in bucket:
                g = held[i].grad
                held[i].grad = flat[offset:offset + g.size].reshape(g.shape).astype(g.dtype, copy=False)
                offset += g.size


class ShardedBatches:
    """The task's batches, each cut to this rank's rows; a final batch smaller than the world is skipped by every
    rank alike (it cannot give each rank a row)."""

    def __init__(self, batches: Any, shard: Shard, rank: int, size: int) -> None:
        self.batches, self.shard, self.rank, self.size = batches, shard, rank, size

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[Any]:
        for batch in self.batches:
            arrays = batch if isinstance(batch, (tuple, list)) else (batch,)
            n = len(arrays[0])
            if n < self.size:
                continue
            lo, hi = shard_rows(n, self.rank, self.size)
            self.shard.set(lo, hi, n)
            rows = tuple(a[lo:hi] for a in arrays)
            yield rows if isinstance(batch, (tuple, list)) else rows[0]
        self.shard.set(0, 0, 0)


class DataParallel:
    """A ``Task`` trained on K ranks (module docstring). Anything not overridden is the wrapped task's."""

    def __init__(self, task: Any, comm: Any, sync_bn: bool = False) -> None:
        self.task, self.comm, self.sync_bn = task, comm, sync_bn
        self.rank, self.size, self.is_root = comm.rank, comm.size, comm.rank == 0
        self.shard = Shard()
        self.sync = task.sync = GradientSync(comm, self.shard)   # the task calls it after each backward

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)

    def build(self, generator: Generator) -> Any:
        from ..backend import resolve_device
        from ..nn.dropout import Dropout

        if resolve_device(self.task.config.device) == "cuda" and self.comm.name == "mpi" and self.size > 1:
            from .comm import NcclCommunicator, use_gpu_of_rank

            if use_gpu_of_rank(self.comm):      # one GPU per rank, before the model moves there
                self.comm.nccl = NcclCommunicator(self.comm)
            elif self.is_root:                  # more ranks than GPUs on a node: NCCL refuses to share a GPU
                print("note: more ranks than GPUs on a node: the gradients go through the host (MPI), not NCCL")
        built = self.task.build(generator)
        for module in built.model.modules():
            if isinstance(module, Dropout) and module.generator is not None:
                module.generator = ShardedGenerator(module.generator, self.shard)
        if self.sync_bn:
            from .sync_bn import convert_sync_batchnorm

            convert_sync_batchnorm(built.model, self.comm, self.shard)
        return built

    def batches(self, epoch: int) -> ShardedBatches:
        return ShardedBatches(self.task.batches(epoch), self.shard, self.rank, self.size)

    def update(self, model: Any, optimizers: Dict[str, Any], batch: Any, index: int, last_finite: Optional[float],
               check_now: bool) -> Tuple[Any, Any, int, Dict[str, Any]]:
        """The task's update on this rank's shard, then the global batch's mean loss and summed metrics. The task
        does not check its local loss (``check_now`` False): a rank that stopped alone would leave the others
        waiting; the loop checks the global loss (NaN on every rank if on one) and the summed gradients instead."""
        loss, finite, n, sums = self.task.update(model, optimizers, batch, index, last_finite, False)
        keys = sorted(sums)
        total = self.comm.allreduce_values([float(loss) * n, n] + [float(sums[k]) for k in keys])
        return total[0] / total[1], finite, int(total[1]), {k: total[2 + i] for i, k in enumerate(keys)}

    def evaluate(self, model: Any) -> Dict[str, float]:
        return self.task.evaluate(model) if self.is_root else {}

    def describe(self, record: Dict[str, float]) -> str:
        return self.task.describe(record) if self.is_root else ""

    def finish(self, model: Any, history: Dict[str, List[float]], run_dir: Any, data_source: str) -> str:
        return self.task.finish(model, history, run_dir, data_source) if self.is_root else ""


WORLD: Any = None   # the communicator ``start`` made


def start(config: Any) -> int:
    """``--distributed``: join the MPI world, check that its size divides the batch, quiet ranks > 0 (rank 0 alone
    prints and writes); returns this rank."""
    from .comm import mpi_communicator

    global WORLD
    WORLD = mpi_communicator()
    if config.batch_size % WORLD.size:
        if WORLD.rank:
            raise SystemExit(2)
        raise UserError(f"--distributed: {WORLD.size} ranks do not divide --batch-size {config.batch_size}; give a "
                        f"batch size that is a multiple of {WORLD.size} (each rank takes batch/ranks rows), or "
                        "another mpiexec -n")
    if WORLD.rank:
        sys.stdout = open(os.devnull, "w")
    return WORLD.rank


def data_parallel(task: Any, config: Any) -> DataParallel:
    """The loop's hook: ``task`` on the world ``start`` joined (a one-process world if it was not called)."""
    from .comm import LocalCommunicator

    return DataParallel(task, WORLD if WORLD is not None else LocalCommunicator(), config.sync_bn)
