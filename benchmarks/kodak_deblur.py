"""``deblur`` on real photographs: the 24 HELD-OUT Kodak photos (768x512), degraded with course B's blur + noise,
restored whole with the shipped models (a benchmark, not a test).

    MINITORCH_DEBLUR_DATA=../shared/data python benchmarks/kodak_deblur.py --models win5rb cae \
        --markdown benchmarks/results/kodak_deblur.md --figure benchmarks/results/kodak_before_after.jpg

Each photo is degraded as ``deblur PHOTO --degrade --seed 0`` does (the model's own degradation: a 5x5 Gaussian
blur, sigma U[1, 4), + 0.02 N(0, 1) noise, drawn from seed 0 for each photo) and restored by the same function
``deblur`` uses (whole image within ``--max-memory``). PSNR/SSIM on RGB in [0, 1], MAX 1, whole image, per photo
and on average. The figure: one photo, sharp | degraded | restored, with a zoomed crop.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from minitorch_deblur import deblur
from minitorch_deblur.checkpoint import checkpoint_meta, load_model
from minitorch_deblur.data.degrade import degrade_one
from minitorch_deblur.data.root import data_root
from minitorch_deblur.metrics import psnr, ssim
from minitorch_deblur.models.registry import shipped
from minitorch_deblur.imaging.photo_io import read_color_photo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["win5rb", "cae"], choices=sorted(shipped("restore")))
    parser.add_argument("--limit", type=int, default=0, help="the first N photos only (0: all 24)")
    parser.add_argument("--max-memory", type=float, default=8.0, help="GB, as deblur's option")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--figure", help="sharp | degraded | restored (the first model) of --figure-photo")
    parser.add_argument("--figure-photo", default="23.png")
    args = parser.parse_args()
    photos = sorted((data_root() / "natural-images" / "kodak24").glob("*.png"))[: args.limit or None]
    files = shipped("restore")
    models = {name: load_model(files[name]) for name in args.models}
    rows, shown = [], {}
    for photo in photos:
        sharp = read_color_photo(photo)[0]
        kind = checkpoint_meta(files[args.models[0]]).get("degradation", "gaussian_noise")
        degraded = np.clip(degrade_one(sharp, kind, np.random.default_rng(0)), 0, 1).astype(np.float32)
        row = {"photo": photo.name, "input": (psnr(degraded, sharp), ssim(degraded, sharp))}
        for name, model in models.items():
            start = time.perf_counter()
            restored, _ = deblur.restore_at_scale(model, degraded, 1.0, args.max_memory * 1e9, "cpu")
            restored = np.clip(restored, 0, 1)
            row[name] = (psnr(restored, sharp), ssim(restored, sharp), time.perf_counter() - start)
            if photo.name == args.figure_photo and name == args.models[0]:
                shown = {"sharp": sharp, "degraded": degraded, "restored": restored}
        rows.append(row)
        print(photo.name, " ".join(f"{k} {v[0]:.2f} dB" for k, v in row.items() if k != "photo"), flush=True)
    head = "| photo | degraded PSNR / SSIM | " + " | ".join(f"{m} PSNR / SSIM (s)" for m in models) + " |"
    lines = [f"{len(rows)} HELD-OUT Kodak24 photos (768x512), course B blur + noise (seed 0 per photo), restored "
             "whole; PSNR dB on RGB [0, 1], MAX 1.", "", head, "|" + "---|" * (2 + len(models))]
    for row in rows:
        lines.append(f"| {row['photo']} | {row['input'][0]:.2f} / {row['input'][1]:.3f} | " + " | ".join(
            f"{row[m][0]:.2f} / {row[m][1]:.3f} ({row[m][2]:.0f})" for m in models) + " |")
    mean = {k: np.mean([r[k] for r in rows], axis=0) for k in ["input", *models]}
    lines.append(f"| **mean** | {mean['input'][0]:.2f} / {mean['input'][1]:.3f} | " + " | ".join(
        f"{mean[m][0]:.2f} / {mean[m][1]:.3f} ({mean[m][2]:.0f})" for m in models) + " |")
    lines += ["", "Mean PSNR gain over the degraded photo: " + ", ".join(
        f"{m} {mean[m][0] - mean['input'][0]:+.2f} dB" for m in models) + "."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    if args.figure and shown:
        from minitorch_deblur.imaging.plots import pyplot, save_figure

        plt = pyplot()
        fig, axes = plt.subplots(2, 3, figsize=(12, 6.2), gridspec_kw={"height_ratios": [2, 1.3]})
        y, x = 160, 300                      # a detailed 128x192 region of the photo
        for col, (name, image) in enumerate(shown.items()):
            score = "" if name == "sharp" else f" {psnr(image, shown['sharp']):.2f} dB"
            axes[0, col].imshow(image.transpose(1, 2, 0))
            axes[0, col].set_title(f"{name}{score}", fontsize=9)
            axes[1, col].imshow(image[:, y:y + 128, x:x + 192].transpose(1, 2, 0), interpolation="nearest")
            for ax in axes[:, col]:
                ax.axis("off")
        fig.suptitle(f"kodak24/{args.figure_photo} (HELD-OUT): course B blur + noise, then deblur --model "
                     f"{args.models[0]}", fontsize=10)
        save_figure(fig, Path(args.figure), dpi=80)
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
