"""One training step (forward, cross-entropy, backward, Adam) of the MNIST MLP and CNN beside PyTorch CPU.

    python benchmarks/train_step.py [--threads 2] [--batch-size 64] [--repeats 20]

The same architecture, batch and thread count on both sides, timed in alternation in one process. The number to
compare is the ratio; the seconds per epoch assume 60,000 images and exclude evaluation and data loading.
"""
from __future__ import annotations

import argparse
import os

_parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_parser.add_argument("--threads", type=int, default=2)
_parser.add_argument("--batch-size", type=int, default=64)
_parser.add_argument("--repeats", type=int, default=20)
ARGS = _parser.parse_args()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import time  # noqa: E402
from typing import Any, Callable, List  # noqa: E402

import numpy as np  # noqa: E402

import minitorch_deblur as mt  # noqa: E402
import minitorch_deblur.functional as F  # noqa: E402
from minitorch_deblur.models import CNN, MLP  # noqa: E402
from minitorch_deblur.optim import Adam  # noqa: E402


def ours(name: str, images: np.ndarray, labels: np.ndarray) -> Callable[[], None]:
    model = {"mlp": MLP, "cnn": CNN}[name](generator=mt.Generator(0))
    optimizer = Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        optimizer.zero_grad()
        F.cross_entropy(model(mt.tensor(images)), labels).backward()
        optimizer.step()
    return step


def theirs(name: str, images: np.ndarray, labels: np.ndarray) -> Callable[[], None]:
    import torch
    from torch import nn

    torch.set_num_threads(ARGS.threads)
    if name == "mlp":
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, 128),
                              nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))
    else:
        def block(c_in: int, c_out: int) -> List[Any]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Dropout(0.3)]
        model = nn.Sequential(*block(1, 32), *block(32, 64), *block(64, 128), nn.Flatten(), nn.Linear(1152, 256),
                              nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.3),
                              nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)

    def step() -> None:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return step


def main() -> None:
    rng = np.random.default_rng(0)
    images = rng.random((ARGS.batch_size, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, ARGS.batch_size)
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    print(f"batch {ARGS.batch_size}, {ARGS.threads} threads, median of {ARGS.repeats} steps after 3 warm-up steps")
    print(f"{'model':6s} {'ours ms':>9s} {'s/epoch':>8s} {'torch ms':>9s} {'s/epoch':>8s} {'x torch':>8s}")
    for name in ("mlp", "cnn"):
        runners = {"ours": ours(name, images, labels)}
        if have_torch:
            runners["torch"] = theirs(name, images, labels)
        times = {k: [] for k in runners}
        for _ in range(3):
            for step in runners.values():
                step()
        for _ in range(ARGS.repeats):
            for key, step in runners.items():  # alternate, so both see the same machine load
                start = time.perf_counter()
                step()
                times[key].append(time.perf_counter() - start)
        per_epoch = 60_000 / ARGS.batch_size
        ms = {k: 1000 * float(np.median(v)) for k, v in times.items()}
        line = f"{name:6s} {ms['ours']:9.1f} {ms['ours'] * per_epoch / 1000:8.1f}"
        if have_torch:
            line += f" {ms['torch']:9.1f} {ms['torch'] * per_epoch / 1000:8.1f} {ms['ours'] / ms['torch']:8.2f}"
        print(line)


if __name__ == "__main__":
    main()
