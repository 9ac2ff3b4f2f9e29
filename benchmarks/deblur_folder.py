"""Time `deblur --out-dir` on a folder of CIFAR-10 test images (32x32 PNGs), per shipped model.

    MINITORCH_DEBLUR_DATA=../shared/data python benchmarks/deblur_folder.py --count 846 --models win5rb srcnn cae
    PYTHONPATH=/tmp/base python benchmarks/deblur_folder.py --count 100     # an older checkout, for "before"

Writes the first N test images (the full set, else the partial copy) into a temporary folder, then runs
``python -m minitorch_deblur.deblur FOLDER --model M --out-dir OUT`` in a child process (whatever
``minitorch_deblur`` PYTHONPATH names, else this checkout's) ``--repeat`` times and prints the best wall time and images/s, with the
load average. Results: benchmarks/results/deblur_folder.md.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def write_pngs(folder: Path, count: int) -> int:
    """The first ``count`` CIFAR-10 test images as folder/NNNN.png; returns how many were written."""
    from PIL import Image

    from minitorch_deblur.data.cifar10 import load_cifar10

    data = load_cifar10("test", download=False, allow_partial=True)
    images = data.arrays[0][:count]
    for i, image in enumerate(images):
        Image.fromarray(np.asarray(image).transpose(1, 2, 0).astype(np.uint8)).save(folder / f"{i:04d}.png")
    return len(images)


def time_model(folder: Path, model: str, out: Path) -> float:
    """Wall seconds of one deblur run over the folder (the child's exit status must be 0)."""
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH") or str(ROOT)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "minitorch_deblur.deblur", str(folder), "--model", model,
                    "--out-dir", str(out), "--device", "cpu"], check=True, stdout=subprocess.DEVNULL,
                   cwd=folder.parent, env=env)
    return time.perf_counter() - start


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=846, help="images (the partial copy holds 846)")
    parser.add_argument("--models", nargs="+", default=["win5rb", "srcnn", "cae"])
    parser.add_argument("--repeat", type=int, default=2, help="runs per model; the best is kept")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        n = write_pngs(folder, args.count)
        print(f"{n} images, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
              f"(minitorch_deblur from {os.environ.get('PYTHONPATH') or ROOT})")
        for model in args.models:
            best = min(time_model(folder, model, Path(tmp) / f"out-{model}-{r}") for r in range(args.repeat))
            print(f"{model:8s} {best:8.1f} s  {n / best:7.1f} images/s  "
                  f"(load average now {os.getloadavg()[0]:.2f})", flush=True)


if __name__ == "__main__":
    main()
