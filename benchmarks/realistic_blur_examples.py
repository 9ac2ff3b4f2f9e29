"""Realistic synthetic blur beside real blurred frames, and its speed (a benchmark, not a test).

    MINITORCH_DEBLUR_DATA=../shared/data python benchmarks/realistic_blur_examples.py

Writes ``benchmarks/results/realistic_blur_examples.jpg`` and ``benchmarks/results/realistic_blur_examples.md``:

- rows 1-3: four seeded 256x256 crops of natural-images TRAIN photographs: sharp; with ``realistic_blur`` at
  ``scale`` 1.0 (the blur of a full-resolution 1280x720 frame, 5-45 px); with the photo's own scale
  (``scale_for``: its long side / 1280). Each blurred panel shows its kernel (enlarged, top left) and the draws.
- row 4: REAL blurred frames of ``real-eval/motion-blur-pairs/blur``, shown only (1:1 crops of the two GoPro
  frames at 1280x720, and two REDS frames, which their source downscaled x4 to 320x180). Nothing of that set is
  used to choose any parameter of the synthesis, and no file of it is copied into the project.
- the time of one ``realistic_blur`` call per 96x96 and 256x256 crop (median of many, on this machine's CPU).
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from minitorch_deblur.data.natural import NaturalImages
from minitorch_deblur.data.realistic_blur import realistic_blur, scale_for
from minitorch_deblur.data.root import data_root

RESULTS = Path(__file__).resolve().parent / "results"


def timings(reps: int = 60) -> list:
    """[(size, mode, median ms)] for one call on a random crop; modes fix the optional steps on or off."""
    modes = {"uniform, no JPEG": dict(nonuniform=False, jpeg=False),
             "default mix (50 % non-uniform, 50 % JPEG)": {},
             "non-uniform + JPEG": dict(nonuniform=True, jpeg=True)}
    rows = []
    for size in (96, 256):
        img = np.random.default_rng(0).random((3, size, size), dtype=np.float32)
        for mode, opts in modes.items():
            realistic_blur(img, np.random.default_rng(0), **opts)   # warm up
            ts = []
            for i in range(reps):
                t = time.perf_counter()
                realistic_blur(img, np.random.default_rng(i), **opts)
                ts.append(time.perf_counter() - t)
            rows.append((size, mode, 1e3 * float(np.median(ts))))
    return rows


def _most_textured(img: np.ndarray, size: int) -> np.ndarray:
    """The size x size window (stride size // 4) of an (H, W, 3) image with the largest grey-level variance."""
    h, w, _ = img.shape
    size = min(size, h, w)
    grey = img.mean(axis=2)
    best, where = -1.0, (0, 0)
    for y in range(0, h - size + 1, max(1, size // 4)):
        for x in range(0, w - size + 1, max(1, size // 4)):
            v = float(grey[y:y + size, x:x + size].var())
            if v > best:
                best, where = v, (y, x)
    y, x = where
    return img[y:y + size, x:x + size]


def _with_kernel(ax, img: np.ndarray, kernel: np.ndarray) -> None:
    """Show an (H, W, 3) image with its kernel enlarged in the top-left corner."""
    shown = img.copy()
    k = kernel / kernel.max()
    zoom = max(1, 64 // k.shape[0])
    k = np.kron(k, np.ones((zoom, zoom)))[:shown.shape[0] // 3, :shown.shape[1] // 3]
    shown[:k.shape[0], :k.shape[1]] = k[..., None]
    ax.imshow(np.clip(shown, 0, 1), interpolation="nearest")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--out", default=str(RESULTS / "realistic_blur_examples.jpg"))
    parser.add_argument("--reps", type=int, default=60)
    args = parser.parse_args()

    import matplotlib  # noqa: PLC0415
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    train = NaturalImages("train")
    crops = train.crops(4, 256, seed=args.seed)
    sharp = crops.arrays[0].astype(np.float32) / 255.0
    real_dir = data_root() / "real-eval" / "motion-blur-pairs" / "blur"
    real = [("gopro_flower.png", 256), ("gopro_istanbul.png", 256), ("reds_001_00000009.png", 180),
            ("reds_000_00000017.png", 180)]

    fig, axes = plt.subplots(4, 4, figsize=(18, 19))
    for j in range(4):
        photo = train.files[int(crops.sources[j])]
        with Image.open(photo) as im:
            w, h = im.size
        ax = axes[0, j]
        ax.imshow(sharp[j].transpose(1, 2, 0))
        ax.set_title(f"TRAIN crop (sharp)\n{photo.parent.name}/{photo.name} ({w}x{h})", fontsize=10)
        for row, scale in ((1, 1.0), (2, scale_for(w, h))):
            rng = np.random.default_rng((args.seed, row, j))
            out, info = realistic_blur(sharp[j], rng, scale=scale, return_info=True)
            _with_kernel(axes[row, j], out.transpose(1, 2, 0), info["kernels"][0])
            parts = [f"scale {scale:.2f}: extent {info['extent']:.0f} px",
                     f"{'non-uniform (' + str(len(info['kernels'])) + ' kernels)' if info['nonuniform'] else 'uniform'}"]
            if "quality" in info:
                parts.append(f"JPEG q{info['quality']}")
            if "shot" in info:
                parts.append(f"noise shot {info['shot']:.0e}, read {info['read']:.0e}")
            axes[row, j].set_title("synthetic: " + ", ".join(parts[:2]) + "\n" + ", ".join(parts[2:]), fontsize=8)
    for j, (name, size) in enumerate(real):
        with Image.open(real_dir / name) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
        crop = _most_textured(arr, size)
        axes[3, j].imshow(crop, interpolation="nearest")
        axes[3, j].set_title(f"REAL blur (measuring only)\n{name} {arr.shape[1]}x{arr.shape[0]}, "
                             f"1:1 crop {crop.shape[1]}x{crop.shape[0]}", fontsize=10)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[1, 0].set_ylabel("synthetic, scale 1.0\n(a full-resolution crop: 5-45 px)", fontsize=11)
    axes[2, 0].set_ylabel("synthetic, the photo's scale\n(long side / 1280)", fontsize=11)
    axes[3, 0].set_ylabel("real blurred frames", fontsize=11)
    fig.suptitle("realistic_blur: camera shake with inertia, in linear light, saturated highlights, "
                 "Poisson-Gaussian noise, JPEG, mild rotation\n(kernel enlarged top left; every panel 256x256 "
                 "or a 1:1 crop)", fontsize=13)
    fig.tight_layout(rect=(0, 0, 1, 0.965))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=72, pil_kwargs={"quality": 80})
    print(f"wrote {args.out}")

    rows = timings(args.reps)
    lines = ["# realistic_blur: speed of one call", "",
             f"`MINITORCH_DEBLUR_DATA=../shared/data python benchmarks/realistic_blur_examples.py` "
             f"({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, NumPy "
             f"{np.__version__}; median of {args.reps} calls, one image (3, S, S) per call)", "",
             "| crop | mode | ms per crop |", "|---|---|---:|"]
    lines += [f"| {s}x{s} | {m} | {t:.1f} |" for s, m, t in rows]
    lines += ["", "Figure: `realistic_blur_examples.jpg` (synthetic TRAIN crops beside real blurred frames)."]
    md = Path(args.out).with_suffix(".md")
    md.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
