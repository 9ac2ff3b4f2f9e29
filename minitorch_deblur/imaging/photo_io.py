"""Photos in and out for the restoration commands: any mode Pillow reads, EXIF orientation applied, and the output
written in the input's mode and bit depth, atomically.

``read_photo(path) -> (Pixels, Photo)`` keeps the decoded values (uint8, or float grey for 16-bit) and serves them
as float32 RGB (3, h, w) in [0, 1] one tile at a time; ``read_color_photo`` gives the whole float image. Grey is
repeated to 3 channels, alpha is kept aside, 16-bit values keep their precision. ``Canvas`` (and ``to_pil``) turns
the model's RGB output back, tile by tile: grey as the channel mean, alpha re-attached, 16-bit PNG for a 16-bit
input. Large photos thus cost a few bytes a pixel, not the 24 of float32 RGB in and out. ``expand_paths`` turns the folders
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
    """What is needed to write a result like its input: Pillow mode, grey or not, alpha (H, W) (uint8, or float in
    [0, 1]) or None, and whether the values were 16-bit."""

    mode: str
    grey: bool
    alpha: Optional[np.ndarray]
    sixteen_bit: bool


class Pixels:
    """A decoded photo kept as decoded (uint8 grey or RGB, or float grey for 16/32-bit), read as float32 RGB:
    ``pixels[:, y0:y1, x0:x1]`` is (3, h, w) in [0, 1], so a large photo is converted one tile at a time."""

    def __init__(self, array: np.ndarray, scale: float) -> None:
        self.array, self.scale = array, scale
        self.shape = (3, *array.shape[:2])
        self.nbytes = (array.base if isinstance(array.base, np.ndarray) else array).nbytes

    def __getitem__(self, key: Tuple[slice, slice, slice]) -> np.ndarray:
        channels, rows, cols = key
        part = self.array[rows, cols].astype(np.float32) / np.float32(self.scale)
        rgb = np.broadcast_to(part, (3, *part.shape)) if part.ndim == 2 else part.transpose(2, 0, 1)
        return np.ascontiguousarray(rgb[channels])


class Canvas:
    """The output photo in the input's mode and bit depth, filled tile by tile: ``canvas[:, y0:y1, x0:x1] = rgb``
    takes float RGB (3, h, w), clips it to [0, 1] and stores grey as the channel mean, 8 or 16 bits a value."""

    def __init__(self, photo: Photo, height: int, width: int) -> None:
        self.photo, self.shape = photo, (3, height, width)
        self.top = 65535 if photo.sixteen_bit else 255
        grey = photo.grey or photo.sixteen_bit
        self.array = np.zeros((height, width) if grey else (height, width, 3),
                              dtype=np.uint16 if photo.sixteen_bit else np.uint8)
        self.nbytes = self.array.nbytes + (0 if photo.alpha is None else photo.alpha.nbytes)

    def __setitem__(self, key: Tuple[slice, slice, slice], rgb: np.ndarray) -> None:
        _, rows, cols = key
        x = np.clip(rgb, 0, 1)
        self.array[rows, cols] = np.rint((x.mean(axis=0) if self.array.ndim == 2 else x.transpose(1, 2, 0)) * self.top)

    def image(self) -> Any:
        """The Pillow image, alpha re-attached."""
        from PIL import Image  # noqa: PLC0415

        alpha = self.photo.alpha
        if alpha is None or self.photo.sixteen_bit:
            return Image.fromarray(self.array)
        if alpha.dtype != np.uint8:
            alpha = np.rint(np.clip(alpha, 0, 1) * 255).astype(np.uint8)
        channels = [self.array] if self.array.ndim == 2 else [self.array[..., i] for i in range(3)]
        return Image.fromarray(np.stack([*channels, alpha], axis=2), "LA" if self.array.ndim == 2 else "RGBA")


def read_photo(path: Any) -> "tuple[Pixels, Photo]":
    """(Pixels, Photo) for any image file: the decoded values, as compact as the file's mode allows."""
    with opened(path) as im:
        mode, wide = im.mode, wide_grey(im)
        if wide is not None:
            return Pixels(wide[0], 1.0), Photo(mode, True, None, wide[1])
        has_alpha = mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info)
        grey = mode in ("L", "LA", "1")
        keep = ("LA" if grey else "RGBA") if has_alpha else ("L" if grey else "RGB")
        array = np.asarray(im if im.mode == keep else im.convert(keep))
    if not has_alpha:
        return Pixels(array, 255.0), Photo(mode, grey, None, False)
    return Pixels(array[..., 0] if grey else array[..., :3], 255.0), Photo(mode, grey, array[..., -1], False)


def read_color_photo(path: Any) -> "tuple[np.ndarray, Photo]":
    """(RGB float32 (3, H, W) in [0, 1], Photo) for any image file."""
    pixels, photo = read_photo(path)
    return pixels[:, :, :], photo


def to_pil(rgb: np.ndarray, photo: Photo) -> Any:
    """The model's RGB output (3, H, W) as a Pillow image in the input's mode (clipped to [0, 1])."""
    canvas = Canvas(photo, *rgb.shape[1:])
    canvas[:, :, :] = rgb
    return canvas.image()


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
