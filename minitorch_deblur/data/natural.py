"""Seeded random crops of ``<data root>/natural-images``: 543 TRAIN photographs, 119 HELD-OUT ones.

The split is by folder and comes from the folder's ``MANIFEST.csv`` (column ``split``: 'train' or 'held-out'),
never from a random draw, so a held-out photograph can never reach training. Photos are read in manifest order;
crop ``j`` of a call comes from ``numpy.random.default_rng((seed, j))`` (or ``(*seed, j)`` for a tuple seed): it
picks a photo uniformly, then a top-left corner uniformly, so the same seed gives the same crops on every machine.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, List, Optional, Sequence

import numpy as np

from .images import load_image_uint8
from .loader import ArrayDataset
from .root import DataError, MissingDataError, PathLike, data_root

SPLITS = {"train": "train", "held-out": "held-out", "test": "held-out"}
# what the manifest's 'split' column may say for each split (the data's README calls the test folders HELD-OUT,
# its MANIFEST.csv says 'test')
MANIFEST_SPLITS = {"train": ("train",), "held-out": ("held-out", "heldout", "test")}


def natural_image_files(split: str = "train", data_dir: Optional[PathLike] = None) -> List[Path]:
    """The photographs of one split ('train', or 'held-out' / 'test'), in manifest order."""
    if split not in SPLITS:
        raise ValueError(f"natural_image_files: split must be 'train' or 'held-out', got {split!r}")
    folder = data_root(data_dir) / "natural-images"
    manifest = folder / "MANIFEST.csv"
    if not manifest.is_file():
        raise MissingDataError(f"{manifest} does not exist: natural-images/ (with its MANIFEST.csv) belongs in the "
                               "data root (--data-dir or $MINITORCH_DEBLUR_DATA)")
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    names = MANIFEST_SPLITS[SPLITS[split]]
    files = [folder / row["set"] / row["file"] for row in rows if row["split"].strip().lower() in names]
    if not files:
        raise DataError(f"{manifest} lists no {SPLITS[split]} photographs (column 'split')")
    return files


class NaturalImages:
    """The photographs of one split, decoded once and kept in memory (uint8 (3, H, W) each), cut into crops on
    demand: ``crops(n, size, seed)``. Training draws new crops every epoch without decoding the files again."""

    def __init__(self, split: str = "train", data_dir: Optional[PathLike] = None) -> None:
        self.split, self.files = SPLITS.get(split, split), natural_image_files(split, data_dir)
        self._images: dict = {}

    def image(self, index: int) -> np.ndarray:
        if index not in self._images:
            try:
                self._images[index] = load_image_uint8(self.files[index], "RGB")
            except OSError as error:
                raise DataError(f"{self.files[index]} could not be read as an image ({error}); check it against "
                                "natural-images/MANIFEST.csv (sha256)") from None
        return self._images[index]

    def crops(self, n: int, size: int = 32, seed: Any = 0, photos: Optional[Sequence[int]] = None) -> ArrayDataset:
        """``n`` crops (uint8 (n, 3, size, size)); crop j draws its photo (among ``photos``, indices into
        ``files``; default all), then its corner, from ``default_rng((*seed, j))``. ``ds.sources`` is each crop's
        photo index."""
        key = tuple(seed) if isinstance(seed, (tuple, list)) else (seed,)
        pool = np.arange(len(self.files)) if photos is None else np.asarray(photos, dtype=np.int64)
        picks = [np.random.default_rng(key + (j,)) for j in range(n)]
        photo_of = np.array([int(pool[rng.integers(len(pool))]) for rng in picks], dtype=np.int64)
        crops = np.empty((n, 3, size, size), dtype=np.uint8)
        for index in np.unique(photo_of):
            image = self.image(int(index))
            _, h, w = image.shape
            if h < size or w < size:
                raise DataError(f"{self.files[index]} is {w}x{h}, smaller than the {size}x{size} crop")
            for j in np.nonzero(photo_of == index)[0]:
                y, x = int(picks[j].integers(h - size + 1)), int(picks[j].integers(w - size + 1))
                crops[j] = image[:, y:y + size, x:x + size]
        ds = ArrayDataset(crops, name=f"natural-images {self.split}: {n:,} crops {size}x{size}")
        ds.photos, ds.sources = self.files, photo_of
        return ds


def natural_image_crops(n: int, size: int = 32, split: str = "train", seed: Any = 0,
                        data_dir: Optional[PathLike] = None) -> ArrayDataset:
    """``n`` crops (uint8 (n, 3, size, size)) of the ``split`` photographs, as an ``ArrayDataset`` (photos are read
    once per call; keep a ``NaturalImages`` to draw crops repeatedly)."""
    return NaturalImages(split, data_dir).crops(n, size, seed)
