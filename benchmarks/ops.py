"""Operator speed against PyTorch CPU on every conv, norm and pooling layer shape of the course (a benchmark, not a
test).

    python benchmarks/ops.py                 # a plain table
    python benchmarks/ops.py --markdown      # the same table as markdown, for the README
    python benchmarks/ops.py --only win5     # rows whose name contains this text

Each row times forward + backward (gradients for every input) at the course batch size (the GAN's layers at
batch 8). Ours and PyTorch are timed in rounds, never call by call in alternation (a library's BLAS threads keep
spinning after a call and slow whatever runs next): a few calls of ours, a pause, then a few of PyTorch's; the
median of a round, the best of 3 rounds (``timing.best_round``). Same thread count on both sides.
GFLOP/s counts 2*N*O*C*kh*kw*Ho*Wo per convolution pass, x3 for forward + both gradients; "% peak" compares it
with a 2048^3 float32 matmul measured in the same run. "path" is the conv algorithm our conv2d chose. glibc's malloc
keeps freed memory for reuse (``backend.reuse_freed_memory``, as in our training command), for both libraries.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import best_round, gemm_peak_gflops, machine, set_threads  # noqa: E402

_parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_parser.add_argument("--threads", type=int, default=2, help="BLAS / torch threads (default 2)")
_parser.add_argument("--markdown", action="store_true", help="print a markdown table")
_parser.add_argument("--only", default="", help="run only rows whose name contains this text")
ARGS = _parser.parse_args()
set_threads(ARGS.threads)

from typing import Any, Callable, List, Optional  # noqa: E402

import numpy as np  # noqa: E402

import minitorch_deblur as mt  # noqa: E402
from minitorch_deblur.backend import reuse_freed_memory  # noqa: E402
from minitorch_deblur.functional.fast import conv_strided  # noqa: E402
from minitorch_deblur.functional.fast.dispatch import choose_conv2d, conv2d, conv_transpose2d  # noqa: E402
from minitorch_deblur.functional import batch_norm, instance_norm, max_pool2d  # noqa: E402  (the dispatcher)
from minitorch_deblur.functional.pool import avg_pool2d, upsample_nearest2d  # noqa: E402

try:
    import torch  # noqa: E402
    import torch.nn.functional as TF  # noqa: E402

    torch.set_num_threads(ARGS.threads)
except Exception:  # torch is optional: the ratio column is left out
    torch = None


def timed(fn: Callable[[], Any]) -> float:
    """ms per call: calls sized to ~1 s per round, best of 3 rounds."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    calls = max(3, min(10, int(1.0 / max(first, 1e-4))))
    return 1e3 * best_round(fn, calls=calls, rounds=3, pause=0.3, warmup=1)


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
    """(name, our fn, torch fn, GFLOP of forward + backward, path)."""
    rows = []
    convs = [  # name, N, C, H, O, k, stride, padding
        ("cnn 1->32 3x3 @28", 64, 1, 28, 32, 3, 1, 1), ("cnn 32->64 3x3 @14", 64, 32, 14, 64, 3, 1, 1),
        ("cnn 64->128 3x3 @7", 64, 64, 7, 128, 3, 1, 1),
        ("srcnn 3->64 9x9 @32", 64, 3, 32, 64, 9, 1, 4), ("srcnn 64->32 1x1 @32", 64, 64, 32, 32, 1, 1, 0),
        ("srcnn 32->3 5x5 @32", 64, 32, 32, 3, 5, 1, 2),
        ("cae 3->32 3x3 @32", 32, 3, 32, 32, 3, 1, 1), ("cae 32->64 3x3 @32", 32, 32, 32, 64, 3, 1, 1),
        ("cae 64->128 3x3 @32", 32, 64, 32, 128, 3, 1, 1), ("cae 128->256 3x3 @16", 32, 128, 16, 256, 3, 1, 1),
        ("cae 256->128 3x3 @8", 32, 256, 8, 128, 3, 1, 1), ("cae 128->64 3x3 @16", 32, 128, 16, 64, 3, 1, 1),
        ("cae 64->32 3x3 @32", 32, 64, 32, 32, 3, 1, 1), ("cae 32->3 3x3 @32", 32, 32, 32, 3, 3, 1, 1),
        ("win5rb 3->32 3x3 @32", 32, 3, 32, 32, 3, 1, 1), ("win5rb 32->64 5x5 @32", 32, 32, 32, 64, 5, 1, 2),
        ("win5rb 64->128 7x7 @32", 32, 64, 32, 128, 7, 1, 3),
        ("win5rb 128->128 7x7 @32", 32, 128, 32, 128, 7, 1, 3),
        ("win5rb 128->3 7x7 @32", 32, 128, 32, 3, 7, 1, 3),
        ("unet enc 3->64 k4s2 @96", 8, 3, 96, 64, 4, 2, 1), ("unet enc 64->128 k4s2 @48", 8, 64, 48, 128, 4, 2, 1),
        ("unet enc 128->256 k4s2 @24", 8, 128, 24, 256, 4, 2, 1),
        ("unet enc 256->512 k4s2 @12", 8, 256, 12, 512, 4, 2, 1),
        ("patchgan 6->64 k4s2 @96", 8, 6, 96, 64, 4, 2, 1), ("patchgan 256->1 k4s1 @12", 8, 256, 12, 1, 4, 1, 1),
        ("vgg 3->64 3x3 @96", 8, 3, 96, 64, 3, 1, 1), ("vgg 64->64 3x3 @96", 8, 64, 96, 64, 3, 1, 1),
        ("vgg 64->128 3x3 @48", 8, 64, 48, 128, 3, 1, 1), ("vgg 128->128 3x3 @48", 8, 128, 48, 128, 3, 1, 1),
        ("vgg 128->256 3x3 @24", 8, 128, 24, 256, 3, 1, 1), ("vgg 256->256 3x3 @24", 8, 256, 24, 256, 3, 1, 1),
    ]
    for name, n, c, h, o, k, s, p in convs:
        ho = (h + 2 * p - k) // s + 1
        gflop = 3 * 2 * n * o * c * k * k * ho * ho / 1e9
        shapes = [(n, c, h, h), (o, c, k, k), (o,)]
        path = choose_conv2d((s, s), (o, c, k, k), (n, c, h, h), (p, p))
        path = ("fold" if o < c else "unfold") if path == "shifted" else path
        if s != 1 and conv_strided.worthwhile(c, (s, s)):
            path = "space-to-depth"
        rows.append(("conv2d " + name, _ours(conv2d, shapes, stride=s, padding=p),
                     _torch(TF.conv2d, shapes, stride=s, padding=p) if torch else None, gflop, path))
    transposed = [  # name, N, Cin, H, Cout, k, stride, padding (output H = 2 H)
        ("unet dec 512->256 k4s2 6->12", 8, 512, 6, 256, 4, 2, 1),
        ("unet dec 512->128 k4s2 12->24", 8, 512, 12, 128, 4, 2, 1),
        ("unet dec 256->64 k4s2 24->48", 8, 256, 24, 64, 4, 2, 1),
        ("unet dec 128->3 k4s2 48->96", 8, 128, 48, 3, 4, 2, 1),
    ]
    for name, n, cin, h, cout, k, s, p in transposed:
        gflop = 3 * 2 * n * cin * cout * k * k * h * h / 1e9
        shapes = [(n, cin, h, h), (cin, cout, k, k), (cout,)]
        rows.append(("conv_transpose2d " + name, _ours(conv_transpose2d, shapes, stride=s, padding=p),
                     _torch(TF.conv_transpose2d, shapes, stride=s, padding=p) if torch else None, gflop, "im2col"))
    return rows


def other_rows() -> List[tuple]:
    rows = []
    for shape in ((64, 32, 28, 28), (32, 128, 32, 32)):
        label = "x".join(map(str, shape))
        rows.append((f"max_pool2d 2x2 {label}", _ours(max_pool2d, [shape], kernel_size=2),
                     _torch(TF.max_pool2d, [shape], kernel_size=2) if torch else None, None, ""))
        c = shape[1]

        def ours_bn(x: Any, w: Any, b: Any, c: int = c) -> Any:
            return batch_norm(x, np.zeros(c, np.float32), np.ones(c, np.float32), w, b, training=True)

        def torch_bn(x: Any, w: Any, b: Any, c: int = c) -> Any:
            return TF.batch_norm(x, torch.zeros(c), torch.ones(c), w, b, training=True)
        rows.append((f"batch_norm train {label}", _ours(ours_bn, [shape, (c,), (c,)]),
                     _torch(torch_bn, [shape, (c,), (c,)]) if torch else None, None, ""))
    for shape in ((8, 128, 48, 48), (8, 256, 24, 24)):
        label = "x".join(map(str, shape))
        rows.append((f"instance_norm {label}", _ours(instance_norm, [shape]),
                     _torch(TF.instance_norm, [shape]) if torch else None, None, ""))
    shape = (8, 6, 96, 96)
    rows.append(("avg_pool2d 3x3 s2 p1 (no pad count) 8x6x96x96",
                 _ours(avg_pool2d, [shape], kernel_size=3, stride=2, padding=1, count_include_pad=False),
                 _torch(TF.avg_pool2d, [shape], kernel_size=3, stride=2, padding=1, count_include_pad=False)
                 if torch else None, None, ""))
    rows.append(("upsample nearest x2 32x128x8x8", _ours(upsample_nearest2d, [(32, 128, 8, 8)], scale_factor=2),
                 _torch(TF.interpolate, [(32, 128, 8, 8)], scale_factor=2, mode="nearest") if torch else None,
                 None, ""))
    return rows


def main() -> int:
    reuse_freed_memory()  # as our training command does; it applies to both libraries in this process
    info = machine()
    peak = gemm_peak_gflops()
    rows = [r for r in conv_rows() + other_rows() if ARGS.only in r[0]]
    head = (f"{info['cpu']}, {info['cores']} cores; NumPy {np.__version__}, BLAS {info['blas']}; "
            f"{'PyTorch ' + torch.__version__ if torch else 'no PyTorch'}; {ARGS.threads} threads each; "
            f"float32 GEMM peak {peak:.0f} GFLOP/s (same run); forward + backward, float32, best of 3 rounds")
    cols = ["op", "path", "ms", "GFLOP/s", "% peak"] + (["torch ms", "x torch"] if torch else [])
    if ARGS.markdown:
        print(head + "\n")
        print("| " + " | ".join(cols) + " |")
        print("|" + "|".join(["---", "---"] + ["---:"] * (len(cols) - 2)) + "|")
    else:
        print(head)
    ratios: dict = {"conv": [], "other": []}
    for name, ours, theirs, gflop, path in rows:
        ms = timed(ours)
        time.sleep(0.5)
        ref_ms = timed(theirs) if theirs is not None else None
        time.sleep(0.5)
        cells = [name, path, f"{ms:.2f}", f"{gflop / (ms / 1e3):.0f}" if gflop else "-",
                 f"{100 * gflop / (ms / 1e3) / peak:.0f}%" if gflop else "-"]
        if ref_ms is not None:
            cells += [f"{ref_ms:.2f}", f"{ms / ref_ms:.2f}"]
            ratios["conv" if gflop else "other"].append(ms / ref_ms)
        print(("| " + " | ".join(cells) + " |") if ARGS.markdown else "  ".join(cells), flush=True)
    if ratios["conv"]:
        print(f"\nconvolutions: median x torch {np.median(ratios['conv']):.2f}, worst {max(ratios['conv']):.2f}")
    if ratios["other"]:
        print(f"norm, pooling, upsampling: worst x torch {max(ratios['other']):.2f}")
    print(f"load average while running: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
