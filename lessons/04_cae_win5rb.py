"""Lesson 04: course B, deblurring CIFAR-10 with a convolutional autoencoder (CAE) and a residual network (Win5-RB).

Run:  python lessons/04_cae_win5rb.py --quick   (1,000 images, 2 epochs each: a few minutes on 2 cores)
      python lessons/04_cae_win5rb.py           (the best recipes, 20 epochs each: hours on 2 cores)
      --smoke: 32 images, 1 epoch, seconds.  --out DIR for the runs and figures (default runs/lessons/04), --data-dir.

Lesson 03 sharpened an upscaled image with three convolutions. Here the degradation is course B's: a 5x5 Gaussian
blur with sigma drawn from U[1, 4) per image, then + 0.02 N(0, 1) noise, and two designs compete.
What it shows
1. The blur kernels for sigma 1 and 4 (a 5x5 kernel cannot hold sigma 4: it is almost a box) and the noise.
2. The CAE squeezes 32x32 to 8x8 with max pooling and grows it back with nearest-neighbour upsampling: pooling then
   upsampling a sharp image already costs PSNR, detail the decoder must re-invent.
3. Win5-RB is residual: output = input + correction. With Keras's init its last batch norm (scale 1) adds
   unit-variance noise to the image at the start; with zero_init_residual it starts as the identity.
4. Cost: FLOPs and im2col memory of each layer (nn/summary.py): Win5-RB's 7x7 convs on 128 channels at full
   resolution are what make it slow; and batch norm's lagging running statistics (nn/batchnorm_stats.py).
5. Both trained with python -m minitorch_deblur.train's loop; test MSE beside the course's 0.0028165 (CAE) and
   0.0022575 (Win5-RB), and compare.png: degraded | CAE | Win5-RB | sharp.
Next: lesson 05 removes motion blur from natural photographs with a U-Net GAN.
Exercises: python -m minitorch_deblur.exercise start --lesson 4.
Files to read: models/cae.py, models/win5rb.py, models/keras_init.py, functional/pool.py (upsample),
nn/batchnorm_stats.py, data/degrade.py. Tests that prove it: python -m pytest -m lesson4
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

import minitorch_deblur.functional as F
from minitorch_deblur import Generator, Tensor, no_grad
from minitorch_deblur.checkpoint import load_model
from minitorch_deblur.data.degrade import gaussian_kernel
from minitorch_deblur.metrics import psnr
from minitorch_deblur.models import CAE, Win5RB
from minitorch_deblur.imaging.plots import pyplot, save_figure
from minitorch_deblur.imaging.restoration import load_test_set, restore_batches
from minitorch_deblur.nn.summary import summary
from minitorch_deblur.train import cli
from minitorch_deblur.lesson import lesson_args

COURSE_MSE = {"cae": 0.0028165, "win5rb": 0.0022575}


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    return lesson_args(__doc__, "04", full=(0, 20), quick=(1000, 2), smoke=(32, 1), argv=argv)


def show_degradation() -> None:
    print("1. course B's blur: a 5x5 Gaussian, sigma ~ U[1, 4) per image, then + 0.02 N(0, 1) noise (not clipped)")
    for sigma in (1.0, 4.0):
        k = gaussian_kernel(5, sigma)
        print(f"   sigma {sigma:g}: centre weight {k[2, 2]:.3f}, corner {k[0, 0]:.3f}, centre row "
              f"{[round(float(v), 3) for v in k[2]]}")
    print("   at sigma 4 the 5x5 kernel is nearly a box filter; the noise alone is MSE 0.02^2 = 0.0004 (34 dB)")


def show_bottleneck(sharp: np.ndarray) -> None:
    x = Tensor(sharp)
    round_trip = F.upsample_nearest2d(F.upsample_nearest2d(F.max_pool2d(F.max_pool2d(x, 2), 2), 2), 2).data
    print(f"2. the CAE's bottleneck: max-pool 2 twice, upsample 2 twice, on sharp images gives "
          f"{psnr(np.clip(round_trip, 0, 1), sharp):.2f} dB: the decoder must re-invent that detail")


def show_residual(test_degraded: np.ndarray, sharp: np.ndarray, seed: int) -> None:
    print("3. Win5-RB at initialisation (output = input + correction), on the degraded test images:")
    for zero in (False, True):
        model = Win5RB(zero_init_residual=zero, generator=Generator(seed))
        model.train()   # batch statistics, as in the first training steps
        with no_grad():
            y = model(Tensor(test_degraded)).data
        print(f"   zero_init_residual={zero!s:5s}: {psnr(np.clip(y, 0, 1), sharp):6.2f} dB "
              f"(input {psnr(np.clip(test_degraded, 0, 1), sharp):.2f} dB)")


def show_cost() -> None:
    print("4. the cost of one 32x32 image (summary(): FLOPs and the im2col matrix of each conv layer):")
    mflops = {}
    for name, model in (("CAE", CAE()), ("Win5-RB", Win5RB())):
        total = summary(model, (1, 3, 32, 32)).splitlines()[-1]
        mflops[name] = float(total.split()[2].replace(",", ""))
        print(f"   {name}: {total.split(None, 1)[1].strip()}")
    print(f"   Win5-RB's 7x7 convolutions on 128 channels at full resolution cost "
          f"{mflops['Win5-RB'] / mflops['CAE']:.1f}x the CAE's FLOPs:\n"
          + "\n".join("   " + line for line in summary(Win5RB(), (1, 3, 32, 32)).splitlines()
                       if "Conv2d" in line or line.startswith("layer")))


def save_comparison(rows: Dict[str, np.ndarray], scores: Dict[str, np.ndarray], path: Path) -> None:
    plt = pyplot()
    n = len(next(iter(rows.values())))
    fig, axes = plt.subplots(len(rows), n, figsize=(1.5 * n, 1.6 * len(rows)), squeeze=False)
    for r, (label, images) in enumerate(rows.items()):
        for i in range(n):
            ax = axes[r, i]
            ax.imshow(np.clip(images[i], 0, 1).transpose(1, 2, 0), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if label in scores:
                ax.set_title(f"{scores[label][i]:.1f} dB", fontsize=7)
            if i == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.suptitle("course B blur + noise: degraded | CAE | Win5-RB | sharp (PSNR, MAX 1)", fontsize=9)
    save_figure(fig, path)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    out = args.out
    show_degradation()
    test = load_test_set("gaussian_noise", args.data_dir, 8, allow_partial=True)
    show_bottleneck(test.sharp)
    show_residual(test.degraded, test.sharp, args.seed)
    show_cost()
    results, restored = {}, {}
    print("5. training with the best recipes (python -m minitorch_deblur.train MODEL --recipe best ...):")
    for name in ("cae", "win5rb"):
        run_dir = out / name
        command = [name, "--recipe", "best", "--allow-partial", "--epochs", str(args.epochs), "--limit",
                   str(args.limit), "--seed", str(args.seed), "--out", str(run_dir), "--no-progress"]
        command += ["--data-dir", args.data_dir] if args.data_dir else []
        command += ["--resume", str(run_dir)] if (run_dir / "metrics.json").exists() else []
        cli.run(cli.parse_args(command))
        final = json.loads((run_dir / "metrics.json").read_text())["final"]
        results[name] = final["test_mse"]
        print(f"   {name}: test MSE {final['test_mse']:.5f} (input {final['input_mse']:.5f}, course "
              f"{COURSE_MSE[name]}), PSNR {final['input_psnr']:.2f} -> {final['test_psnr']:.2f} dB")
        restored[name], _ = restore_batches(load_model(run_dir / "model.npz"), test.degraded)
    better = min(results, key=results.get)
    print(f"   lower test MSE: {better}{' (too little training to mean much)' if args.smoke else ''}")
    rows = {"degraded": test.degraded, "CAE": restored["cae"], "Win5-RB": restored["win5rb"], "sharp": test.sharp}
    scores = {k: psnr(np.clip(v, 0, 1), test.sharp, reduction="none") for k, v in rows.items() if k != "sharp"}
    save_comparison(rows, scores, out / "compare.png")
    print(f"   wrote {out / 'compare.png'}")
    print("Next: lesson 05 removes motion blur from natural photographs with a U-Net GAN "
          "(python lessons/05_unet_gan.py --quick). Exercises: python -m minitorch_deblur.exercise start --lesson 4")
    return {f"{name}_test_mse": mse for name, mse in results.items()}


if __name__ == "__main__":
    main()
