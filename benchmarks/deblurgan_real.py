"""The GAN deblurrer on real camera motion blur, and what tiling changes (a benchmark, not a test).

    MINITORCH_DEBLUR_DATA=../shared/data python benchmarks/deblurgan_real.py --markdown benchmarks/results/deblurgan_real.md

1. ``real-eval/motion-blur-pairs``: 22 real blurred/sharp pairs (2 GoPro at 1280x720, 20 REDS at 320x180). Each
   blurred frame goes through the ``deblur`` command itself, whole (``--max-memory`` large enough), at each
   ``--scales`` factor (``deblur --scale``: the model runs on the frame shrunk by it and its correction is enlarged
   back); the written PNG is scored against the sharp frame: PSNR (RGB, MAX 1, whole image) and SSIM, per pair and
   on average. That set is for measuring only: nothing here trains or tunes on it, and nothing of it is copied
   into the project except the small before/after figure of its 4 photos without ground truth.
2. Tiling: a HELD-OUT Kodak photo, motion-blurred (seeded), restored whole and in blended 256 px tiles (instance
   norm makes the GAN's output depend on the whole image): PSNR of each against the sharp photo.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

from minitorch_deblur import deblur
from minitorch_deblur.data.root import data_root
from minitorch_deblur.metrics import psnr, ssim
from minitorch_deblur.models.registry import REGISTRY
from minitorch_deblur.imaging.photo_io import read_color_photo


def _read(path: Path) -> np.ndarray:
    return read_color_photo(path)[0]


def score_pairs(checkpoint: str, scales: List[float], out: Path, extra: List[str]) -> Dict[str, Dict[str, float]]:
    """{pair name: {'blur_psnr', 'blur_ssim', 'psnr@S', 'ssim@S', 'seconds@S'}} for every pair."""
    pairs = data_root() / "real-eval" / "motion-blur-pairs"
    rows: Dict[str, Dict[str, float]] = {}
    for blurred in sorted((pairs / "blur").glob("*.png")):
        sharp = _read(pairs / "sharp" / blurred.name)
        blur = _read(blurred)
        row = {"blur_psnr": psnr(blur, sharp), "blur_ssim": ssim(blur, sharp)}
        for scale in scales:
            target = out / f"x{scale:g}" / blurred.name
            start = time.perf_counter()
            code = deblur.main([str(blurred), "-o", str(target), "--checkpoint", checkpoint, "--scale", str(scale),
                                "--max-memory", "64", *extra])
            if code:
                raise SystemExit(f"deblur failed on {blurred}")
            restored = _read(target)
            row.update({f"psnr@{scale:g}": psnr(restored, sharp), f"ssim@{scale:g}": ssim(restored, sharp),
                        f"seconds@{scale:g}": time.perf_counter() - start})
        rows[blurred.stem] = row
    return rows


def no_ground_truth_figure(checkpoint: str, scale: float, out: Path, figure: Path, extra: List[str]) -> None:
    """The 4 real blurry photos without a sharp frame, before | after, in one figure (small JPEG)."""
    from minitorch_deblur.imaging.plots import pyplot, save_figure

    photos = sorted((data_root() / "real-eval" / "motion-blur-pairs" / "no_ground_truth").iterdir())
    plt = pyplot()
    fig, axes = plt.subplots(len(photos), 2, figsize=(9, 3.4 * len(photos)), squeeze=False)
    for row, photo in zip(axes, photos):
        target = out / "no_ground_truth" / f"{photo.stem}.png"
        if deblur.main([str(photo), "-o", str(target), "--checkpoint", checkpoint, "--scale", str(scale),
                        "--max-memory", "64", *extra]):
            raise SystemExit(f"deblur failed on {photo}")
        for ax, image, title in zip(row, (_read(photo), _read(target)), ("blurred", f"deblurgan (--scale {scale:g}{' --ensemble' if extra else ''})")):
            ax.imshow(image.transpose(1, 2, 0))
            ax.set_title(f"{photo.name}: {title}", fontsize=9)
            ax.axis("off")
    figure.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, figure, dpi=80)


def tiling_change(checkpoint: str, tile: int = 256) -> str:
    """PSNR of a held-out Kodak photo (768x512), motion-blurred, restored whole vs in blended tiles."""
    from minitorch_deblur.checkpoint import checkpoint_meta, load_model
    from minitorch_deblur.data.degrade import degrade_one
    from minitorch_deblur.imaging.tiling import restore_image

    sharp = _read(data_root() / "natural-images" / "kodak24" / "01.png")
    kind = checkpoint_meta(checkpoint).get("degradation", "motion")
    blurred = np.clip(degrade_one(sharp, kind, np.random.default_rng(0)), 0, 1).astype(np.float32)
    model = load_model(checkpoint)
    whole, _ = restore_image(model, blurred, 64e9)
    tiled, how = restore_image(model, blurred, 64e9, tile=tile)
    scores = [psnr(np.clip(x, 0, 1), sharp) for x in (blurred, whole, tiled)]
    return (f"kodak24/01.png ({sharp.shape[2]}x{sharp.shape[1]}, {kind} blur, seed 0): blurred {scores[0]:.2f} dB, "
            f"whole image {scores[1]:.2f} dB, {how} {scores[2]:.2f} dB: tiling changes PSNR by "
            f"{scores[2] - scores[1]:+.3f} dB (max pixel difference {np.abs(whole - tiled).max():.3f})")


def markdown(rows: Dict[str, Dict[str, float]], scales: List[float], tiling: str, checkpoint: str,
             extra: List[str]) -> str:
    head = "| pair | blurred PSNR / SSIM | " + " | ".join(f"restored at --scale {s:g}" for s in scales) + " |"
    lines = [f"Checkpoint: `{checkpoint}`; `deblur {' '.join(extra)}`. PSNR in dB on RGB in [0, 1] (MAX 1), whole "
             "frame; SSIM beside it.", "",
             head, "|" + "---|" * (2 + len(scales))]

    def cells(values: Dict[str, float]) -> str:
        return " | ".join(f"{values[f'psnr@{s:g}']:.2f} / {values[f'ssim@{s:g}']:.3f}" for s in scales)

    for name, row in rows.items():
        lines.append(f"| {name} | {row['blur_psnr']:.2f} / {row['blur_ssim']:.3f} | {cells(row)} |")
    for label, keep in (("mean, 22 pairs", lambda n: True), ("mean, 2 GoPro 1280x720", lambda n: "gopro" in n),
                        ("mean, 20 REDS 320x180", lambda n: "reds" in n)):
        chosen = [r for n, r in rows.items() if keep(n)]
        mean = {k: float(np.mean([r[k] for r in chosen])) for k in chosen[0]}
        lines.append(f"| **{label}** | {mean['blur_psnr']:.2f} / {mean['blur_ssim']:.3f} | {cells(mean)} |")
    return "\n".join(lines + ["", f"Tiling: {tiling}", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(REGISTRY["deblurgan"].shipped_path))
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.5, 0.25])
    parser.add_argument("--figure-scale", type=float, default=0.5, help="--scale of the no-ground-truth figure")
    parser.add_argument("--out", default="runs/real-eval", help="where the restored frames go")
    parser.add_argument("--figure", default="benchmarks/results/deblurgan_no_ground_truth.jpg")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--ensemble", action="store_true", help="deblur --ensemble (the mean of 8 flips/rotations)")
    args = parser.parse_args()
    out = Path(args.out)
    extra = ["--ensemble"] if args.ensemble else []
    rows = score_pairs(args.checkpoint, args.scales, out, extra)
    tiling = tiling_change(args.checkpoint)
    text = markdown(rows, args.scales, tiling, args.checkpoint, extra)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    no_ground_truth_figure(args.checkpoint, args.figure_scale, out, Path(args.figure), extra)
    print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
