"""Training pairs for real camera shake: (blurred, sharp) crops made with ``realistic_blur`` (realistic_blur.py).

A crop is cut with a ``margin`` on each side, blurred whole, and both it and its blurred copy are cut back to the
centre: the blur near the crop's border then comes from real photo content, not from a reflected border.

Each crop draws one of three kinds (``ShakeMix``), so one model serves every photo a user gives ``deblur``:
    sharp   (``identity`` = 10 %): the input is the sharp crop itself, so a sharp photo passes unchanged;
    small   (45 %): extent 1.5-10 px, the shake of a 320x180 REDS frame or a steady hand;
    large   (45 %): extent 10-40 px, a 1280x720 GoPro frame's.
Extents are in pixels of the photo as the model sees it (the crop is not resized). Blurred crops also get the
sensor noise, saturated highlights, JPEG and mild rotation of ``realistic_blur``'s defaults.

``ShakePairs`` is a DataLoader transform: call ``n`` (a batch) draws crop i's kind and blur from
``default_rng((seed, n, i))``, so an epoch's pairs are the same on every rerun and after ``--resume``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Tuple

import numpy as np

from .realistic_blur import realistic_blur


@dataclass(frozen=True)
class ShakeMix:
    """How often each kind of crop is drawn, and the extent range (px) of the small and large shakes."""

    identity: float = 0.1
    small: Tuple[float, float] = (1.5, 10.0)
    large: Tuple[float, float] = (10.0, 40.0)

    def blur(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One (C, H, W) float image in [0, 1] -> its input: itself, or blurred with a small or large shake."""
        u = float(rng.random())
        if u < self.identity:
            return image.astype(np.float32, copy=True)
        extent = self.small if u < self.identity + (1 - self.identity) / 2 else self.large
        return realistic_blur(image, rng, extent_range=extent)


def shake_pairs(images: np.ndarray, margin: int, key: Tuple[int, ...], mix: ShakeMix = ShakeMix()
                ) -> Tuple[np.ndarray, np.ndarray]:
    """(blurred, sharp) float32 (N, C, S, S) from float crops (N, C, S + 2 margin, S + 2 margin) in [0, 1];
    crop i's draws come from ``default_rng((*key, i))``."""
    n, c, h, w = images.shape
    if h <= 2 * margin or w <= 2 * margin:
        raise ValueError(f"shake_pairs: crops of {h}x{w} leave nothing inside a margin of {margin} px")
    inner = (slice(None), slice(margin, h - margin), slice(margin, w - margin))
    blurred = np.empty((n, c, h - 2 * margin, w - 2 * margin), dtype=np.float32)
    for i in range(n):
        blurred[i] = mix.blur(images[i], np.random.default_rng((*key, i)))[inner]
    sharp = np.ascontiguousarray(images[(slice(None),) + inner], dtype=np.float32)
    return blurred, sharp


class ShakePairs:
    """A DataLoader transform: crops with a margin -> (blurred, sharp) centres; call n draws from (seed, n, i)."""

    def __init__(self, margin: int, seed: int = 0, mix: ShakeMix = ShakeMix()) -> None:
        self.margin, self.seed, self.mix, self.calls = margin, seed, mix, 0

    def __call__(self, images: Any) -> Tuple[np.ndarray, np.ndarray]:
        key = (self.seed, self.calls)
        self.calls += 1
        return shake_pairs(np.asarray(images, dtype=np.float32), self.margin, key, self.mix)
