"""Photos in and out for the restoration commands: any mode Pillow reads, EXIF orientation applied, and the output
written in the input's mode and bit depth, atomically.

``read_color_photo(path) -> (rgb float32 (3, H, W) in [0, 1], Photo)``: grey is repeated to 3 channels, alpha is
kept aside, 16-bit values keep their precision. ``write_like(rgb, photo, path)`` turns the model's RGB output back:
grey as the channel mean, alpha re-attached, 16-bit PNG for a 16-bit input. ``expand_paths`` turns the folders
among the command line's paths into the images inside them.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import numpy as np


@contextmanager
def opened(path: Any) -> Iterator[Any]:
    """``PIL.Image.open`` with EXIF rotation applied; a missing file raises FileNotFoundError and anything Pillow
    cannot read raises ValueError, each with a message that starts with the path."""
    from PIL import Image, ImageOps, UnidentifiedImageError  # noqa: PLC0415

    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with Image.open(path) as im:
            yield ImageOps.exif_transpose(im)
    except Image.DecompressionBombError as error:
        raise ValueError(f"{path}: too large to open safely ({error}); Pillow's limit is "
                         f"{Image.MAX_IMAGE_PIXELS:,} pixels: downscale the photo") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file Pillow can read (PNG, JPEG, BMP, ...)") from None
    except OSError as error:
        raise ValueError(f"{path}: could not be decoded ({error})") from None


def wide_grey(im: Any) -> "Optional[tuple[np.ndarray, bool]]":
    """A 16-bit or 32-bit grey image (modes I;16*, I, F) as (float32 (H, W) in [0, 1], was it 16-bit); None for
    other modes. ``convert('L')`` would clip these, so they are scaled by their full range instead."""
    if not (im.mode.startswith("I;16") or im.mode in ("I", "F")):
        return None
    values = np.asarray(im, dtype=np.float32)
    sixteen = im.mode.startswith("I;16") or values.max() > 255
    scale = 1.0 if im.mode == "F" and values.max() <= 1 else 65535.0 if sixteen else 255.0
    return np.clip(values / scale, 0, 1), sixteen


@dataclass
class Photo:
    """What is needed to write a result like its input: Pillow mode, grey or not, alpha (H, W) in [0, 1] or None,
    and whether the values were 16-bit."""

    mode: str
    grey: bool
    alpha: Optional[np.ndarray]
    sixteen_bit: bool


def read_color_photo(path: Any) -> "tuple[np.ndarray, Photo]":
    """(RGB float32 (3, H, W) in [0, 1], Photo) for any image file."""
    with opened(path) as im:
        mode, wide = im.mode, wide_grey(im)
        if wide is not None:
            return np.repeat(wide[0][None], 3, axis=0), Photo(mode, True, None, wide[1])
        has_alpha = mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info)
        grey = mode in ("L", "LA", "1")
        rgba = np.asarray(im.convert("RGBA" if has_alpha else "RGB"), dtype=np.float32) / 255
    alpha = rgba[..., 3] if has_alpha else None
    return np.ascontiguousarray(rgba[..., :3].transpose(2, 0, 1)), Photo(mode, grey, alpha, False)


def to_pil(rgb: np.ndarray, photo: Photo) -> Any:
    """The model's RGB output (3, H, W) as a Pillow image in the input's mode (clipped to [0, 1])."""
    from PIL import Image  # noqa: PLC0415

    x = np.clip(rgb, 0, 1).transpose(1, 2, 0)
    if photo.sixteen_bit:
        return Image.fromarray(np.rint(x.mean(axis=2) * 65535).astype(np.uint16))
    if photo.grey:
        grey = np.rint(x.mean(axis=2) * 255).astype(np.uint8)
        if photo.alpha is None:
            return Image.fromarray(grey)
        return Image.fromarray(np.stack([grey, np.rint(photo.alpha * 255).astype(np.uint8)], axis=2), "LA")
    u8 = np.rint(x * 255).astype(np.uint8)
    if photo.alpha is not None:
        u8 = np.concatenate([u8, np.rint(photo.alpha * 255).astype(np.uint8)[..., None]], axis=2)
    return Image.fromarray(u8)


def save_atomically(image: Any, path: Path, **options: Any) -> Path:
    """Write a Pillow image to a temporary file beside ``path``, then rename it over ``path``: a reader never sees
    half a file, and an error leaves no partial output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix or ".png", dir=path.parent)
    os.close(fd)
    try:
        image.save(tmp, format=None if path.suffix else "PNG", **options)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def expand_paths(paths: Sequence[str]) -> Tuple[List[str], List[str]]:
    """Files as given, and each folder replaced by the images directly inside it (sorted); plus one message per
    folder that holds none."""
    files, problems = [], []
    for path in paths:
        if Path(path).is_dir():
            inside = sorted(str(p) for p in Path(path).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            files += inside
            if not inside:
                problems.append(f"{path}: a folder with no images in it ({', '.join(sorted(IMAGE_SUFFIXES))})")
        else:
            files.append(path)
    return files, problems
