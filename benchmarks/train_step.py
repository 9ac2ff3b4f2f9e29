"""One training step of every course model (forward, loss, backward, optimiser) beside PyTorch CPU.

    python benchmarks/train_step.py                         # every model at its course batch size
    python benchmarks/train_step.py --models cnn srcnn --markdown
    python benchmarks/train_step.py --models gan:8 gan      # model:batch overrides the course batch size
    python benchmarks/train_step.py --device cuda [--tf32]  # on a GPU: CuPy beside PyTorch + cuDNN

Each (library, model) runs in its own process, one after the other, with the same thread count (OpenBLAS, OpenMP,
``torch.set_num_threads``), so neither library's spinning threads slow the other. Inside a process the step is
timed in rounds with pauses and the best round's median is kept (``timing.best_round``). The models are defined
once for both libraries in ``course_models.py``.

Columns: ms per step; the ratio ours / PyTorch; achieved GFLOP/s (the step's FLOPs as PyTorch's FlopCounterMode
counts them, forward + backward, divided by the step time) and its share of a float32 GEMM peak measured in the same
run; peak RSS of each process once its model is built, and "step MB": how far that peak rose above the memory held
before the first step (the step's own working memory, without the libraries' import cost). Both processes run with glibc's malloc told to
keep freed memory for reuse (what ``backend.reuse_freed_memory`` does for our training command); --default-malloc
turns that off on both sides.

``--device cuda`` times the same steps on one GPU, ours on CuPy beside PyTorch + cuDNN, each library in its own
process, in rounds of synchronised steps (``timing.device_rounds``). Columns there: ms per step, the ratio, achieved
TFLOP/s, peak GPU memory in use during a step (CuPy's pool / ``torch.cuda.max_memory_allocated``), and the kernels
and memory copies the GPU ran in one step (torch.profiler, which sees CuPy's kernels too). One precision per run:
plain FP32 on both sides by default, TF32 on both sides with ``--tf32`` (ours: ``backend.use_tf32``; PyTorch: the
matmul and cuDNN ``allow_tf32`` flags). On the CPU ``--tf32`` changes nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))


def worker(lib_name: str, model: str, batch: int, threads: int, seconds: float) -> Dict[str, float]:
    """Runs in a child process: build, warm up, time in rounds, and report one JSON line."""
    sys.path.insert(0, HERE)
    from timing import best_round, peak_rss_mb, reset_peak_rss, rss_mb
    from course_models import Lib, make_step

    if lib_name == "torch":
        import torch
        torch.set_num_threads(threads)
    lib = Lib.torch() if lib_name == "torch" else Lib.ours()
    step, _ = make_step(model, lib, batch)
    reset_peak_rss()
    before = rss_mb()
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    calls = max(1, min(20, int(seconds / max(first, 1e-3))))
    result = {"ms": 1e3 * best_round(step, calls=calls, rounds=3, pause=0.5, warmup=1),
              "peak_rss_mb": peak_rss_mb(), "step_mb": peak_rss_mb() - before, "calls": calls}
    if lib_name == "torch":
        from torch.utils.flop_counter import FlopCounterMode
        with FlopCounterMode(display=False) as counter:
            step()
        result["gflop"] = counter.get_total_flops() / 1e9
    return result


def gpu_worker(lib_name: str, model: str, batch: int, seconds: float, tf32: bool) -> Dict[str, Any]:
    """Runs in a child process on a GPU: build, warm up, time synchronised rounds, then one step each for the peak
    memory and the launch count (after the timing: the hooks and the profiler slow a step down)."""
    sys.path.insert(0, HERE)
    from timing import count_launches, device_rounds, peak_device_mb, torch_tf32
    from course_models import Lib, make_step

    if lib_name == "torch":
        import torch
        torch_tf32(tf32)
        lib, sync = Lib.torch("cuda"), torch.cuda.synchronize
        info = {"gpu": torch.cuda.get_device_name(), "version": torch.__version__}
    else:
        from minitorch_deblur import backend
        backend.use_tf32(tf32)
        cupy = backend.cupy_module()
        lib, sync = Lib.ours("cuda"), cupy.cuda.Device().synchronize
        info = {"gpu": cupy.cuda.runtime.getDeviceProperties(0)["name"].decode(), "version": cupy.__version__,
                "tf32": backend.tf32_enabled()}
    step, _ = make_step(model, lib, batch)
    start = time.perf_counter()
    step()
    sync()
    first = time.perf_counter() - start   # kernel compilation, cuDNN plans, the pool's first allocations
    step()
    sync()
    start = time.perf_counter()
    step()
    sync()
    calls = max(2, min(50, int(seconds / max(time.perf_counter() - start, 1e-4))))
    best, median = device_rounds(step, sync, calls, rounds=5)
    result: Dict[str, Any] = {"ms": 1e3 * best, "ms_median": 1e3 * median, "calls": calls, "first_s": first,
                              "peak_mb": peak_device_mb(lib_name, step, sync), **count_launches(step, sync), **info}
    if lib_name == "torch":
        from torch.utils.flop_counter import FlopCounterMode
        with FlopCounterMode(display=False) as counter:
            step()
        result["gflop"] = counter.get_total_flops() / 1e9
    return result


GPU_HEAD = ["model", "batch", "GFLOP/step", "ours ms", "torch ms", "x torch", "ours TFLOP/s", "torch TFLOP/s",
            "peak MB ours / torch", "launches ours / torch", "copies ours / torch"]


def gpu_row(name: str, batch: int, ours: Dict[str, Any], theirs: Optional[Dict[str, Any]]) -> List[str]:
    """One row of the GPU table ('-' where PyTorch gave no result or the profiler saw nothing)."""
    gflop = theirs.get("gflop") if theirs else None

    def pair(key: str, fmt: str) -> str:
        cells = [fmt.format(d[key]) if d and key in d else "-" for d in (ours, theirs)]
        return " / ".join(cells)
    return [name, str(batch), f"{gflop:.2f}" if gflop else "-", f"{ours['ms']:.2f}",
            f"{theirs['ms']:.2f}" if theirs else "-", f"{ours['ms'] / theirs['ms']:.2f}x" if theirs else "-",
            f"{gflop / ours['ms']:.2f}" if gflop else "-", f"{gflop / theirs['ms']:.2f}" if gflop and theirs else "-",
            pair("peak_mb", "{:.0f}"), pair("launches", "{:,}"), pair("copies", "{:,}")]


def gpu_table(jobs: List[Tuple[str, int]], args: argparse.Namespace) -> None:
    """The GPU run: one row per model as soon as both libraries are timed; --json is rewritten after each row."""
    precision = "TF32 on both sides" if args.tf32 else "plain FP32 on both sides (TF32 off)"
    print(f"GPU training step, ours (CuPy) beside PyTorch + cuDNN; {precision}; each library in its own process, "
          f"best of 5 rounds of synchronised steps (about {args.seconds:g} s a round); peak MB: GPU memory in use "
          "during one step; launches / copies: kernels and memory copies the GPU ran in one step (torch.profiler)\n")
    print("| " + " | ".join(GPU_HEAD) + " |")
    print("|" + "---|" * 1 + "---:|" * (len(GPU_HEAD) - 1), flush=True)
    rows: List[Dict[str, Any]] = []
    for name, batch in jobs:
        ours = run_child("ours", name, batch, args)
        theirs = run_child("torch", name, batch, args) if not args.no_torch else None
        if ours is None:
            print(f"| {name} | {batch} | ours failed: its error is above |", flush=True)
            continue
        rows.append({"model": name, "batch": batch, "ours": ours, "torch": theirs})
        print("| " + " | ".join(gpu_row(name, batch, ours, theirs)) + " |", flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"device": "cuda", "tf32": args.tf32, "seconds": args.seconds, "rows": rows}, f, indent=1)
    for side, lib in (("ours", "CuPy"), ("torch", "PyTorch")):
        seen = [r[side] for r in rows if r[side]]
        if seen:
            print(f"{lib} {seen[0].get('version', '?')} on {seen[0].get('gpu', '?')}")


# What minitorch_deblur.backend.reuse_freed_memory() does for our training command, given to both sides alike
REUSE_FREED_MEMORY = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(2 ** 31 - 1)}


def run_child(lib_name: str, model: str, batch: int, args: argparse.Namespace) -> Optional[Dict[str, float]]:
    cmd = [sys.executable, __file__, "--worker", lib_name, "--models", f"{model}:{batch}",
           "--threads", str(args.threads), "--seconds", str(args.seconds)]
    env = dict(os.environ, **({} if args.default_malloc else REUSE_FREED_MEMORY))
    if args.device == "cuda":
        cmd += ["--device", "cuda"] + (["--tf32"] if args.tf32 else [])
        env["CUPY_TF32"] = "1" if args.tf32 else "0"   # before CuPy is imported; the child sets it again
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.child_timeout)
        except subprocess.TimeoutExpired:
            print(f"  {lib_name} {model}: no result within {args.child_timeout:.0f} s", file=sys.stderr)
            return None
    else:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        print(f"  {lib_name} {model}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn", "srcnn", "cae", "win5rb", "gan:8", "gan"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, help="about how long one round of calls lasts (default 3 on the "
                        "CPU, 1 on a GPU)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cpu (default: the CPU speed "
                        "record, beside PyTorch CPU) or cuda (CuPy beside PyTorch + cuDNN on one GPU)")
    parser.add_argument("--tf32", action="store_true", help="on a GPU, float32 matmuls and convolutions in TF32 on "
                        "both sides (default: plain FP32 on both); accepted on the CPU, where it changes nothing")
    parser.add_argument("--child-timeout", type=float, default=300.0, help="on a GPU, seconds one library's process "
                        "may take before its row is given up (default 300)")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", default="", help="also write the results to this file")
    parser.add_argument("--no-torch", action="store_true", help="time ours only")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's malloc as it is (by default both sides keep freed memory for reuse, as "
                             "our training command does)")
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seconds is None:
        args.seconds = 3.0 if args.device == "cpu" else 1.0

    sys.path.insert(0, HERE)
    from timing import set_threads
    set_threads(args.threads)
    from course_models import COURSE

    jobs = []
    for spec in args.models:
        name, _, batch = spec.partition(":")
        jobs.append((name, int(batch) if batch else COURSE[name][0]))
    if args.worker:
        (name, batch), = jobs
        if args.device == "cuda":
            print(json.dumps(gpu_worker(args.worker, name, batch, args.seconds, args.tf32)))
        else:
            print(json.dumps(worker(args.worker, name, batch, args.threads, args.seconds)))
        return
    if args.device == "cuda":
        gpu_table(jobs, args)
        return

    from timing import gemm_peak_gflops, machine
    info = machine()
    peak = gemm_peak_gflops()
    try:
        import importlib.metadata as md
        torch_version = md.version("torch")
    except Exception:
        torch_version = None
    if args.no_torch:
        torch_version = None
    print(f"{info['cpu']}, {info['cores']} cores; NumPy BLAS {info['blas']}; PyTorch {torch_version or '-'} CPU; "
          f"{args.threads} threads each; float32 GEMM peak {peak:.0f} GFLOP/s (same run)")
    if args.tf32:
        print("(--tf32 changes nothing on the CPU)")
    print("each library in its own process, best of 3 rounds (median within a round, 0.5 s pauses); malloc: "
          + ("glibc's defaults" if args.default_malloc else "freed memory kept for reuse on both sides") + "\n")
    rows: List[Dict[str, object]] = []
    head = ["model", "batch", "ours ms", "torch ms", "x torch", "ours GFLOP/s", "% peak", "torch GFLOP/s",
            "peak RSS ours / torch MB", "step MB ours / torch"]
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * 2 + "---:|" * (len(head) - 2))
    else:
        print("  ".join(f"{h:>10s}" for h in head[:5]) + "  GFLOP/s (ours, %peak, torch)  RSS  step MB")
    for name, batch in jobs:
        ours = run_child("ours", name, batch, args)
        theirs = run_child("torch", name, batch, args) if torch_version else None
        if ours is None:
            continue
        row: Dict[str, object] = {"model": name, "batch": batch, "ours": ours, "torch": theirs}
        rows.append(row)
        gflop = theirs["gflop"] if theirs else None
        cells = [name, str(batch), f"{ours['ms']:.1f}", f"{theirs['ms']:.1f}" if theirs else "-",
                 f"{ours['ms'] / theirs['ms']:.2f}x" if theirs else "-",
                 f"{gflop / ours['ms'] * 1e3:.0f}" if gflop else "-",
                 f"{gflop / ours['ms'] * 1e3 / peak:.0%}" if gflop else "-",
                 f"{gflop / theirs['ms'] * 1e3:.0f}" if gflop else "-",
                 f"{ours['peak_rss_mb']:.0f} / {theirs['peak_rss_mb']:.0f}" if theirs else f"{ours['peak_rss_mb']:.0f}",
                 f"{ours['step_mb']:.0f} / {theirs['step_mb']:.0f}" if theirs else f"{ours['step_mb']:.0f}"]
        if args.markdown:
            print("| " + " | ".join(cells) + " |", flush=True)
        else:
            print("  ".join(f"{c:>10s}" for c in cells), flush=True)
        time.sleep(0.5)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "gemm_peak_gflops": peak, "threads": args.threads, "torch": torch_version,
                       "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
