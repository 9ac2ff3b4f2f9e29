"""Restore photos with a trained model:  python -m minitorch_deblur.deblur photo.jpg [more.png folder/ ...]

    python -m minitorch_deblur.deblur blurry.jpg -o sharp.png --compare cmp.png  # the real-blur model (NAFNet)
    python -m minitorch_deblur.deblur blurry.jpg --model deblurgan              # the course's U-Net GAN
    python -m minitorch_deblur.deblur shaky.jpg --ensemble                      # the mean of 8 flips/rotations
    python -m minitorch_deblur.deblur photos/ --out-dir restored/ --model cae
    python -m minitorch_deblur.deblur small.png --model srcnn --upscale 4       # bicubic x4, then SRCNN
    python -m minitorch_deblur.deblur sharp.jpg --degrade --compare check.png   # blur it first, then restore

Any size with bounded memory: the whole image while the model's measured forward memory fits ``--max-memory``,
otherwise overlapping tiles whose output equals the whole-image output (imaging/tiling.py). RGB, grey, RGBA (alpha kept),
16-bit PNG and EXIF orientation are handled; the output keeps the input's size (times ``--upscale``) and mode.
Outputs (and figures) are written atomically and never over an input; inputs that share a stem get distinct
outputs (a.png, a.1.png, ...). A file that fails gets one line on stderr and the others still run. Ctrl-C stops
with one line (exit 130) and leaves no half-written file. Exit status: 0 all restored, 1 some failed, 2 bad
arguments or no model, 130 interrupted.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import command
from .backend import use_tf32
from .checkpoint import checkpoint_meta, load_model
from .command import Parser, float_range, int_range, non_negative_int, positive_float, seed
from .errors import UserError, error_line
from .imaging.photo_io import Canvas, expand_paths, read_photo, save_atomically, to_pil
from .imaging.restoration import self_ensemble
from .imaging.tiling import restore_image
from .models.registry import REGISTRY, names, shipped

PROG = "python -m minitorch_deblur.deblur"
RESTORERS = ("restore", "gan", "realblur")   # the tasks whose models restore photos
# The default: NAFNet trained on realistic camera shake (train/realblur.py). The course's GAN learnt 7-15 px lines on
# 96x96 crops and leaves real 1280x720 shake as it was; this one has a 200 px receptive field and learnt curved
# shake of 1.5-40 px in linear light, with noise and saturated highlights (README, "Deblur a photo")
DEFAULT_MODEL = "nafnet"
MAX_UPSCALE = 8
MAX_UPSCALED_MEGAPIXELS = 64   # --upscale's output at most this: 64 Mpx of float32 RGB is 768 MB per copy


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description=__doc__.splitlines()[0],
                    epilog="Exit status: 0 all restored, 1 some failed, 2 bad arguments or no model, 130 Ctrl-C.")
    parser.add_argument("photos", nargs="+", help="image files or folders of them")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", help="output file (one photo only)")
    where.add_argument("--out-dir", help="write DIR/<input stem>.png for each photo (default: the current folder, "
                       "<stem>_<model>.png); inputs that share a stem get <stem>.1.png, <stem>.2.png, ... in the "
                       "order given")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model", choices=sorted(shipped(*RESTORERS)), help=f"a shipped model (default "
                       f"{DEFAULT_MODEL}: trained on realistic camera shake, for real photos; deblurgan is the "
                       "course's U-Net GAN, trained on 7-15 px lines)")
    which.add_argument("--checkpoint", help="a model.npz written by train")
    parser.add_argument("--upscale", type=int_range(1, MAX_UPSCALE), default=1,
                        help=f"super-resolution: bicubic x N first (srcnn: 4); 1 to {MAX_UPSCALE}, and the upscaled "
                             f"image at most {MAX_UPSCALED_MEGAPIXELS} megapixels")
    parser.add_argument("--degrade", action="store_true", help="first apply the model's own degradation to the "
                        "(sharp) photo, and save a before/after figure with each image's PSNR")
    parser.add_argument("--compare", metavar="FILE", help="also save input | output side by side, with a 1:1 "
                        "crop of each where the output changed most (with several photos: FILE's stem + "
                        "'-<output stem>')")
    parser.add_argument("--max-memory", type=positive_float, default=2.0, help="bound in GB on the process's working "
                        "set beyond the interpreter and model: the decoded photo and its output (a few bytes a pixel) "
                        "plus the forward pass, whole or one tile at a time (default 2); --degrade, --upscale, --scale, "
                        "--ensemble and --compare also hold float copies of the photo (24 bytes a pixel). With "
                        "--device cuda it bounds GPU memory instead: the forward pass and its input, whole or per "
                        "tile (the photo and its output stay in host memory)")
    parser.add_argument("--tile", type=non_negative_int, default=0, help="force tiles with this core size in pixels")
    parser.add_argument("--ensemble", action="store_true", help="average the outputs on the 8 flips and rotations "
                        "of the photo (8x the time)")
    parser.add_argument("--scale", type=float_range(0, 1, low_open=True), default=1.0, help="run the model on the photo shrunk by this factor "
                        "and add its correction, enlarged, to the full-size photo (default 1: full size; for blur "
                        "wider than the model was trained on, e.g. 0.5 on 1280x720 camera shake)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of --degrade's random blur and noise")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--tf32", action="store_true", help="on Ampere or newer GPUs, float32 matrix products in "
                        "TF32 (10-bit mantissa: faster, ~1e-3 relative error); default plain FP32; changes nothing "
                        "on the CPU")
    return parser


def _load(args: argparse.Namespace) -> Tuple[Any, Dict[str, Any], str]:
    """(model, meta, name) from --checkpoint or the shipped --model; a UserError says why not."""
    path = Path(args.checkpoint) if args.checkpoint else shipped(*RESTORERS)[args.model or DEFAULT_MODEL]
    if not path.is_file():
        how = (f"make it with: {REGISTRY[args.model or DEFAULT_MODEL].make_command()}" if not args.checkpoint
               else "pass the model.npz of a training run")
        raise UserError(f"no model at {path}; {how}")
    device = command.device(args.device)
    use_tf32(getattr(args, "tf32", False))
    try:
        meta = checkpoint_meta(path)
        if meta.get("model") not in names(*RESTORERS):
            raise UserError(f"{path} holds a {meta.get('model')!r} model, not a restoration model "
                            f"({', '.join(names(*RESTORERS))})")
        return load_model(path, device), meta, meta["model"]
    except (OSError, ValueError) as error:
        raise UserError(f"cannot load {path}: {error_line(error)}") from error


def resize(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """(C, H, W) float -> (C, height, width), bicubic per channel in float (Pillow mode 'F'; no clipping)."""
    from PIL import Image  # noqa: PLC0415

    return np.stack([np.asarray(Image.fromarray(c).resize((width, height), Image.Resampling.BICUBIC))
                     for c in rgb.astype(np.float32)])


def upscale(rgb: np.ndarray, factor: int) -> np.ndarray:
    """(3, H, W) in [0, 1] -> (3, factor H, factor W), bicubic."""
    return resize(rgb, rgb.shape[1] * factor, rgb.shape[2] * factor)


def restore_ensemble(model: Any, image: np.ndarray, scale: float, max_memory: float, device: str,
                     tile: int = 0) -> Tuple[np.ndarray, str]:
    """The mean of the model's outputs on the 8 flips and rotations of the image, each turned back (self-ensemble:
    8 passes; errors that depend on orientation average out)."""
    hows = []

    def restore(turned: np.ndarray) -> np.ndarray:
        out, how = restore_at_scale(model, turned, scale, max_memory, device, tile)
        hows.append(how)
        return out

    return self_ensemble(restore, image), f"{hows[-1]}, mean of 8 flips/rotations"


def restore_at_scale(model: Any, image: np.ndarray, scale: float, max_memory: float, device: str,
                     tile: int = 0) -> Tuple[np.ndarray, str]:
    """Run the model on the image shrunk by ``scale`` (bicubic) and add its correction, enlarged back, to the
    full-size image:  out = x + up(model(down(x)) - down(x)).  Blur of L pixels becomes L * scale pixels, within
    what a model trained on small kernels has seen; the detail the model adds is limited to the smaller scale.
    ``scale`` 1 is restore_image itself."""
    if scale == 1:
        return restore_image(model, image, max_memory, device, tile)
    _, h, w = image.shape
    small = resize(image, max(1, round(h * scale)), max(1, round(w * scale)))
    restored, how = restore_image(model, small, max_memory, device, tile)
    return image + resize(restored - small, h, w), f"{how} at x{scale:g} ({small.shape[2]}x{small.shape[1]})"


def output_path(args: argparse.Namespace, photo: str, name: str) -> Path:
    """Where one photo's output goes (``command.distinct`` then renames repeats within a run)."""
    if args.output:
        return Path(args.output)
    if args.out_dir:
        return Path(args.out_dir) / f"{Path(photo).stem}.png"
    return Path(f"{Path(photo).stem}_{name}.png")


def figure_path(args: argparse.Namespace, out: Path) -> Optional[Path]:
    """Where --compare / --degrade save the figure of the photo written to ``out``; None: no figure. With several
    photos, --compare FILE becomes FILE's stem + '-<output stem>' (distinct, as the outputs are)."""
    if args.compare:
        target = Path(args.compare)
        several = len(args.photos) > 1 or Path(args.photos[0]).is_dir()
        return target.with_name(f"{target.stem}-{out.stem}{target.suffix or '.png'}") if several else target
    return out.with_name(out.stem + "_before_after.png") if args.degrade else None


def restore_file(path: str, out: Path, model: Any, meta: Dict[str, Any], args: argparse.Namespace,
                 device: str, inputs: Sequence[Path]) -> str:
    """Restore one photo into ``out``; returns the line to print. Raises ValueError / OSError for this file."""
    from .metrics import psnr

    figure = figure_path(args, out)
    command.refuse_input(out, inputs, "the output")
    if figure is not None:
        command.refuse_input(figure, inputs, "--compare" if args.compare else "the --degrade figure")
        if command.same_file(figure, out) or figure.resolve() == out.resolve():
            raise UserError(f"--compare {figure} is the output file too; give the figure another name")
    pixels, photo = read_photo(path)
    _, h, w = pixels.shape
    if args.upscale > 1 and h * w * args.upscale ** 2 > MAX_UPSCALED_MEGAPIXELS * 1e6:
        raise UserError(f"--upscale {args.upscale} would make {w * args.upscale}x"
                        f"{h * args.upscale} pixels, over the {MAX_UPSCALED_MEGAPIXELS} megapixel limit; "
                        "use a smaller --upscale or crop the photo")
    if not (args.degrade or args.upscale > 1 or args.ensemble or args.scale != 1 or figure is not None):
        canvas = Canvas(photo, h, w)      # tiles read from the decoded photo and written into it as they go
        start = time.perf_counter()
        _, how = restore_image(model, pixels, args.max_memory * 1e9, device, args.tile, out=canvas)
        save_atomically(canvas.image(), out)
        return f"{path} -> {out} ({w}x{h}, {how}, {time.perf_counter() - start:.1f} s)"
    rgb = pixels[:, :, :]
    sharp = None
    if args.degrade:
        from .data.degrade import degrade_one

        sharp = rgb
        rgb = np.clip(degrade_one(rgb, meta.get("degradation") or "gaussian_noise",
                                  np.random.default_rng(args.seed)), 0, 1).astype(np.float32)
    source = upscale(rgb, args.upscale) if args.upscale > 1 else rgb
    start = time.perf_counter()
    restore = restore_ensemble if args.ensemble else restore_at_scale
    restored, how = restore(model, source, args.scale, args.max_memory * 1e9, device, args.tile)
    seconds = time.perf_counter() - start
    restored = np.clip(restored, 0, 1)
    if args.upscale > 1 and photo.alpha is not None:
        photo.alpha = upscale(photo.alpha[None] / 255.0, args.upscale)[0].clip(0, 1)
    save_atomically(to_pil(restored, photo), out)
    line = f"{path} -> {out} ({source.shape[2]}x{source.shape[1]}, {how}, {seconds:.1f} s)"
    if sharp is not None:
        before, after = psnr(rgb, sharp), psnr(restored, sharp)
        line += f"; PSNR vs the sharp photo: degraded {before:.2f} dB -> restored {after:.2f} dB"
        _figure([(sharp, "sharp"), (rgb, f"degraded {before:.2f} dB"), (restored, f"restored {after:.2f} dB")],
                figure)
    elif figure is not None:
        _figure([(source, "input"), (restored, "output")], figure)
    return line


CROP = 256   # side of --compare's 1:1 crops: at full-frame scale a deblurred photo looks like its input


def _figure(panels: List[Tuple[np.ndarray, str]], target: Path) -> None:
    """Panels side by side with their titles; below them, a 1:1 crop of each at the window where the last panel
    (the output) differs most from the one before it (the input), nearest-neighbour and never shrunk. Saved
    atomically (a temporary file, then renamed)."""
    from .imaging.plots import most_changed_window, pyplot, save_figure

    plt = pyplot()
    h, w = panels[0][0].shape[1:]
    top, left, side = most_changed_window(panels[-2][0], panels[-1][0], CROP)
    inch = max(4.0, side / 90)                         # a crop of ``side`` px drawn over >= side screen px at 100 dpi
    fig, axes = plt.subplots(2, len(panels), figsize=(inch * len(panels), inch * (h / w + 1) + 1), squeeze=False,
                             gridspec_kw={"height_ratios": [h / w, 1]})
    for column, (image, title) in enumerate(panels):
        full = np.clip(image, 0, 1).transpose(1, 2, 0)
        axes[0, column].imshow(full)
        axes[0, column].add_patch(plt.Rectangle((left, top), side, side, fill=False, color="yellow", lw=1))
        axes[0, column].set_title(title, fontsize=10)
        axes[1, column].imshow(full[top:top + side, left:left + side], interpolation="nearest")
        axes[1, column].set_title(f"1:1 crop at x {left}, y {top} ({side}x{side}): most changed", fontsize=9)
        for ax in axes[:, column]:
            ax.axis("off")
    with command.atomic_path(target) as tmp:
        save_figure(fig, tmp)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return command.run(restore_all, build_parser().parse_args(argv), PROG)


def restore_all(args: argparse.Namespace) -> int:
    """Restore every photo; one line per file that fails, the others still run."""
    files, problems = expand_paths(args.photos)
    if args.output and len(files) != 1:
        raise UserError(f"-o names one output file but {len(files)} photos were given; use --out-dir DIR")
    model, meta, name = _load(args)
    device = command.device(args.device)
    inputs = [Path(f) for f in files]
    done = 0
    for path, out in zip(files, command.distinct([output_path(args, f, name) for f in files])):
        try:
            print(restore_file(path, out, model, meta, args, device, inputs))
            done += 1
        except (OSError, ValueError, UserError) as error:
            text = command.describe_os_error(error) if isinstance(error, OSError) else str(error)
            problems.append(text if text.startswith(str(path)) else f"{path}: {text}")
        except Exception as error:  # noqa: BLE001 (a strange file stays that file's problem)
            problems.append(f"{path}: {type(error).__name__}: {error}")
    for message in problems:
        print(f"{message}; skipped", file=sys.stderr)
    print(f"restored {done} of {done + len(problems)} photos with {name}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
