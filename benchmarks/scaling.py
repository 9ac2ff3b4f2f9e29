"""Data-parallel scaling: measured at 1 and 2 ranks on this machine, and a paper model for N nodes.

    python benchmarks/scaling.py                  # measures (starts mpiexec itself), then prints both tables
    python benchmarks/scaling.py --models cnn --steps 12 --out benchmarks/results/scaling.md
    python benchmarks/scaling.py --paper-only     # the paper model alone (no MPI needed)

Measured: one training step (forward, loss, backward, gradient allreduce, Adam) of a model at its course global
batch B, on 1 rank (batch B) and on 2 ranks (B/2 rows each: what ``train --distributed`` does), each rank one
thread (OMP/OpenBLAS = 1), synthetic data (no loading, no degradation: the step alone). The fastest of the timed
steps after 2 warm-up steps (the step least disturbed by other work on a shared machine; the .json keeps the
medians too), rank 0's clock, every rank synchronised by the allreduce itself.
Scaling efficiency = throughput of 2 ranks / (2 x throughput of 1 rank) = T1 / (2 T2) at the same global batch.

Paper model (strong scaling: the course's global batch B split over N nodes, each node one machine like this one):
    compute(N)   = C / N, with C the measured step time of the whole batch on one node
                   (benchmarks/results/train_step.json: this machine, 2 threads, course batch)
    allreduce(N) = 2 (N - 1) / N x S / bandwidth     (ring allreduce; S = 4 bytes x trainable parameters)
    efficiency(N) = compute(N) / (compute(N) + allreduce(N))   (no overlap of backward and communication)
and the largest N with efficiency >= 80%, over 10 Gb/s Ethernet and over 200 Gb/s InfiniBand, capped at N = B (a
rank needs a sample). Latency (~2(N-1) x a few microseconds per allreduce) is left out: it matters only for the MLP.
The bottleneck it names: 'bandwidth' when the allreduce caps N before the batch does, 'batch' otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

COURSE = {"mlp": 64, "cnn": 64, "srcnn": 64, "cae": 32, "win5rb": 32, "deblurgan": 32}
STEP_JSON_NAME = {"deblurgan": "gan"}
LINKS = {"10 Gb/s Ethernet": 10e9 / 8, "200 Gb/s InfiniBand": 200e9 / 8}
# one training step of ours on one H200 (CuPy, FP32), course batch: docs/SPEED.md's GPU table (2026-12-04, commit
# ea69ea9; the lower end where it gives a range)
H200_STEP_MS = {"mlp": 4.67, "cnn": 17.5, "srcnn": 6.2, "cae": 33.6, "win5rb": 44.5, "deblurgan": 143.8}
TARGET = 0.8


# ---- the measured part: runs on every rank under mpiexec ----------------------------------------------------------
def worker(model_name: str, batch: int, steps: int) -> None:
    import numpy as np

    from minitorch_deblur import functional as F
    from minitorch_deblur.autograd import Tensor
    from minitorch_deblur.backend import Generator
    from minitorch_deblur.distributed import GradientSync, mpi_communicator, shard_rows
    from minitorch_deblur.models.registry import REGISTRY
    from minitorch_deblur.optim import Adam

    comm = mpi_communicator()
    model = REGISTRY[model_name].cls(generator=Generator(0))
    model.train()
    params = list(model.parameters())
    optimizer = Adam(params, lr=1e-3)
    rng = np.random.default_rng(0)
    lo, hi = shard_rows(batch, comm.rank, comm.size)
    classify = REGISTRY[model_name].task == "classify"
    x = rng.random((batch, 1, 28, 28) if classify else (batch, 3, 32, 32), dtype=np.float32)[lo:hi]
    y = rng.integers(0, 10, batch)[lo:hi] if classify else x
    sync = GradientSync(comm)
    sync_times: List[float] = []

    def step() -> None:
        optimizer.zero_grad()
        out = model(Tensor(x))
        loss = F.cross_entropy(out, y) if classify else F.mse_loss(out, Tensor(y))
        loss.backward()
        start = time.perf_counter()
        sync(params)
        sync_times.append(time.perf_counter() - start)
        optimizer.step()

    for _ in range(2):
        step()
    comm.barrier()
    times, sync_times[:] = [], []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    if comm.rank == 0:
        print(json.dumps({"model": model_name, "ranks": comm.size, "batch": batch, "ms": 1e3 * float(np.min(times)),
                          "median_ms": 1e3 * float(np.median(times)),
                          "allreduce_ms": 1e3 * float(np.min(sync_times)),
                          "allreduce_median_ms": 1e3 * float(np.median(sync_times)),
                          "buckets": sync.calls // (steps + 2),
                          "bytes": sync.bytes // max(sync.calls, 1) * (sync.calls // (steps + 2)),
                          "params": int(sum(p.data.size for p in params))}))


def measure(model_name: str, ranks: int, steps: int, batch: int = 0) -> Dict[str, Any]:
    mpiexec = shutil.which("mpiexec") or shutil.which("mpiexec", path=str(Path(sys.executable).parent))
    if mpiexec is None:
        raise SystemExit('no mpiexec: pip install -e ".[distributed]"')
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [mpiexec, "-n", str(ranks), sys.executable, str(Path(__file__).resolve()), "--worker", model_name,
               "--batch", str(batch or COURSE[model_name]), "--steps", str(steps)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, timeout=600)
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---- the paper model ----------------------------------------------------------------------------------------------
def trainable_parameters(model_name: str) -> int:
    from minitorch_deblur.backend import Generator
    from minitorch_deblur.models.registry import REGISTRY

    options = {"discriminator": True} if REGISTRY[model_name].task == "gan" else {}
    return int(sum(p.data.size for p in REGISTRY[model_name].cls(generator=Generator(0), **options).parameters()))


def paper_rows() -> List[Dict[str, Any]]:
    measured = json.loads((HERE / "results" / "train_step.json").read_text())
    step_ms = {(r["model"], r["batch"]): r["ours"]["ms"] for r in measured["rows"]}
    rows = []
    for node, name, batch in [(n, m, b) for n in ("this CPU", "H200") for m, b in COURSE.items()]:
        compute = (step_ms[(STEP_JSON_NAME.get(name, name), batch)] if node == "this CPU"
                   else H200_STEP_MS[name]) / 1e3
        nbytes = 4 * trainable_parameters(name)
        row: Dict[str, Any] = {"node": node, "model": name, "batch": batch, "compute_s": compute,
                               "grad_mb": nbytes / 1e6}
        for link, bandwidth in LINKS.items():
            def efficiency(n: int) -> float:
                c = compute / n
                return c / (c + 2 * (n - 1) / n * nbytes / bandwidth)
            best = max([n for n in range(1, batch + 1) if efficiency(n) >= TARGET], default=1)
            row[link] = {"allreduce_ms_n2": 1e3 * nbytes / bandwidth, "n_max": best, "eff_at_2": efficiency(2),
                         "bottleneck": "batch" if best == batch else "bandwidth"}
        rows.append(row)
    return rows


def markdown(measured: List[Dict[str, Any]], paper: List[Dict[str, Any]]) -> str:
    lines = []
    if measured:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        lines += [f"Measured on this machine ({os.cpu_count()} cores, shared with other users: load average {load} "
                  "after the runs), 1 thread per rank, synthetic data, the course global batch B (2 ranks: B/2 "
                  "each). 'free cores' = T1(B) / (2 (T1(B/2) + allreduce)): the efficiency 2 ranks would reach "
                  "if each had a core to itself (1 rank at B/2 measured alone, plus the measured allreduce):", "",
                  "| model | batch | params | buckets x MB | 1 rank ms/step | 1 rank at B/2 ms | 2 ranks ms/step | "
                  "allreduce ms | efficiency T1/(2 T2) | free cores |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for one, half, two in measured:
            lines.append(f"| {one['model']} | {one['batch']} | {one['params']:,} | {two['buckets']} x "
                         f"{two['bytes'] / two['buckets'] / 1e6:.2f} | {one['ms']:.1f} | {half['ms']:.1f} | "
                         f"{two['ms']:.1f} | {two['allreduce_ms']:.2f} | {one['ms'] / (2 * two['ms']):.0%} | "
                         f"{one['ms'] / (2 * (half['ms'] + two['allreduce_ms'])):.0%} |")
        lines.append("")
    lines += ["Paper model for N nodes (strong scaling of the course batch; compute per node = one step of the whole "
              "batch / N, measured on this machine at 2 threads (benchmarks/results/train_step.json) or on one H200 "
              "(docs/SPEED.md); ring allreduce 2(N-1)/N x bytes / bandwidth, no overlap, latency left out; N capped "
              "at the batch):", "",
              "| node | model | batch | step s (1 node) | gradient MB | " + " | ".join(
                  f"{link}: allreduce ms (N=2) / eff N=2 / largest N at 80% / bound" for link in LINKS) + " |",
              "|---|---|---:|---:|---:|" + "---:|" * len(LINKS)]
    for r in paper:
        cells = [f"{r[l]['allreduce_ms_n2']:.1f} / {r[l]['eff_at_2']:.0%} / {r[l]['n_max']} / {r[l]['bottleneck']}"
                 for l in LINKS]
        lines.append(f"| {r['node']} | {r['model']} | {r['batch']} | {r['compute_s']:.4f} | {r['grad_mb']:.2f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=64, help=argparse.SUPPRESS)
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn", "srcnn"], help="measured models "
                        "(default mlp cnn srcnn: the others take seconds per step on 1 thread)")
    parser.add_argument("--steps", type=int, default=15, help="timed steps per run (default 15)")
    parser.add_argument("--paper-only", action="store_true", help="the paper model alone")
    parser.add_argument("--out", type=Path, help="also write the tables (markdown) and a .json beside it")
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.batch, args.steps)
    measured = [] if args.paper_only else [(measure(m, 1, args.steps), measure(m, 1, args.steps, COURSE[m] // 2),
                                            measure(m, 2, args.steps)) for m in args.models]
    paper = paper_rows()
    text = markdown(measured, paper)
    if args.out:
        args.out.write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps({"measured": measured, "paper": paper}, indent=2))
    print(text)


if __name__ == "__main__":
    main()
