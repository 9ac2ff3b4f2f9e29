"""The degraded inputs' own scores: the baseline every restoration model must beat (a benchmark, not a test).

    MINITORCH_DEBLUR_DATA=../shared/data python benchmarks/degraded_baselines.py

Course A week 3: x4 down-then-up (bilinear, as the notebook ran; bicubic, as the document says) of the first 5
CIFAR-10 test images; course B: 5x5 Gaussian blur sigma~U[1,4) + 0.02 noise on the whole (partial) test set, seed 0.
PSNR and SSIM on RGB in [0, 1], MAX = 1, mean of per-image values, no border crop.
"""
from __future__ import annotations

import numpy as np

from minitorch_deblur.data import load_cifar10, to_float
from minitorch_deblur.data.degrade import degrade
from minitorch_deblur.metrics import mse, psnr, ssim


def main() -> None:
    test = load_cifar10("test", allow_partial=True)
    clean = to_float(test.images)
    first5 = clean[:5]
    for method in ("bilinear", "bicubic"):
        low = degrade(first5, method)
        print(f"course A x4 {method:8s} first 5 test images: PSNR {psnr(low, first5):.2f} dB  SSIM "
              f"{ssim(low, first5):.4f}")
    noisy = degrade(clean, "gaussian_noise", seed=0)
    print(f"course B blur+noise, {len(clean)} test images, seed 0: MSE {float(mse(noisy, clean)):.5f}  PSNR "
          f"{psnr(noisy, clean, check_range=False):.2f} dB  SSIM {ssim(np.clip(noisy, 0, 1), clean):.4f} (clipped)")


if __name__ == "__main__":
    main()
