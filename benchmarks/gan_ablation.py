"""What each loss term of the GAN buys: the same U-Net recipe trained with L1, L1+perceptual and the full GAN,
scored on the same HELD-OUT crops, with a figure of the same crops (a benchmark, not a test).

    MINITORCH_DEBLUR_DATA=../shared/data python benchmarks/gan_ablation.py \
        runs/gan-l1/model.npz runs/gan-l1p/model.npz runs/gan-best/model.npz \
        --markdown benchmarks/results/gan_ablation.md --figure benchmarks/results/gan_ablation.jpg

The runs: ``train deblurgan --recipe best --losses l1 | l1+perceptual | l1+perceptual+adv`` (seed 0; the first 10
epochs of each are the same L1 warm-up). PSNR/SSIM on RGB in [0, 1], MAX 1; the 240 fixed test crops (96x96,
course motion blur, seed 10000) of the 119 HELD-OUT photographs. Sharpness: the mean absolute Laplacian of the
output over the sharp crops' (1.0 = as much fine detail as the truth; blur lowers it, invented texture raises it).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import List

import numpy as np

from minitorch_deblur.checkpoint import checkpoint_meta, load_model
from minitorch_deblur.imaging.restoration import load_test_set, score_model


def sharpness(images: np.ndarray) -> float:
    """Mean |4-neighbour Laplacian| of the grey images (N, 3, H, W) in [0, 1]."""
    g = images.mean(axis=1)
    lap = 4 * g[:, 1:-1, 1:-1] - g[:, :-2, 1:-1] - g[:, 2:, 1:-1] - g[:, 1:-1, :-2] - g[:, 1:-1, 2:]
    return float(np.abs(lap).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", help="model.npz of each run, in the order of the table")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--figure", help="blurred | each run | sharp on the same crops")
    parser.add_argument("--crops", type=int, nargs="+", default=[0, 3, 7, 12], help="test crops in the figure")
    args = parser.parse_args()
    meta = checkpoint_meta(args.checkpoints[0])
    test = load_test_set(meta["degradation"], dataset="natural-images", size=meta.get("crop_size", 96))
    truth = sharpness(test.sharp)
    base = test.baselines["input"]
    lines = [f"Test set: {test.source}.", "",
             "| losses | epochs | PSNR dB (mean +- std) | SSIM | gain over blurred | sharpness / sharp's |",
             "|---|---|---|---|---|---|",
             f"| blurred input | | {base.psnr.mean():.2f} +- {base.psnr.std():.2f} | {base.ssim.mean():.4f} | | "
             f"{sharpness(test.degraded) / truth:.2f} |"]
    outputs: List[np.ndarray] = []
    names: List[str] = []
    for path in args.checkpoints:
        run = checkpoint_meta(path)
        scores, restored = score_model(load_model(path), test.degraded, test.sharp)
        restored = np.clip(restored, 0, 1)
        outputs.append(restored)
        names.append(run.get("losses", "?"))
        lines.append(f"| {names[-1]} | {run.get('epoch', '?')} | {scores.psnr.mean():.2f} +- {scores.psnr.std():.2f} "
                     f"| {scores.ssim.mean():.4f} | {scores.psnr.mean() - base.psnr.mean():+.2f} dB | "
                     f"{sharpness(restored) / truth:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    if args.figure:
        from minitorch_deblur.imaging.plots import plot_side_by_side

        pick = list(args.crops)
        plot_side_by_side([("blurred", test.degraded[pick])] + [(n, o[pick]) for n, o in zip(names, outputs)],
                          test.sharp[pick], Path(args.figure), "the same held-out crops: which loss terms trained G")
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
