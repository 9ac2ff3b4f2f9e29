"""Lesson 03: the course's week 3, SRCNN: restoration as regression, PSNR and SSIM, and what x4 resampling loses.

Run:  python lessons/03_srcnn.py --quick    (the 4,660 CIFAR-10 images here, 10 epochs: a few minutes on 2 cores)
      python lessons/03_srcnn.py            (the course recipe: first 5,000 train images, 100 epochs)
      --smoke: 32 images, 1 epoch, seconds.  --out DIR for the run and figures (default runs/lessons/03), --data-dir.

Lesson 02 classified digits: one label per image, cross-entropy. Here the target is an image, the loss is MSE, and
the score is PSNR = 10 log10(MAX^2 / MSE) in dB (MAX = 1 for [0, 1] images), with SSIM beside it.
What it shows
1. The course's degradation: 32 -> 8 -> 32 pixels through PIL bilinear (what its notebook ran; the document says
   bicubic). PSNR by hand equals metrics.psnr; bicubic upscaling of the same 8x8 image is the baseline to beat.
2. SRCNN 9-1-5: patch extraction (9x9, 64 maps), a 1x1 non-linear mapping (32 maps), reconstruction (5x5). Every
   output pixel sees a 13x13 window of the input (its receptive field): the layer table, 20,099 parameters.
3. Training with python -m minitorch_deblur.train's own loop (train/loop.py, train/restore.py): per-epoch PSNR and
   SSIM on a fixed, degraded test set, beside the degraded input's; the course printed +1.24 dB on 5 images.
4. The 64 learned 9x9 filters of the first layer (filters.png, with a colour bar) and the run's samples.png.
Next: lesson 04 restores blur and noise with an autoencoder and a residual network.
Exercises: python -m minitorch_deblur.exercise start --lesson 3.
Files to read: models/srcnn.py, data/degrade.py, metrics.py, imaging/restoration.py, train/restore.py.
Tests that prove it: python -m pytest -m lesson3
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

from minitorch_deblur.checkpoint import load_model
from minitorch_deblur.data import load_cifar10
from minitorch_deblur.data.degrade import resize_down_up
from minitorch_deblur.data.images import from_uint8
from minitorch_deblur.metrics import psnr, ssim
from minitorch_deblur.models import SRCNN
from minitorch_deblur.imaging.plots import pyplot, save_figure
from minitorch_deblur.nn.summary import summary
from minitorch_deblur.imaging.tiling import receptive_field
from minitorch_deblur.train import cli
from minitorch_deblur.lesson import lesson_args

COURSE_GAIN = 1.24   # 20.01 -> 21.25 dB, printed on the first 5 test images


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    return lesson_args(__doc__, "03", full=(0, 100), quick=(0, 10), smoke=(32, 1), argv=argv)


def show_degradation(args: argparse.Namespace) -> None:
    test = load_cifar10("test", args.data_dir, allow_partial=True)
    sharp = from_uint8(test.images[:5])
    bilinear = resize_down_up(sharp, 4, "bilinear")
    bicubic = resize_down_up(sharp, 4, "bilinear", up="bicubic")
    mse = ((bilinear[0].astype(np.float64) - sharp[0]) ** 2).mean()
    print(f"1. x4 bilinear: 32x32 -> 8x8 -> 32x32. Image 0: MSE {mse:.5f}, so PSNR = 10 log10(1 / {mse:.5f}) = "
          f"{10 * np.log10(1 / mse):.2f} dB; metrics.psnr says {psnr(bilinear[0], sharp[0]):.2f} dB")
    print(f"   first 5 test images: bilinear up {psnr(bilinear, sharp):.2f} dB (course: 20.01), SSIM "
          f"{ssim(bilinear, sharp):.3f}; bicubic up of the same 8x8 images {psnr(bicubic, sharp):.2f} dB, SSIM "
          f"{ssim(bicubic, sharp):.3f}: the classic baseline a super-resolution model must beat")


def show_model(seed: int) -> None:
    from minitorch_deblur import Generator

    model = SRCNN(generator=Generator(seed))
    halo, _ = receptive_field(model)
    print(f"2. SRCNN 9-1-5: each output pixel sees {2 * halo + 1}x{2 * halo + 1} input pixels (4 + 0 + 2 = {halo} "
          f"on each side)\n{summary(model, (1, 3, 32, 32))}")


def save_filters(model: SRCNN, path: Path) -> None:
    """The 64 first-layer 9x9 filters, averaged over R, G, B, on one shared colour scale (the largest 1% of the
    taps clipped) with a colour bar."""
    plt = pyplot()
    w = model.features.weight.data.mean(axis=1)                   # (64, 9, 9)
    limit = float(np.percentile(np.abs(w), 99))                   # a few large taps would wash out the rest
    fig, axes = plt.subplots(8, 8, figsize=(7, 6.4))
    for ax, f in zip(axes.ravel(), w):
        image = ax.imshow(f, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.axis("off")
    fig.colorbar(image, ax=axes, shrink=0.8, extend="both", label="weight (mean over R, G, B; 1% clipped)")
    fig.suptitle("SRCNN: the 64 learned 9x9 filters of the first layer")
    save_figure(fig, path, tight=False)   # the colour bar spans all 64 axes


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    out = args.out
    show_degradation(args)
    show_model(args.seed)
    run_dir = out / "run"
    command = ["srcnn", "--allow-partial", "--epochs", str(args.epochs), "--limit", str(args.limit), "--seed",
               str(args.seed), "--out", str(run_dir), "--no-progress"] + (["--data-dir", args.data_dir]
                                                                           if args.data_dir else [])
    print(f"3. training: python -m minitorch_deblur.train {' '.join(command)}")
    if (run_dir / "metrics.json").exists():
        command += ["--resume", str(run_dir)]
    train_args = cli.parse_args(command)
    cli.run(train_args)
    final = json.loads((run_dir / "metrics.json").read_text())["final"]
    gain = final["test_psnr"] - final["input_psnr"]
    print(f"   test set: {final['input_psnr']:.2f} -> {final['test_psnr']:.2f} dB ({gain:+.2f} dB; course "
          f"{COURSE_GAIN:+.2f} on 5 images), SSIM {final['input_ssim']:.3f} -> {final['test_ssim']:.3f}; bicubic "
          f"{final['bicubic_psnr']:.2f} dB{' (too little training to mean much)' if args.smoke else ''}")
    model = load_model(run_dir / "model.npz")
    save_filters(model, out / "filters.png")
    print(f"4. wrote {out / 'filters.png'}; {run_dir / 'samples.png'} shows degraded | restored | sharp")
    print("Next: lesson 04 restores blur and noise with an autoencoder and a residual network "
          "(python lessons/04_cae_win5rb.py --quick). Exercises: python -m minitorch_deblur.exercise start --lesson 3")
    return {"gain_db": gain, "test_psnr": final["test_psnr"], "input_psnr": final["input_psnr"]}


if __name__ == "__main__":
    main()
