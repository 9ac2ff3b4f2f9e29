"""A folder of photographs (any PNG/JPEG) cut into seeded random crops, with the train/test split made by photo.

Default folder: ``<data root>/photos``. The photos are sorted by file name; a permutation drawn with ``seed``
puts ``round(test_fraction * n)`` of them (at least 1 when there are 2 or more) in the test split and the rest in
train, so no test crop ever shares a photo with a training crop. Photo number ``i`` (in sorted order) always gets
the same crops for the same seed, whichever split asks for it. Greyscale photos are repeated to 3 channels.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .images import load_image_uint8
from .loader import ArrayDataset
from .root import DataError, MissingDataError, PathLike, dataset_dir

SUFFIXES = (".png", ".jpg", ".jpeg")


def list_photos(folder: PathLike) -> List[Path]:
    """The PNG/JPEG files of a folder, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingDataError(f"photo folder {folder} does not exist: put some PNG or JPEG photographs there (at "
                               "least as large as the crop size), or pass another folder / --data-dir")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
    if not files:
        raise MissingDataError(f"photo folder {folder} holds no .png/.jpg/.jpeg files")
    return files


def split_photos(files: Sequence[Path], test_fraction: float = 0.25, seed: int = 0) -> Tuple[List[Path], List[Path]]:
    """(train photos, test photos): a seeded split by photo, each list in name order."""
    n = len(files)
    n_test = 0 if n < 2 else min(n - 1, max(1, int(round(test_fraction * n))))
    perm = np.random.default_rng(seed).permutation(n)
    test = set(perm[:n_test].tolist())
    return [f for i, f in enumerate(files) if i not in test], [f for i, f in enumerate(files) if i in test]


def random_crops(image: np.ndarray, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` crops (n, C, size, size) at uniformly drawn top-left corners of a (C, H, W) image."""
    c, h, w = image.shape
    if h < size or w < size:
        raise DataError(f"a {h}x{w} photo is smaller than the {size}x{size} crop size")
    ys = rng.integers(0, h - size + 1, n)
    xs = rng.integers(0, w - size + 1, n)
    return np.stack([image[:, y:y + size, x:x + size] for y, x in zip(ys, xs)])


def load_photos(split: str = "train", folder: Optional[PathLike] = None, data_dir: Optional[PathLike] = None,
                crop_size: int = 96, crops_per_photo: int = 64, test_fraction: float = 0.25,
                seed: int = 0) -> ArrayDataset:
    """Seeded ``crop_size`` crops of the ``split`` photos as an ``ArrayDataset`` of uint8 (N, 3, S, S).

    ``ds.photos`` lists the photo files used. Crops are served as float32 RGB in [0, 1] by the DataLoader.
    """
    if split not in ("train", "test"):
        raise ValueError(f"load_photos: split must be 'train' or 'test', got {split!r}")
    files = list_photos(folder if folder is not None else dataset_dir("photos", data_dir))
    train, test = split_photos(files, test_fraction, seed)
    chosen = train if split == "train" else test
    crops = []
    for f in chosen:
        rng = np.random.default_rng([seed, files.index(f)])
        image = load_image_uint8(f, "RGB")
        try:
            crops.append(random_crops(image, crops_per_photo, crop_size, rng))
        except DataError as exc:
            raise DataError(f"{f}: {exc}") from exc
    if not crops:
        raise DataError(f"no photos in the {split} split of {files[0].parent} (it has {len(files)} photos)")
    ds = ArrayDataset(np.concatenate(crops), name=f"photos {split} ({len(chosen)} photos, {crop_size}px crops)")
    ds.photos = [f.name for f in chosen]
    return ds
