"""Image files in and out (Pillow, imported only inside these functions), and uint8 <-> float conversions.

Arrays are float32 in [0, 1], channel-first: (C, H, W) for one image, (N, C, H, W) for a batch.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..backend import to_device
from .root import PathLike


def to_uint8(x: Any) -> np.ndarray:
    """float in [0, 1] -> uint8 in [0, 255]: clip, scale by 255, round half to even (NumPy ``rint``). To the CPU."""
    a = to_device(x, "cpu")
    if a.dtype == np.uint8:
        return a
    return np.rint(np.clip(np.asarray(a, dtype=np.float32), 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)


def from_uint8(a: Any) -> np.ndarray:
    """uint8 in [0, 255] -> float32 in [0, 1]."""
    return np.asarray(a, dtype=np.float32) * np.float32(1.0 / 255.0)


def load_image(path: PathLike, mode: str = "RGB") -> np.ndarray:
    """Read a PNG/JPEG/... file as float32 (C, H, W) in [0, 1]; ``mode`` 'RGB' (3 channels) or 'L' (1 channel)."""
    from PIL import Image  # noqa: PLC0415

    if mode not in ("RGB", "L"):
        raise ValueError(f"load_image: mode must be 'RGB' or 'L', got {mode!r}")
    with Image.open(path) as im:
        a = np.asarray(im.convert(mode), dtype=np.uint8)
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    return from_uint8(a)


def load_image_uint8(path: PathLike, mode: str = "RGB") -> np.ndarray:
    """Like ``load_image`` but uint8 (C, H, W), with no float conversion."""
    from PIL import Image  # noqa: PLC0415

    with Image.open(path) as im:
        a = np.asarray(im.convert(mode), dtype=np.uint8)
    return a[None] if a.ndim == 2 else np.ascontiguousarray(a.transpose(2, 0, 1))


def save_image(image: Any, path: PathLike) -> Path:
    """Write one image, (C, H, W) with C in {1, 3} or (H, W), float in [0, 1] (clipped) or uint8, to ``path``.

    The format follows the file suffix (use .png to keep it lossless).
    """
    from PIL import Image  # noqa: PLC0415

    a = to_uint8(image)
    if a.ndim == 3:
        if a.shape[0] not in (1, 3):
            raise ValueError(f"save_image: expected (C, H, W) with C 1 or 3, or (H, W); got {a.shape}")
        a = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
    elif a.ndim != 2:
        raise ValueError(f"save_image: expected (C, H, W) or (H, W), got {a.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(a)).save(path)
    return path
