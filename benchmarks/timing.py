"""Honest timing of two libraries on one machine: each in rounds, never call by call in alternation.

After a call, a BLAS or OpenMP thread pool keeps its threads spinning for a while; if the other library runs in
that window it fights them for the cores and loses 2-3x. So each library is timed in rounds (``calls`` calls,
the median kept), rounds are separated by a pause that lets the spinning threads sleep, and the best (minimum)
round is reported: the machine is shared and load only ever makes a round slower.

``set_threads(n)`` must run before NumPy or torch is imported.
"""
from __future__ import annotations

import os
import platform
import resource
import time
from typing import Any, Callable, Dict, List


def set_threads(n: int) -> None:
    """Pin OpenBLAS, OpenMP and MKL to ``n`` threads: call before importing NumPy/torch."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def best_round(fn: Callable[[], Any], calls: int = 5, rounds: int = 3, pause: float = 0.5,
               warmup: int = 2, before_round: Callable[[], Any] = lambda: None) -> float:
    """Seconds per call: the median of ``calls`` calls, minimum over ``rounds`` rounds, pauses between them."""
    for _ in range(warmup):
        fn()
    medians: List[float] = []
    for _ in range(rounds):
        time.sleep(pause)
        before_round()
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        times.sort()
        medians.append(times[len(times) // 2])
    return min(medians)


def gemm_peak_gflops(size: int = 2048, calls: int = 5, rounds: int = 3) -> float:
    """Float32 GEMM GFLOP/s of NumPy's BLAS (size x size @ size x size), best round."""
    import numpy as np
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    b = np.random.default_rng(1).random((size, size), dtype=np.float32)
    seconds = best_round(lambda: a @ b, calls=calls, rounds=rounds, pause=0.2)
    return 2 * size ** 3 / seconds / 1e9


def rss_mb() -> float:
    """Resident memory now, in MB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def reset_peak_rss() -> None:
    """Restart the peak-memory count from now (Linux). A child process otherwise starts with its parent's peak:
    ru_maxrss and VmHWM survive fork and exec."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    """The process's peak resident memory since the last ``reset_peak_rss``, in MB (VmHWM; ru_maxrss elsewhere)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> Dict[str, str]:
    """The CPU model and NumPy's BLAS (name, version, kernel), for the report."""
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = "?"
    try:
        from threadpoolctl import threadpool_info
        for info in threadpool_info():
            if info.get("user_api") == "blas":
                blas = f"{info['internal_api']} {info.get('version')} ({info.get('architecture')} kernels)"
                break
    except ImportError:
        pass
    return {"cpu": cpu, "blas": blas, "cores": str(os.cpu_count())}
