"""Lesson 07: real camera shake. Why the course's GAN fails on a real blurred photo, and what realistic synthetic
blur and a model with a larger receptive field change.

Run:  python lessons/07_real_blur.py --quick    (a small NAFNet, 64x64 crops, 100 steps: a few minutes on 2 cores)
      python lessons/07_real_blur.py            (the same at 128x128 crops, 2,000 steps: an hour or more on a CPU)
      --smoke: 32x32 crops, 2 steps, seconds.  --out DIR for the figures (default runs/lessons/07).

Lesson 05 trained the U-Net GAN on 96x96 crops blurred with straight 7-15 px lines, convolved with the sRGB values.
A real blurred frame (GoPro 1280x720, REDS, a phone) was made by a camera moving along a curve while light added up
on the sensor, and its blur is 10-40 px wide at full resolution.
What it shows (figures in --out)
1. The course's line kernels next to camera-shake kernels of 10-40 px (shake_trajectory + rasterise), on one pixel
   scale (kernels.png).
2. Linear light: a bright point on a dark ground blurred in sRGB values vs in linear light (srgb_to_linear, blur,
   linear_to_srgb): light adds up in linear units, so the real streak is brighter than the sRGB blur says.
3. Saturated highlights: a lamp clipped at 1.0 had more light than that; saturate_highlights restores some of it
   before the blur, so lamps become bright, hard streaks (highlights.png).
4. Blur is measured in pixels, so it depends on resolution: the same shake is 4x shorter on a 320x180 REDS frame
   than on a 1280x720 GoPro frame (scale_for), and shake_pairs' ShakeMix draws both sizes.
5. Receptive field vs blur: to gather a pixel's light back from a blur of L px a model must see about L px on
   each side. The GAN's U-Net (imaging/tiling.py receptive_field) vs NAFNet (models/nafnet.py receptive_field).
6. A short training of a small NAFNet on shake_pairs of natural-images TRAIN crops (F.l1_loss, Adam), PSNR on
   fixed blurred crops of other TRAIN photos before and after (train.png).
7. If the shipped weights are there: the GAN and NAFNet on real blurred/sharp pairs (a GoPro and a REDS frame of
   real-eval/, centre crops; measured only, never trained on).
Files to read: data/realistic_blur.py, data/shake_pairs.py, data/degrade.py, models/nafnet.py, models/unet.py,
imaging/tiling.py, train/realblur.py (python -m minitorch_deblur.train nafnet). Tests that prove it:
python -m pytest tests/test_lessons.py -k 07, tests/test_realistic_blur.py, tests/test_nafnet.py
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import minitorch_deblur.functional as F  # noqa: E402
from minitorch_deblur import Generator, Tensor  # noqa: E402
from minitorch_deblur.data import realistic_blur as rb  # noqa: E402
from minitorch_deblur.data.degrade import convolve2d, motion_blur_kernel  # noqa: E402
from minitorch_deblur.lesson import lesson_args  # noqa: E402
from minitorch_deblur.metrics import psnr  # noqa: E402

PRETRAINED = ROOT / "minitorch_deblur" / "pretrained"
REAL_PAIRS = ("gopro_flower.png", "reds_000_00000013.png")   # one 1280x720 GoPro frame, one 320x180 REDS frame
GOPRO_BLUR = (10, 40)                                          # px of real shake on a 1280x720 GoPro frame


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    args = lesson_args(__doc__, "07", full=(0, 2000), quick=(0, 100), smoke=(0, 2), argv=argv)
    args.steps = args.epochs   # this lesson counts training steps, not epochs
    return args


# ----------------------------------------------------------------------------------------------- 1. kernels ---

def on_canvas(kernel: np.ndarray, size: int) -> np.ndarray:
    """An odd (k, k) kernel centred on a (size, size) zero canvas (size >= k, odd)."""
    pad = (size - kernel.shape[0]) // 2
    return np.pad(kernel, pad)


def show_kernels(args: argparse.Namespace) -> None:
    from minitorch_deblur.imaging.plots import pyplot, save_figure

    rng = np.random.default_rng(args.seed)
    course = [(f"course line {n} px, {a} deg", motion_blur_kernel(n, a)) for n, a in ((7, 0), (11, 45), (15, 100))]
    shake = [(f"camera shake {e} px", rb.rasterise(rb.shake_trajectory(rng, e))) for e in (10, 20, 30, 40)]
    size = max(k.shape[0] for _, k in course + shake)
    plt = pyplot()
    fig, axes = plt.subplots(1, len(course) + len(shake), figsize=(2.2 * (len(course) + len(shake)), 2.6))
    for ax, (name, k) in zip(axes, course + shake):
        ax.imshow(on_canvas(k, size) ** 0.5, cmap="gray")   # square root: the faint parts of a trajectory show
        ax.set_title(f"{name}\n{k.shape[0]}x{k.shape[1]}, sum {k.sum():.2f}", fontsize=7)
        ax.axis("off")
    fig.suptitle(f"the same {size}x{size} pixel scale: the course's lines vs real shake on a 1280x720 frame",
                 fontsize=9, y=1.04)
    save_figure(fig, args.out / "kernels.png")
    print("1. kernels: the course blurs with straight lines of 7-15 px; a 1280x720 GoPro frame's shake is a curved "
          f"path of {GOPRO_BLUR[0]}-{GOPRO_BLUR[1]} px\n   (velocity a random walk with momentum, "
          "data/realistic_blur.py), so its kernels are up to 3x longer, bent, and uneven along the path (the "
          f"camera slows at a turn). Figure: {args.out / 'kernels.png'}")


# ------------------------------------------------------------------------------------------ 2. linear light ---

def point_scene(size: int, ground: float, value: float) -> np.ndarray:
    """A (1, size, size) dark ground with one bright pixel in the centre (sRGB values)."""
    image = np.full((1, size, size), ground, dtype=np.float32)
    image[0, size // 2, size // 2] = value
    return image


def blur_linear(srgb: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Blur as light does: sRGB -> linear, convolve, clip, -> sRGB."""
    return rb.linear_to_srgb(np.clip(convolve2d(rb.srgb_to_linear(srgb), kernel), 0, 1))


def show_linear_light() -> Dict[str, float]:
    ground, n = 0.05, 15
    scene, kernel = point_scene(33, ground, 1.0), motion_blur_kernel(n, 0)
    in_srgb = np.clip(convolve2d(scene, kernel), 0, 1)
    in_linear = blur_linear(scene, kernel)
    c = 33 // 2
    a, b = float(in_srgb[0, c, c]), float(in_linear[0, c, c])
    mean_light = [float(rb.srgb_to_linear(x).mean()) for x in (scene, in_srgb, in_linear)]
    print(f"2. linear light: a white pixel (sRGB 1.0) on a ground of sRGB {ground}, blurred by a {n} px line:\n"
          f"   blurring the sRGB values: the streak is sRGB {a:.3f} ({ground} + 0.95/{n});  blurring the light "
          f"(linear, then back to sRGB): sRGB {b:.3f}, {b / a:.1f}x brighter\n   the light in the picture "
          f"(mean linear value): sharp {mean_light[0]:.5f}, sRGB blur {mean_light[1]:.5f} (light lost), linear blur "
          f"{mean_light[2]:.5f} (kept). A camera sums light, so a real streak is the bright one")
    return {"srgb_streak": a, "linear_streak": b}


# --------------------------------------------------------------------------------------------- 3. highlights ---

def night_scene(size: int, rng: np.random.Generator) -> np.ndarray:
    """(3, size, size) sRGB: a dark gradient with a few 5x5 lamps clipped at 1.0."""
    ramp = np.linspace(0.05, 0.2, size, dtype=np.float32)
    image = np.broadcast_to(ramp[None, None, :], (3, size, size)).copy()
    for y, x in rng.integers(8, size - 8, (4, 2)):
        image[:, y - 2:y + 3, x - 2:x + 3] = 1.0
    return image


def show_highlights(args: argparse.Namespace) -> Dict[str, float]:
    from minitorch_deblur.imaging.plots import pyplot, save_figure

    rng = np.random.default_rng(args.seed)
    size = 48 if args.smoke else 96
    scene = night_scene(size, rng)
    kernel = rb.rasterise(rb.shake_trajectory(rng, 15.0))
    linear = rb.srgb_to_linear(scene)
    lit = rb.saturate_highlights(linear, rng, fraction=(0.02, 0.02), gain=(5.0, 5.0))
    results = {"sRGB blur (course)": np.clip(rb.fft_convolve(scene, kernel), 0, 1),
               "linear light": rb.linear_to_srgb(np.clip(rb.fft_convolve(linear, kernel), 0, 1)),
               "linear + highlights x5": rb.linear_to_srgb(np.clip(rb.fft_convolve(lit, kernel), 0, 1))}
    print(f"3. saturated highlights: 4 lamps (5x5 px, sRGB 1.0, clipped) blurred by a 15 px shake; "
          f"saturate_highlights scaled {int((lit > linear).any(axis=0).sum())} pixels (those at sRGB >= 0.92) by 5, "
          "the top of its 1.5-5 range:")
    for name, image in results.items():
        print(f"   {name:24s} brightest streak pixel sRGB {image.max():.2f}, pixels at >= 0.95: "
              f"{int((image.max(axis=0) >= 0.95).sum())}")
    print("   a clipped lamp had more light than 1.0 (often far more): only with it does it blur into the hard "
          f"white streak of a real night photo. Figure: {args.out / 'highlights.png'}")
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(10, 2.9))
    for ax, (name, image) in zip(axes, [("sharp", scene)] + list(results.items())):
        ax.imshow(np.clip(image, 0, 1).transpose(1, 2, 0))
        ax.set_title(name, fontsize=8)
        ax.axis("off")
    save_figure(fig, args.out / "highlights.png")
    return {"highlight_peak": float(results["linear + highlights x5"].max())}


# --------------------------------------------------------------------------------------------- 4. resolution ---

def frame_size(path: Path) -> Optional[Tuple[int, int]]:
    """(width, height) of an image file, or None when it is not there."""
    if not path.is_file():
        return None
    from PIL import Image

    with Image.open(path) as image:
        return image.size


def show_resolution(args: argparse.Namespace) -> None:
    from minitorch_deblur.data.root import data_root
    from minitorch_deblur.data.shake_pairs import ShakeMix

    lo, hi = rb.EXTENT_RANGE
    print(f"4. blur is counted in pixels: realistic_blur's extents ({lo:.0f}-{hi:.0f} px) are for a frame "
          f"{rb.FULL_RESOLUTION} px wide; a crop keeps the scale of the photo it was cut from:")
    for name, (w, h) in (("GoPro", (1280, 720)), ("REDS", (320, 180)), ("a BSDS photo", (481, 321))):
        s = rb.scale_for(w, h)
        print(f"   {name:13s} {w}x{h}: scale {s:.2f}, shake {lo * s:.1f}-{hi * s:.1f} px; the GoPro frame's 30 px "
              f"shake is {30 * s:.1f} px here")
    try:
        folder = data_root(args.data_dir) / "real-eval" / "motion-blur-pairs" / "blur"
        sizes = {name: frame_size(folder / name) for name in REAL_PAIRS}
        found = ", ".join(f"{n} {s[0]}x{s[1]}" for n, s in sizes.items() if s)
        if found:
            print(f"   the real pairs of real-eval/: {found}")
    except Exception:   # no data root: the sizes above are enough
        pass
    mix = ShakeMix()
    print(f"   so shake_pairs' ShakeMix draws {mix.identity:.0%} sharp, {(1 - mix.identity) / 2:.0%} small "
          f"{mix.small[0]}-{mix.small[1]} px (REDS, a steady hand), {(1 - mix.identity) / 2:.0%} large "
          f"{mix.large[0]:.0f}-{mix.large[1]:.0f} px (GoPro). The course's 96x96 crop with a 15 px line: 16% of the "
          "crop; a 40 px GoPro blur would cover 42% of it")


# ------------------------------------------------------------------------------------------- 5. receptive field ---

def small_nafnet(seed: int) -> Any:
    from minitorch_deblur.models.nafnet import NAFNet

    return NAFNet(width=8, enc_blocks=(1, 1, 1, 1), middle_blocks=1, dec_blocks=(1, 1, 1, 1),
                  generator=Generator(seed))


def parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def show_receptive_fields(args: argparse.Namespace) -> Dict[str, int]:
    from minitorch_deblur.imaging.tiling import receptive_field as halo_of
    from minitorch_deblur.models import UNet
    from minitorch_deblur.models.nafnet import NAFNet, receptive_field

    print("5. receptive field (input pixels one output pixel can see) vs blur: undoing an L px blur needs about "
          "L px on each side, 2L + 1 in all")
    fields = {}
    for name, unet in (("course U-Net (transposed conv)", UNet()),
                       ("U-Net of the shipped GAN (resize-conv)", UNet(upsample="resize"))):
        halo, _ = halo_of(unet)
        fields[name] = 2 * halo + 1
        print(f"   {name:40s} {parameters(unet):>9,} parameters: {2 * halo + 1:3d} px (halo {halo}, "
              "imaging/tiling.py), plus the instance norms' whole-image statistics")
    small = small_nafnet(args.seed)
    fields["small NAFNet"] = receptive_field(small, 128)
    print(f"   {'small NAFNet (width 8, 1 block a level)':40s} {parameters(small):>9,} parameters: "
          f"{fields['small NAFNet']:3d} px (measured by the gradient, models/nafnet.py)")
    if args.smoke:
        print(f"   {'NAFNet (default, deblur uses it)':40s} {parameters(NAFNet()):>9,} parameters: 200 px (its "
              "docstring; measured without --smoke)")
        fields["NAFNet"] = 200
    else:
        fields["NAFNet"] = receptive_field(NAFNet(), 256)
        print(f"   {'NAFNet (default, deblur uses it)':40s} {parameters(NAFNet()):>9,} parameters: "
              f"{fields['NAFNet']:3d} px (measured), plus its channel attention's whole-image averages")
    need = [2 * blur + 1 for blur in GOPRO_BLUR]
    print(f"   a GoPro blur of {GOPRO_BLUR[0]}-{GOPRO_BLUR[1]} px needs {need[0]}-{need[1]} px: the U-Net reaches that "
          "on paper, but it learned on 96x96 crops with blurs of at most 15 px (the course's lines; the shipped "
          "GAN's 'shake': up to 25 px),\n   and a network's effective field is much narrower than its theoretical "
          "one (most of the gradient near the centre). NAFNet's 1/8 and 1/16 levels give it room for a 45 px "
          "blur plus context")
    return fields


# --------------------------------------------------------------------------------------------- 6. training ---

def split_train_photos(count: int) -> Tuple[np.ndarray, np.ndarray]:
    """TRAIN photo indices (training, evaluation): every VAL_EVERY-th photo kept out, as train nafnet does (the
    last one when there are fewer)."""
    from minitorch_deblur.train.realblur import VAL_EVERY

    everyone = np.arange(count)
    kept = everyone % VAL_EVERY == VAL_EVERY - 1
    if not kept.any():
        kept[-1] = True
    if kept.all():
        raise ValueError(f"natural-images TRAIN has {count} photo(s): at least 2 are needed (one to train on, one "
                         "to measure on)")
    return everyone[~kept], everyone[kept]


def blurred_pairs(photos: Any, count: int, size: int, margin: int, seed: Any, which: np.ndarray,
                  sharp_share: float = 0.1) -> Tuple[np.ndarray, np.ndarray]:
    """(blurred, sharp) float32 crops of the ``which`` TRAIN photos, blurred by shake_pairs (ShakeMix)."""
    from minitorch_deblur.data.loader import to_float
    from minitorch_deblur.data.shake_pairs import ShakeMix, shake_pairs

    crops = photos.crops(count, size + 2 * margin, seed, photos=which)
    key = tuple(seed) if isinstance(seed, tuple) else (seed,)
    return shake_pairs(to_float(crops.images), margin, key, ShakeMix(identity=sharp_share))


def restored(model: Any, blurred: np.ndarray) -> np.ndarray:
    from minitorch_deblur.imaging.restoration import restore_batches

    out, _ = restore_batches(model, blurred, batch_size=16)
    return np.clip(out, 0, 1)


def train_recipe(args: argparse.Namespace) -> Dict[str, int]:
    if args.smoke:
        return {"size": 32, "margin": 8, "batch": 2, "eval": 2}
    from minitorch_deblur.train.realblur import MARGIN
    return {"size": 64 if args.quick else 128, "margin": MARGIN, "batch": 8, "eval": 16 if args.quick else 48}


def train_small_nafnet(args: argparse.Namespace) -> Tuple[Any, Dict[str, float]]:
    from minitorch_deblur.data.natural import NaturalImages
    from minitorch_deblur.optim import Adam

    r = train_recipe(args)
    photos = NaturalImages("train", args.data_dir)
    train_photos, eval_photos = split_train_photos(len(photos.files))
    blurred, sharp = blurred_pairs(photos, r["eval"], r["size"], r["margin"], 10_000 + args.seed, eval_photos, 0.0)
    model = small_nafnet(args.seed)
    before = float(psnr(restored(model, blurred), sharp))
    print(f"6. training the small NAFNet: {args.steps} steps of {r['batch']} {r['size']}x{r['size']} crops of "
          f"{len(train_photos)} TRAIN photos (+{r['margin']} px margin, blurred by shake_pairs, 10% sharp), "
          f"F.l1_loss, Adam lr 1e-3;\n   measured on {r['eval']} blurred crops of {len(eval_photos)} other TRAIN "
          "photos (the HELD-OUT ones are not touched)")
    optimiser, losses, tick = Adam(model.parameters(), lr=1e-3), [], time.perf_counter()
    model.train()
    for step in range(args.steps):
        x, y = blurred_pairs(photos, r["batch"], r["size"], r["margin"], (args.seed, step), train_photos)
        loss = F.l1_loss(model(Tensor(x)), Tensor(y))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.data))
        if (step + 1) % max(1, args.steps // 5) == 0:
            print(f"   step {step + 1:4d}: L1 {np.mean(losses[-max(1, args.steps // 5):]):.4f}", flush=True)
    out = restored(model, blurred)
    after = float(psnr(out, sharp))
    print(f"   PSNR on the fixed blurred crops: before {before:.2f} dB (the model starts as the identity: the "
          f"blurred input) -> after {after:.2f} dB ({after - before:+.2f}), {time.perf_counter() - tick:.0f} s")
    print(f"   {args.steps} steps barely start: {recipe_of_nafnet()}")
    plot_training(args, losses, blurred, out, sharp)
    return model, {"psnr_before": before, "psnr_after": after}


def recipe_of_nafnet() -> str:
    """The shipped NAFNet's training recipe (models/registry.py), in words."""
    from minitorch_deblur.models.registry import REGISTRY

    best = REGISTRY["nafnet"].recipes["best"]
    steps = best["epochs"] * best["crops_per_epoch"] // best["batch_size"]
    return (f"python -m minitorch_deblur.train nafnet runs {best['epochs']} epochs of {best['crops_per_epoch']} "
            f"{best['crop_size']}x{best['crop_size']} crops ({steps:,} steps of {best['batch_size']}) with the "
            "full-size NAFNet")


def plot_training(args: argparse.Namespace, losses: List[float], blurred: np.ndarray, out: np.ndarray,
                  sharp: np.ndarray) -> None:
    from minitorch_deblur.imaging.plots import plot_side_by_side, pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(np.arange(1, len(losses) + 1), losses)
    ax.set_xlabel("step")
    ax.set_ylabel("L1")
    ax.set_title("small NAFNet on shake pairs", fontsize=9)
    save_figure(fig, args.out / "train.png")
    pick = slice(0, min(3, len(sharp)))
    plot_side_by_side([("blurred", blurred[pick]), ("small NAFNet", out[pick])], sharp[pick],
                      args.out / "samples.png", "fixed crops of TRAIN photos kept out of training")
    print(f"   figures: {args.out / 'train.png'}, {args.out / 'samples.png'}")


# ------------------------------------------------------------------------------------------- 7. real pairs ---

def centre_crop(image: np.ndarray, side: int) -> np.ndarray:
    """The centre (C, side, side) of a (C, H, W) image; side is cut to a multiple of 16 that fits."""
    _, h, w = image.shape
    side = min(side, h, w) // 16 * 16
    top, left = (h - side) // 2, (w - side) // 2
    return image[:, top:top + side, left:left + side]


def real_pair(folder: Path, name: str, side: int) -> Tuple[np.ndarray, np.ndarray]:
    """(blurred, sharp) float32 (1, 3, s, s) centre crops of a real pair; measured only, never trained on."""
    from minitorch_deblur.data.images import load_image_uint8

    pair = [centre_crop(load_image_uint8(folder / part / name), side) for part in ("blur", "sharp")]
    return tuple(p[None].astype(np.float32) / 255.0 for p in pair)


def shipped_models() -> Dict[str, Any]:
    """The shipped GAN and NAFNet that exist, each said with what it was trained on (a missing one: how to make it)."""
    from minitorch_deblur.checkpoint import checkpoint_meta, load_model

    models = {}
    for name, file in (("GAN", "deblurgan.npz"), ("NAFNet", "nafnet.npz")):
        path = PRETRAINED / file
        if not path.is_file():
            print(f"   {path} is missing: python -m minitorch_deblur.train {file[:-4]} makes it; skipped")
            continue
        meta = checkpoint_meta(path)
        size = meta.get("crop_size", "?")
        blur = meta.get("degradation") or "realistic shake (shake_pairs)"
        print(f"   {name}: {path.name}, trained on {size}x{size} crops, blur {blur!r}, {meta.get('epoch', '?')} "
              "epochs")
        models[name] = load_model(path)
    return models


def verdict(scores: Dict[str, Dict[str, float]]) -> str:
    """One line: each model's change over the blurred input, per real pair."""
    parts = []
    for name, row in scores.items():
        gains = ", ".join(f"{label} {value - row['input']:+.2f}" for label, value in row.items() if label != "input")
        parts.append(f"{name.split('_')[0]}: {gains} dB")
    return "; ".join(parts)


def show_real_pairs(args: argparse.Namespace, trained: Any) -> Dict[str, float]:
    from minitorch_deblur.data.root import data_root

    try:
        folder = data_root(args.data_dir) / "real-eval" / "motion-blur-pairs"
    except Exception as error:   # no data root at all
        print(f"7. real pairs: no data root ({error}); skipped")
        return {}
    if not all((folder / part / name).is_file() for part in ("blur", "sharp") for name in REAL_PAIRS):
        print(f"7. real pairs: {folder} does not hold {', '.join(REAL_PAIRS)} (blur/ and sharp/); skipped")
        return {}
    side = 64 if args.smoke else 256
    print(f"7. real blurred/sharp pairs, {side}x{side} centre crops (measured only; no model here trained on them):")
    models = {**shipped_models(), "this lesson's small NAFNet": trained}
    scores: Dict[str, Dict[str, float]] = {}
    for name in REAL_PAIRS:
        blurred, sharp = real_pair(folder, name, side)
        row = {"input": float(psnr(blurred, sharp))}
        row.update({label: float(psnr(restored(model, blurred), sharp)) for label, model in models.items()})
        scores[name] = row
        print(f"   {name:22s} " + " / ".join(f"{label} {value:.2f} dB" for label, value in row.items()))
    print(f"   change over the input: {verdict(scores)}\n   (one crop each: benchmarks/real_blur.py scores all 22 "
          "pairs, whole frames)")
    return {f"{name}:{label}": value for name, row in scores.items() for label, value in row.items()}


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    print(f"Lesson 07: real camera shake ({mode}; figures in {args.out})\n")
    show_kernels(args)
    result = show_linear_light()
    result.update(show_highlights(args))
    show_resolution(args)
    show_receptive_fields(args)
    trained, scores = train_small_nafnet(args)
    result.update(scores)
    result.update(show_real_pairs(args, trained))
    print("Next: deblur your own photo with python -m minitorch_deblur.deblur photo.jpg (NAFNet, trained by "
          "python -m minitorch_deblur.train nafnet); all 22 real pairs: python benchmarks/real_blur.py")
    return result


if __name__ == "__main__":
    main()
