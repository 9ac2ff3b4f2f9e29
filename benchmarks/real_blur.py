"""The real-blur model (NAFNet) against the course's GAN and the blurred input (issue 25; a benchmark, not a test).

    MINITORCH_DEBLUR_DATA=../shared/data python benchmarks/real_blur.py            # every part, ~15 min on 2 cores
    ... --parts pairs sharp                                                          # some of them

Parts (each writes its table to ``--results``, default benchmarks/results/):
- ``pairs``: the 22 real pairs of ``real-eval/motion-blur-pairs`` (2 GoPro 1280x720, 20 REDS 320x180), each
  blurred frame through the ``deblur`` command itself (whole frame), the written PNG scored against the sharp frame:
  PSNR (RGB, MAX 1) and SSIM per pair and per source, for every model of ``--models``. Measured only: nothing
  trains or tunes on these pairs. -> real_blur_pairs.md
- ``synthetic``: ``--crops`` fixed 192x192 crops of the HELD-OUT photos with realistic shake (data/shake_pairs.py,
  seed 2024, none left sharp): mean PSNR of the input and of each model. -> real_blur_synthetic.md
- ``sharp``: the 119 sharp HELD-OUT photos, whole, through each model: mean and minimum PSNR(output, input), the
  change a sharp photo suffers. -> real_blur_sharp.md
- ``cost``: ``deblur`` in a fresh process on a 1280x720 frame and on a 4000x3000 photo (Kodak 01 enlarged
  bicubic), 2 BLAS threads: wall time and peak resident memory (the process's ``ru_maxrss``); and the largest pixel
  difference between the 1280x720 frame restored whole and in tiles. -> real_blur_cost.md
- ``figure``: the 2 GoPro frames and 2 REDS frames: blurred | GAN | NAFNet | sharp, with 1:1 crops where NAFNet
  changed the frame most. -> real_blur_pairs.jpg
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from minitorch_deblur import deblur
from minitorch_deblur.data.root import data_root
from minitorch_deblur.imaging.photo_io import read_color_photo
from minitorch_deblur.metrics import psnr, ssim
from minitorch_deblur.models.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC_SEED = 2024


def _read(path: Path) -> np.ndarray:
    return read_color_photo(path)[0]


def _checkpoints(models: Sequence[str], override: Dict[str, str]) -> Dict[str, str]:
    return {name: override.get(name) or str(REGISTRY[name].shipped_path) for name in models}


def _pairs_dir() -> Path:
    return data_root() / "real-eval" / "motion-blur-pairs"


def score_pairs(checkpoints: Dict[str, str], out: Path) -> Dict[str, Dict[str, float]]:
    """{pair: {'input_psnr', 'input_ssim', '<model>_psnr', '<model>_ssim', '<model>_seconds'}}."""
    rows: Dict[str, Dict[str, float]] = {}
    for blurred in sorted((_pairs_dir() / "blur").glob("*.png")):
        sharp, blur = _read(_pairs_dir() / "sharp" / blurred.name), _read(blurred)
        row = {"input_psnr": psnr(blur, sharp), "input_ssim": ssim(blur, sharp)}
        for name, checkpoint in checkpoints.items():
            target = out / name / blurred.name
            start = time.perf_counter()
            if deblur.main([str(blurred), "-o", str(target), "--checkpoint", checkpoint, "--max-memory", "64"]):
                raise SystemExit(f"deblur failed on {blurred}")
            restored = _read(target)
            row.update({f"{name}_psnr": psnr(restored, sharp), f"{name}_ssim": ssim(restored, sharp),
                        f"{name}_seconds": time.perf_counter() - start})
        rows[blurred.stem] = row
        print(blurred.stem, " ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True)
    return rows


def pairs_markdown(rows: Dict[str, Dict[str, float]], models: Sequence[str]) -> str:
    head = "| pair | input PSNR / SSIM | " + " | ".join(f"{m} PSNR / SSIM (gain)" for m in models) + " |"
    lines = ["PSNR in dB on RGB in [0, 1] (MAX 1), whole frame, SSIM beside it; gain = PSNR - input PSNR. Command: "
             "`python benchmarks/real_blur.py --parts pairs`.", "", head, "|" + "---|" * (2 + len(models))]

    def cells(r: Dict[str, float]) -> str:
        return " | ".join(f"{r[f'{m}_psnr']:.2f} / {r[f'{m}_ssim']:.3f} ({r[f'{m}_psnr'] - r['input_psnr']:+.2f})"
                          for m in models)

    for name, row in rows.items():
        lines.append(f"| {name} | {row['input_psnr']:.2f} / {row['input_ssim']:.3f} | {cells(row)} |")
    for label, keep in (("mean, 22 pairs", lambda n: True), ("mean, 2 GoPro 1280x720", lambda n: "gopro" in n),
                        ("mean, 20 REDS 320x180", lambda n: "reds" in n)):
        chosen = [r for n, r in rows.items() if keep(n)]
        mean = {k: float(np.mean([r[k] for r in chosen])) for k in chosen[0]}
        lines.append(f"| **{label}** | {mean['input_psnr']:.2f} / {mean['input_ssim']:.3f} | {cells(mean)} |")
    for m in models:
        gains = {n: r[f"{m}_psnr"] - r["input_psnr"] for n, r in rows.items()}
        worst = min(gains, key=gains.get)
        lines.append(f"\n{m}: worst pair {worst} {gains[worst]:+.2f} dB; pairs worse than the input by more than "
                     f"0.1 dB: {sum(g < -0.1 for g in gains.values())}; GoPro gains "
                     + ", ".join(f"{gains[n]:+.2f}" for n in gains if "gopro" in n))
    return "\n".join(lines) + "\n"


def _restore(checkpoint: str, images: np.ndarray) -> np.ndarray:
    from minitorch_deblur.checkpoint import load_model
    from minitorch_deblur.imaging.tiling import restore_image

    model = load_model(checkpoint)
    return np.stack([np.clip(restore_image(model, x, 64e9)[0], 0, 1) for x in images])


def synthetic(checkpoints: Dict[str, str], crops: int) -> str:
    """Mean PSNR / SSIM of fixed realistic-shake crops of the HELD-OUT photos, input and each model."""
    from minitorch_deblur.data.loader import to_float
    from minitorch_deblur.data.natural import NaturalImages
    from minitorch_deblur.data.shake_pairs import ShakeMix, shake_pairs

    margin, size = 32, 192        # 256 px with the margin: the smallest HELD-OUT photo is 276x276
    images = NaturalImages("held-out").crops(crops, size + 2 * margin, SYNTHETIC_SEED)
    blurred, sharp = shake_pairs(to_float(images.images), margin, (SYNTHETIC_SEED,), ShakeMix(identity=0.0))
    rows = {"input": blurred}
    rows.update({name: _restore(c, blurred) for name, c in checkpoints.items()})
    base = np.mean([psnr(b, s) for b, s in zip(blurred, sharp)])
    lines = [f"{crops} crops {size}x{size} of the HELD-OUT photos, realistic shake (data/shake_pairs.py: 1.5-40 px, "
             f"noise, highlights, JPEG, rotation; seed {SYNTHETIC_SEED}). Command: "
             "`python benchmarks/real_blur.py --parts synthetic`.", "", "| | PSNR | SSIM | gain |", "|---|---|---|---|"]
    for name, out in rows.items():
        p = np.mean([psnr(o, s) for o, s in zip(out, sharp)])
        q = np.mean([ssim(o, s) for o, s in zip(out, sharp)])
        lines.append(f"| {name} | {p:.2f} | {q:.3f} | {p - base:+.2f} |")
    return "\n".join(lines) + "\n"


def sharp_photos(checkpoints: Dict[str, str], limit: int = 0) -> str:
    """PSNR(model(sharp), sharp) over the sharp HELD-OUT photos (the first ``limit``; 0: all), whole."""
    from minitorch_deblur.checkpoint import load_model
    from minitorch_deblur.data.natural import natural_image_files
    from minitorch_deblur.imaging.tiling import restore_image

    files = natural_image_files("held-out")[:limit or None]
    lines = [f"The {len(files)} sharp HELD-OUT photos (natural-images), whole, through each model: PSNR of the output "
             "against its own input (how much a sharp photo changes). Command: "
             "`python benchmarks/real_blur.py --parts sharp`.", "", "| model | mean PSNR | min PSNR (photo) |",
             "|---|---|---|"]
    for name, checkpoint in checkpoints.items():
        model = load_model(checkpoint)
        scores = {}
        for f in files:
            x = _read(f)
            scores[f"{f.parent.name}/{f.name}"] = psnr(np.clip(restore_image(model, x, 64e9)[0], 0, 1), x)
        worst = min(scores, key=scores.get)
        lines.append(f"| {name} | {np.mean(list(scores.values())):.2f} | {scores[worst]:.2f} ({worst}) |")
        print(lines[-1], flush=True)
    return "\n".join(lines) + "\n"


def _timed_deblur(photo: Path, out: Path, checkpoint: str, extra: Sequence[str] = ()) -> Dict[str, float]:
    """deblur in a fresh process with 2 BLAS threads: wall seconds and peak RSS (MB)."""
    script = ("import resource, sys, time; from minitorch_deblur import deblur; t = time.perf_counter(); "
              f"code = deblur.main({[str(photo), '-o', str(out), '--checkpoint', checkpoint, *extra]!r}); "
              "print('SECONDS', time.perf_counter() - t); "
              "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(code)")
    env = {**os.environ, "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"deblur failed on {photo}: {done.stderr[-2000:]}")
    values = dict(line.split()[:2] for line in done.stdout.splitlines() if line.startswith(("SECONDS", "MAXRSS")))
    return {"seconds": float(values["SECONDS"]), "rss_mb": float(values["MAXRSS"]) / 1024,
            "line": done.stdout.splitlines()[0]}


def cost(checkpoint: str, out: Path) -> str:
    """Time and memory of a 1280x720 frame and a 4000x3000 photo; whole vs tiled on the frame."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    frame = _pairs_dir() / "blur" / "gopro_flower.png"
    big = out / "kodak01_4000x3000.png"
    Image.open(data_root() / "natural-images" / "kodak24" / "01.png").convert("RGB").resize(
        (4000, 3000), Image.BICUBIC).save(big)
    rows = []
    for photo, label in ((frame, "1280x720 GoPro frame"), (big, "4000x3000 photo (Kodak 01 enlarged)")):
        r = _timed_deblur(photo, out / f"{photo.stem}_nafnet.png", checkpoint)
        inner = r["line"][r["line"].index("(", r["line"].index("->")) + 1:r["line"].rindex(")")]
        rows.append(f"| {label} | {r['seconds']:.1f} s | {r['rss_mb']:.0f} MB | {', '.join(inner.split(', ')[1:-1])} |")
        print(rows[-1], flush=True)
    tiled = _timed_deblur(frame, out / "frame_tiled.png", checkpoint, ["--tile", "512"])
    difference = np.abs(_read(out / "frame_tiled.png") - _read(out / f"{frame.stem}_nafnet.png"))
    sharp = _read(_pairs_dir() / "sharp" / frame.name)
    scores = [psnr(_read(out / name), sharp) for name in (f"{frame.stem}_nafnet.png", "frame_tiled.png")]
    return "\n".join([
        f"`deblur --checkpoint {os.path.relpath(checkpoint, ROOT)}` in a fresh process "
        "(`python benchmarks/real_blur.py --parts cost`), 2 "
        "BLAS threads, default --max-memory 2 (GB): wall time of the command's restore and the process's peak "
        "resident memory (ru_maxrss, interpreter and libraries included).", "",
        "| photo | time | peak memory | how |", "|---|---|---|---|", *rows, "",
        f"Whole vs tiled (`--tile 512`, {tiled['seconds']:.1f} s) on the 1280x720 frame: largest pixel difference "
        f"{difference.max():.4f} (8-bit levels: {difference.max() * 255:.1f}), mean {difference.mean():.5f}; PSNR "
        f"against the sharp frame {scores[0]:.2f} dB whole, {scores[1]:.2f} dB tiled. NAFNet's channel attention "
        "averages over the whole input, so tiles (blended over a quarter of their side) differ slightly from the "
        "whole frame."]) + "\n"


def figure(checkpoints: Dict[str, str], out: Path, target: Path) -> None:
    """blurred | each model | sharp for 2 GoPro and 2 REDS frames, with 1:1 crops where the last model changed most."""
    from minitorch_deblur.imaging.plots import most_changed_window, pyplot, save_figure

    names = ["gopro_flower", "gopro_istanbul", "reds_000_00000013", "reds_002_00000004"]
    plt = pyplot()
    columns = ["blurred", *checkpoints, "sharp"]
    fig, axes = plt.subplots(2 * len(names), len(columns), figsize=(3.2 * len(columns), 4.4 * len(names)),
                             squeeze=False)
    last = list(checkpoints)[-1]
    for i, name in enumerate(names):
        blur, sharp = _read(_pairs_dir() / "blur" / f"{name}.png"), _read(_pairs_dir() / "sharp" / f"{name}.png")
        images = {"blurred": blur, "sharp": sharp}
        for model in checkpoints:
            path = out / model / f"{name}.png"
            if not path.is_file():
                deblur.main([str(_pairs_dir() / "blur" / f"{name}.png"), "-o", str(path), "--checkpoint",
                             checkpoints[model], "--max-memory", "64"])
            images[model] = _read(path)
        top, left, side = most_changed_window(blur, images[last], 160)
        for j, column in enumerate(columns):
            image = images[column].transpose(1, 2, 0)
            score = "" if column == "sharp" else f" {psnr(images[column], sharp):.2f} dB"
            axes[2 * i, j].imshow(image)
            axes[2 * i, j].set_title(f"{name}: {column}{score}", fontsize=8)
            axes[2 * i + 1, j].imshow(image[top:top + side, left:left + side], interpolation="nearest")
            axes[2 * i + 1, j].set_title(f"1:1 crop ({side}x{side})", fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    target.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, target, dpi=80)


def main(argv: Sequence[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["pairs", "synthetic", "sharp", "cost", "figure"],
                        choices=["pairs", "synthetic", "sharp", "cost", "figure"])
    parser.add_argument("--models", nargs="+", default=["deblurgan", "nafnet"])
    parser.add_argument("--nafnet", help="checkpoint for nafnet (default: the shipped file)")
    parser.add_argument("--deblurgan", help="checkpoint for deblurgan (default: the shipped file)")
    parser.add_argument("--crops", type=int, default=64, help="synthetic: how many held-out crops")
    parser.add_argument("--photos", type=int, default=0, help="sharp: only the first N held-out photos (0: all)")
    parser.add_argument("--out", default="runs/real-blur-eval", help="where the restored frames go")
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args(argv)
    checkpoints = _checkpoints(args.models, {"nafnet": args.nafnet, "deblurgan": args.deblurgan})
    out, results = Path(args.out), Path(args.results)
    parts = {"pairs": lambda: pairs_markdown(score_pairs(checkpoints, out), list(checkpoints)),
             "synthetic": lambda: synthetic(checkpoints, args.crops),
             "sharp": lambda: sharp_photos(checkpoints, args.photos),
             "cost": lambda: cost(checkpoints[list(checkpoints)[-1]], out / "cost")}
    for part, make in parts.items():
        if part in args.parts:            # each table is written as soon as it is measured
            text = make()
            print(text)
            (results / f"real_blur_{part}.md").write_text(f"# real blur {part}\n\n{text}")
    if "figure" in args.parts:
        figure(checkpoints, out, results / "real_blur_pairs.jpg")
        print(f"wrote {results / 'real_blur_pairs.jpg'}")


if __name__ == "__main__":
    main()
