"""Honest timing of two libraries on one machine: each in rounds, never call by call in alternation.

After a call, a BLAS or OpenMP thread pool keeps its threads spinning for a while; if the other library runs in
that window it fights them for the cores and loses 2-3x. So each library is timed in rounds (``calls`` calls,
the median kept), rounds are separated by a pause that lets the spinning threads sleep, and the best (minimum)
round is reported: the machine is shared and load only ever makes a round slower.

``set_threads(n)`` must run before NumPy or torch is imported.

On a GPU the calls only queue work: ``device_rounds`` drains the queue (``sync``) before and after each round, and
``peak_device_mb``, ``count_launches`` and ``torch_tf32`` measure and set what the GPU table reports.
"""
from __future__ import annotations

import os
import platform
import resource
import time
from typing import Any, Callable, Dict, List, Tuple


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


# ---------------------------------------------------------------------------------------------------- on a GPU
def device_rounds(fn: Callable[[], Any], sync: Callable[[], Any], calls: int, rounds: int = 5) -> Tuple[float, float]:
    """Seconds per call on a GPU, (best, median) over ``rounds`` rounds of ``calls`` calls; the device is
    synchronised before each round starts and before its clock stops, so a round times the work it queued."""
    per_call: List[float] = []
    for _ in range(rounds):
        sync()
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        sync()
        per_call.append((time.perf_counter() - start) / calls)
    per_call.sort()
    return per_call[0], per_call[len(per_call) // 2]


def peak_device_mb(lib_name: str, fn: Callable[[], Any], sync: Callable[[], Any]) -> float:
    """Peak GPU memory in use during one call of ``fn``, in MB, what was held before it included: PyTorch's
    ``max_memory_allocated``; for CuPy, the bytes in use in its memory pool, followed by an allocation hook."""
    sync()
    if lib_name == "torch":
        import torch
        torch.cuda.reset_peak_memory_stats()
        fn()
        sync()
        return torch.cuda.max_memory_allocated() / 2 ** 20
    import cupy
    state = {"used": cupy.get_default_memory_pool().used_bytes()}
    state["peak"] = state["used"]

    class Peak(cupy.cuda.MemoryHook):  # type: ignore[misc,name-defined]
        name = "train_step_peak"

        def malloc_postprocess(self, **kwargs: Any) -> None:
            if kwargs.get("mem_ptr"):
                state["used"] += kwargs["mem_size"]
                state["peak"] = max(state["peak"], state["used"])

        def free_postprocess(self, **kwargs: Any) -> None:
            state["used"] -= kwargs["mem_size"]

    with Peak():
        fn()
        sync()
    return state["peak"] / 2 ** 20


def count_launches(fn: Callable[[], Any], sync: Callable[[], Any]) -> Dict[str, int]:
    """What the GPU ran during one call of ``fn``: {"launches": kernels and memsets, "copies": memory copies},
    from torch.profiler (CUPTI sees CuPy's kernels as well as PyTorch's); {} without PyTorch or when it saw nothing."""
    try:
        from torch.autograd import DeviceType
        from torch.profiler import ProfilerActivity, profile
        sync()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn()
            sync()
        events = [e for e in prof.events() if e.device_type == DeviceType.CUDA]
    except Exception:  # no PyTorch, no CUPTI: the column stays empty
        return {}
    copies = sum(1 for e in events if e.name.startswith("Memcpy"))
    return {"launches": len(events) - copies, "copies": copies} if events else {}


def torch_tf32(flag: bool) -> None:
    """PyTorch's float32 matmuls and cuDNN convolutions in TF32 (``flag``) or in plain FP32 (PyTorch's default
    lets cuDNN convolutions use TF32 and keeps matmuls FP32: both are set here, so each table is one precision)."""
    import warnings
    import torch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the allow_tf32 flags are deprecated in favour of fp32_precision
        torch.backends.cuda.matmul.allow_tf32 = flag
        torch.backends.cudnn.allow_tf32 = flag
