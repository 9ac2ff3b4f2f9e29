"""Operator speed against PyTorch CPU on the course's layer shapes (a benchmark, not a test).

    python benchmarks/ops.py                 # a plain table
    python benchmarks/ops.py --markdown      # the same table as markdown, for the README
    python benchmarks/ops.py --threads 4 --repeats 9

Each row times forward + backward (gradients for every input) and reports the median of several repeats after
a warm-up. GFLOP/s counts 2*N*O*C*kh*kw*Ho*Wo per convolution pass, x3 for forward + both gradients; "% peak"
compares it with a 2048x2048 float32 matmul measured in the same run. "x torch" is our median / PyTorch's median
with the same number of threads (torch.set_num_threads), the two timed in alternation; it is left out when
torch does not import. "x torch (best)" is the ratio of the fastest repeats (robust to a busy machine).
OpenBLAS / OpenMP threads are fixed through the environment *before* NumPy is imported.
"""
from __future__ import annotations

import argparse
import os
import sys

_parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_parser.add_argument("--threads", type=int, default=2, help="BLAS / torch threads (default 2)")
_parser.add_argument("--repeats", type=int, default=7, help="timed repeats per row; the median is reported")
_parser.add_argument("--markdown", action="store_true", help="print a markdown table")
_parser.add_argument("--only", default="", help="run only rows whose name contains this text")
ARGS = _parser.parse_args()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import time  # noqa: E402
from typing import Any, Callable, List, Optional  # noqa: E402

import numpy as np  # noqa: E402

import minitorch_deblur as mt  # noqa: E402
from minitorch_deblur.functional.conv import conv2d, conv_transpose2d  # noqa: E402
from minitorch_deblur.functional.pool import max_pool2d  # noqa: E402

try:
    import torch  # noqa: E402
    import torch.nn.functional as TF  # noqa: E402

    torch.set_num_threads(ARGS.threads)
except Exception:  # torch is optional: the ratio column is left out
    torch = None

try:
    from minitorch_deblur.functional.norm import batch_norm  # noqa: E402
except Exception:  # norm.py not written yet
    batch_norm = None


def median_ms(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up (allocations, BLAS thread start)
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


BEST: dict = {}  # ratio of the fastest repeats (less sensitive to load from other processes than the median)


def median_ms_pair(ours: Callable[[], Any], theirs: Optional[Callable[[], Any]], repeats: int) -> tuple:
    """Median times of ours and of the reference, their repeats interleaved so that load from other processes
    on the machine hits both alike."""
    if theirs is None:
        return median_ms(ours, repeats), None
    for fn in (ours, ours, theirs, theirs):  # warm-up
        fn()
    times: List[List[float]] = [[], []]
    for _ in range(repeats):
        for k, fn in enumerate((ours, theirs)):
            start = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - start)
    ours_ms, ref_ms = np.asarray(times[0]) * 1e3, np.asarray(times[1]) * 1e3
    BEST[id(ours)] = float(ours_ms.min() / ref_ms.min())
    return float(np.median(ours_ms)), float(np.median(ref_ms))


def gemm_peak(repeats: int) -> float:
    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    return 2 * 2048 ** 3 / (median_ms(lambda: a @ a, repeats) / 1e3) / 1e9


def _ours(op: Callable[..., Any], shapes: List[tuple], **params: Any) -> Callable[[], None]:
    rng = np.random.default_rng(0)
    tensors = [mt.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in shapes]

    def run() -> None:
        for t in tensors:
            t.grad = None
        y = op(*tensors, **params)
        y.backward(np.ones(y.shape, np.float32))
    return run


def _torch(op: Callable[..., Any], shapes: List[tuple], **params: Any) -> Optional[Callable[[], None]]:
    if torch is None:
        return None
    gen = torch.Generator().manual_seed(0)
    tensors = [torch.randn(s, generator=gen, requires_grad=True) for s in shapes]

    def run() -> None:
        for t in tensors:
            t.grad = None
        y = op(*tensors, **params)
        y.backward(torch.ones_like(y))
    return run


def conv_rows() -> List[tuple]:
    """(name, our fn, torch fn, GFLOP of forward + backward)."""
    rows = []
    convs = [  # name, N, C, H, O, k, stride, padding
        ("mnist conv1 1->32 3x3 @28", 64, 1, 28, 32, 3, 1, 1),
        ("mnist conv2 32->64 3x3 @14", 64, 32, 14, 64, 3, 1, 1),
        ("mnist conv3 64->128 3x3 @7", 64, 64, 7, 128, 3, 1, 1),
        ("srcnn 3->64 9x9 @32", 16, 3, 32, 64, 9, 1, 4),
        ("srcnn 64->32 1x1 @32", 16, 64, 32, 32, 1, 1, 0),
        ("srcnn 32->3 5x5 @32", 16, 32, 32, 3, 5, 1, 2),
        ("unet enc 3->64 k4s2 @96", 8, 3, 96, 64, 4, 2, 1),
        ("unet enc 64->128 k4s2 @48", 8, 64, 48, 128, 4, 2, 1),
        ("win5-rb 128->128 7x7 @32", 8, 128, 32, 128, 7, 1, 3),
    ]
    for name, n, c, h, o, k, s, p in convs:
        ho = (h + 2 * p - k) // s + 1
        gflop = 3 * 2 * n * o * c * k * k * ho * ho / 1e9
        shapes = [(n, c, h, h), (o, c, k, k), (o,)]
        rows.append(("conv2d " + name, _ours(conv2d, shapes, stride=s, padding=p),
                     _torch(TF.conv2d, shapes, stride=s, padding=p) if torch else None, gflop))
    transposed = [  # name, N, Cin, H, Cout, k, stride, padding (output H = 2 H)
        ("unet dec 512->256 k4s2 6->12", 8, 512, 6, 256, 4, 2, 1),
        ("unet dec 128->3 k4s2 48->96", 8, 128, 48, 3, 4, 2, 1),
    ]
    for name, n, cin, h, cout, k, s, p in transposed:
        gflop = 3 * 2 * n * cin * cout * k * k * h * h / 1e9
        shapes = [(n, cin, h, h), (cin, cout, k, k), (cout,)]
        rows.append(("conv_transpose2d " + name, _ours(conv_transpose2d, shapes, stride=s, padding=p),
                     _torch(TF.conv_transpose2d, shapes, stride=s, padding=p) if torch else None, gflop))
    return rows


def other_rows() -> List[tuple]:
    rows = [("max_pool2d 2x2 64x32x28x28", _ours(max_pool2d, [(64, 32, 28, 28)], kernel_size=2),
             _torch(TF.max_pool2d, [(64, 32, 28, 28)], kernel_size=2) if torch else None, None)]
    if batch_norm is not None:
        shape = (64, 32, 28, 28)

        def ours_bn(x: Any, w: Any, b: Any) -> Any:
            return batch_norm(x, np.zeros(32, np.float32), np.ones(32, np.float32), w, b, training=True)

        def torch_bn(x: Any, w: Any, b: Any) -> Any:
            return TF.batch_norm(x, torch.zeros(32), torch.ones(32), w, b, training=True)
        rows.append(("batch_norm train 64x32x28x28", _ours(ours_bn, [shape, (32,), (32,)]),
                     _torch(torch_bn, [shape, (32,), (32,)]) if torch else None, None))
    return rows


def main() -> int:
    peak = gemm_peak(ARGS.repeats)
    rows = [r for r in conv_rows() + other_rows() if ARGS.only in r[0]]
    results = []
    for name, ours, theirs, gflop in rows:
        ms, ref_ms = median_ms_pair(ours, theirs, ARGS.repeats)
        results.append((name, ms, gflop, ref_ms, BEST.get(id(ours))))

    blas = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {})
    head = (f"forward+backward, float32, {ARGS.threads} threads (OMP/OPENBLAS_NUM_THREADS={ARGS.threads}"
            + (f", torch.set_num_threads({ARGS.threads}), torch {torch.__version__}" if torch else ", torch absent")
            + f"), NumPy {np.__version__} with {blas.get('name', '?')} {blas.get('version', '')}, "
            f"median of {ARGS.repeats}; float32 GEMM peak (2048^3 matmul) {peak:.0f} GFLOP/s")
    cols = ["op", "ms", "GFLOP/s", "% peak"] + (["torch ms", "x torch", "x torch (best)"] if torch else [])
    lines = []
    ratios, best_ratios = [], []
    for name, ms, gflop, ref_ms, best in results:
        rate = f"{gflop / (ms / 1e3):.0f}" if gflop else "-"
        pct = f"{100 * gflop / (ms / 1e3) / peak:.0f}%" if gflop else "-"
        cells = [name, f"{ms:.2f}", rate, pct]
        if torch:
            cells += [f"{ref_ms:.2f}", f"{ms / ref_ms:.2f}", f"{best:.2f}"]
            if gflop:
                ratios.append(ms / ref_ms)
                best_ratios.append(best)
        lines.append(cells)
    if ARGS.markdown:
        print(head + "\n")
        print("| " + " | ".join(cols) + " |")
        print("|" + "|".join(["---"] + ["---:"] * (len(cols) - 1)) + "|")
        for cells in lines:
            print("| " + " | ".join(cells) + " |")
    else:
        print(head)
        widths = [max(len(c), *(len(row[i]) for row in lines)) for i, c in enumerate(cols)]
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cols, widths))))
        for cells in lines:
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))))
    if ratios:
        print(f"\nconvolutions: median x torch {np.median(ratios):.2f}, worst {max(ratios):.2f}; "
              f"from the best repeats: median {np.median(best_ratios):.2f}, worst {max(best_ratios):.2f}")
        print(f"load average while running: {', '.join(f'{v:.2f}' for v in os.getloadavg())} "
              f"(timings are only as quiet as the machine)")
    if batch_norm is None:
        print("(batch_norm skipped: minitorch_deblur/functional/norm.py not available)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
