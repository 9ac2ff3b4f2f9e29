"""Lesson 06: beyond one machine. Data-parallel training: K processes (ranks), each with the whole model and 1/K
of every batch, whose gradients are summed by an allreduce after backward.

Run:  mpiexec -n 2 python lessons/06_data_parallel.py     (2 ranks: real MPI collectives)
      python lessons/06_data_parallel.py                  (one process: the same arithmetic, the K ranks simulated
                                                           in turn; it says how to run the real thing)
      --smoke: smaller models and batches, seconds.
Needs mpi4py and MPICH for the real ranks: pip install -e ".[distributed]". Training itself:
      mpiexec -n 2 python -m minitorch_deblur.train cnn --distributed --sync-bn

What it shows
1. An allreduce: every rank holds an array; afterwards every rank holds their sum. Implementations move about
   2 (K-1)/K x the bytes per rank (a ring: reduce-scatter, then all-gather), whatever K is.
2. Why K ranks at batch B/K equal one process at batch B: the loss is a mean over the batch,
   L = sum_k (n_k / B) L_k, so its gradient is the n_k / B-weighted sum of the shards' gradients: an allreduce.
   Shown numerically: the summed shard gradients equal the full batch's to float32 rounding (SRCNN).
   Randomness must follow the samples, not the ranks: every rank draws the dropout masks and degradations of the
   whole global batch and keeps its rows (distributed/parallel.py), so the result does not depend on K.
3. Batch norm breaks the sum: each shard is normalised by its own mean and variance, a different function of the
   batch. The gradients then differ (shown on the CNN); --sync-bn sums the statistics (and the two sums of the
   backward pass) across ranks, and they agree again (distributed/sync_bn.py).
4. The measured scaling curve (benchmarks/scaling.py, results/scaling.md) and the paper model for N nodes: each
   node's compute shrinks as 1/N, the allreduce does not, so small models stop scaling first.
Files to read: distributed/comm.py, distributed/parallel.py, distributed/sync_bn.py, train/task.py (minimise).
Tests that prove it: tests/test_distributed.py
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, List, Optional, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import minitorch_deblur.functional as F  # noqa: E402
from minitorch_deblur import Generator, Tensor  # noqa: E402
from minitorch_deblur.distributed import GradientSync, LocalCommunicator, shard_rows  # noqa: E402
from minitorch_deblur.models.registry import REGISTRY  # noqa: E402


def world() -> Any:
    """The MPI world when mpi4py is there (1 rank without mpiexec), else a one-process stand-in."""
    try:
        from minitorch_deblur.distributed import mpi_communicator
        return mpi_communicator()
    except Exception:   # no mpi4py / no MPI runtime: the single-process mode
        return LocalCommunicator()


def say(comm: Any, *lines: str) -> None:
    if comm.rank == 0:
        print(*lines, sep="\n", flush=True)


def allreduce_demo(comm: Any) -> None:
    say(comm, "1. An allreduce")
    mine = np.arange(4, dtype=np.float32) + 10 * comm.rank
    if comm.size > 1:
        before = comm.comm.gather(mine.tolist(), root=0)
        comm.allreduce_(mine)
        after = comm.comm.gather(mine.tolist(), root=0)
        if comm.rank == 0:
            for r in range(comm.size):
                print(f"   rank {r}: {before[r]} -> {after[r]}")
    else:
        ranks = [np.arange(4, dtype=np.float32) + 10 * r for r in range(2)]
        total = sum(ranks)
        for r, a in enumerate(ranks):
            print(f"   (simulated) rank {r}: {a.tolist()} -> {total.tolist()}")
        print("   one process here: run  mpiexec -n 2 python lessons/06_data_parallel.py  for real ranks")
    say(comm, "   every rank ends with the sum; a ring allreduce sends 2(K-1)/K x the array's bytes per rank\n")


def gradients(model: Any, x: np.ndarray, y: np.ndarray, classify: bool) -> List[np.ndarray]:
    for p in model.parameters():
        p.grad = None
    out = model(Tensor(x))
    loss = F.cross_entropy(out, y) if classify else F.mse_loss(out, Tensor(y))
    loss.backward()
    return [p.grad.copy() for p in model.parameters()]


def sharded_gradients(model: Any, x: np.ndarray, y: np.ndarray, classify: bool, k: int) -> List[np.ndarray]:
    """What K ranks compute, simulated in turn: each shard's gradient weighted by n_k / B, summed."""
    total = None
    for rank in range(k):
        lo, hi = shard_rows(len(x), rank, k)
        g = gradients(model, x[lo:hi], y[lo:hi], classify)
        w = np.float32((hi - lo) / len(x))
        total = [w * a for a in g] if total is None else [t + w * a for t, a in zip(total, g)]
    return total


def worst(a: List[np.ndarray], b: List[np.ndarray]) -> float:
    """||a - b|| / ||a|| over all the gradients together: a relative difference. (Per parameter it would blow up
    on the conv biases before a batch norm, whose gradient is zero up to rounding: the norm removes their mean.)"""
    diff = sum(float(((u - v).astype(np.float64) ** 2).sum()) for u, v in zip(a, b))
    return (diff / sum(float((u.astype(np.float64) ** 2).sum()) for u in a)) ** 0.5


def across_ranks(comm: Any, model: Any, x: np.ndarray, y: np.ndarray, classify: bool) -> List[np.ndarray]:
    """The real thing: this rank's shard, then GradientSync (the n_k / B weights, one allreduce per bucket)."""
    from minitorch_deblur.distributed.parallel import Shard

    shard = Shard()
    shard.set(*shard_rows(len(x), comm.rank, comm.size), len(x))
    gradients(model, x[shard.lo:shard.hi], y[shard.lo:shard.hi], classify)
    GradientSync(comm, shard)(list(model.parameters()))
    return [p.grad.copy() for p in model.parameters()]


def equal_batches(comm: Any, batch: int) -> None:
    say(comm, f"2. K ranks at batch B/K = one process at batch B (SRCNN, B = {batch})")
    model = REGISTRY["srcnn"].cls(generator=Generator(0))
    x = np.random.default_rng(0).random((batch, 3, 16, 16), dtype=np.float32)
    y = np.clip(x + 0.05, 0, 1).astype(np.float32)
    full = gradients(model, x, y, False)
    if comm.rank == 0:
        for k in (1, 2, 4, 8):
            print(f"   K = {k}: relative difference from one process at B: "
                  f"{worst(full, sharded_gradients(model, x, y, False, k)):.1e}")
    if comm.size > 1:
        real = across_ranks(comm, model, x, y, False)
        say(comm, f"   across the {comm.size} real ranks (GradientSync): {worst(full, real):.1e}")
    say(comm, "   float32 rounding only: the same sums, grouped per shard first\n")


def batch_norm(comm: Any, batch: int) -> None:
    say(comm, f"3. Batch norm (the CNN, B = {batch}; dropout off to isolate it)")
    model = REGISTRY["cnn"].cls(generator=Generator(0), dropout=0.0)
    model.train()
    rng = np.random.default_rng(1)
    x, y = rng.random((batch, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, batch)
    full = gradients(model, x, y, True)
    if comm.rank == 0:
        for k in (2, 4):
            local = worst(full, sharded_gradients(model, x, y, True, k))
            print(f"   K = {k}, local statistics: relative difference {local:.1e}")
    if comm.size > 1:
        from minitorch_deblur.distributed.sync_bn import convert_sync_batchnorm

        local = across_ranks(comm, model, x, y, True)
        convert_sync_batchnorm(model, comm)
        synced = across_ranks(comm, model, x, y, True)
        say(comm, f"   across {comm.size} real ranks: local statistics {worst(full, local):.1e}, "
                  f"--sync-bn {worst(full, synced):.1e}")
    else:
        say(comm, "   --sync-bn (under mpiexec) sums count, sum(x), sum((x-mean)^2) and, backward, sum(g) and "
                  "sum(g x_hat)")
    say(comm, "   each shard normalised by its own statistics is another function of the batch: the gradients move;"
              "\n   summing the statistics across ranks restores the one-process computation\n")


def scaling(comm: Any) -> None:
    say(comm, "4. Scaling")
    results = ROOT / "benchmarks" / "results" / "scaling.json"
    if comm.rank or not results.is_file():
        say(comm, "   run  python benchmarks/scaling.py --out benchmarks/results/scaling.md  to measure")
        return
    data = json.loads(results.read_text())
    for one, half, two in data["measured"]:
        free = one["ms"] / (2 * (half["ms"] + two["allreduce_ms"]))
        print(f"   measured {one['model']:6s} B={one['batch']}: 1 rank {one['ms']:.0f} ms/step, 2 ranks "
              f"{two['ms']:.0f} ms/step (allreduce {two['allreduce_ms']:.1f} ms): efficiency "
              f"{one['ms'] / (2 * two['ms']):.0%}; with a free core per rank {free:.0%}")
    print("   paper model, 10 Gb/s Ethernet, efficiency by N nodes (compute/N vs a ring allreduce):")
    for row in data["paper"]:
        compute, nbytes = row["compute_s"], row["grad_mb"] * 1e6
        curve = []
        for n in (2, 4, 8, 16, 32):
            if n <= row["batch"]:
                c = compute / n
                curve.append(f"N={n} {c / (c + 2 * (n - 1) / n * nbytes / (10e9 / 8)):.0%}")
        print(f"   {row.get('node', 'this CPU'):8s} {row['model']:9s} {', '.join(curve)}")
    print("   the allreduce stays ~2 x gradient bytes / bandwidth while compute shrinks as 1/N: small or fast models "
          "stop scaling first")


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Lesson 06: data-parallel training")
    parser.add_argument("--smoke", action="store_true", help="small batches: seconds")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    comm = world()
    say(comm, f"Lesson 06: data parallelism on {comm.size} rank{'s' if comm.size > 1 else ''} "
              f"({'MPI' if comm.size > 1 else 'one process'})\n")
    allreduce_demo(comm)
    equal_batches(comm, 8 if args.smoke else 32)
    batch_norm(comm, 8 if args.smoke else 32)
    scaling(comm)
    say(comm, "Next: lessons/07_real_blur.py (the course's GAN meets real camera shake). Train for real with "
              "python -m minitorch_deblur.train MODEL --distributed, or write the operators yourself: "
              "python -m minitorch_deblur.exercise list")


if __name__ == "__main__":
    main()
