"""STL-10 (96x96 colour) from the official binary release, read lazily through a memory map.

On disk: ``<data root>/stl10/stl10_binary/`` with train_X.bin, train_y.bin (5,000 labelled), test_X.bin, test_y.bin
(8,000 labelled), class_names.txt and optionally unlabeled_X.bin (100,000 images, 2.7 GB), or the official archive
``<data root>/stl10/stl10_binary.tar.gz`` (2.6 GB), which is downloaded if missing and extracted once.

Each image is 3x96x96 uint8 stored column-major: read as (3, 96, 96), then transposed (0, 2, 1) per channel to get
row-major H x W. The ``_X.bin`` files are opened with ``np.memmap``, so a batch reads only its own rows and the
2.7 GB unlabelled split is never loaded at once. Labels in the files are 1..10; they come out as 0..9.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

from .loader import ArrayDataset
from .root import (DataError, MissingDataError, PartialDataError, PathLike, dataset_dir, extract_members,
                   offline_message, read_manifest, verify_file)
from .root import download as _download

CLASSES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]
URL = "http://ai.stanford.edu/~acoates/stl10/"
ARCHIVE = ("stl10_binary.tar.gz", "91f7769df0f17e558f3565bffb0c7dfb", None)
SUB = "stl10_binary"
IMAGE_BYTES = 3 * 96 * 96
# official member MD5s and sizes (None: no official sum; checked against the archive's when extracted here)
FILES: Dict[str, Tuple[str, Optional[str], Optional[int]]] = {
    "train_X": ("train_X.bin", "918c2871b30a85fa023e0c44e0bee87f", 138_240_000),
    "train_y": ("train_y.bin", "5a34089d4802c674881badbb80307741", 5_000),
    "test_X": ("test_X.bin", "7f263ba9f9e0b06b93213547f721ac82", 221_184_000),
    "test_y": ("test_y.bin", "36f9794fa4beb8a2c72628de14fa638e", 8_000),
    "unlabeled_X": ("unlabeled_X.bin", None, 100_000 * IMAGE_BYTES),
    "class_names": ("class_names.txt", "6de44d022411c4d5cda4673b7f147c3f", None),
}
SPLITS = {"train": ("train_X", "train_y"), "test": ("test_X", "test_y"), "unlabeled": ("unlabeled_X", None)}


def open_images(path: PathLike) -> np.ndarray:
    """A read-only memory map of STL images as (N, 3, 96, 96) row-major (a transposed view; nothing is read yet)."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0 or size % IMAGE_BYTES:
        raise DataError(f"{path} is truncated or corrupt: {size:,} bytes is not a whole number of "
                        f"{IMAGE_BYTES:,}-byte images (3x96x96)")
    mm = np.memmap(path, dtype=np.uint8, mode="r", shape=(size // IMAGE_BYTES, 3, 96, 96))
    return mm.transpose(0, 1, 3, 2)  # column-major on disk -> (C, H, W)


def read_labels(path: PathLike) -> np.ndarray:
    """train_y.bin / test_y.bin: one byte per image, 1..10 -> int64 0..9."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size and (raw.min() < 1 or raw.max() > 10):
        raise DataError(f"{path} is corrupt: labels must be 1..10, found {int(raw.min())}..{int(raw.max())}")
    return raw.astype(np.int64) - 1


def _check(folder: Path, key: str, allow_partial: bool) -> Path:
    name, md5, size = FILES[key]
    path = folder / name
    md5 = md5 or read_manifest(folder).get(name)
    if md5 is not None:
        return verify_file(path, md5, size)
    actual = path.stat().st_size
    if size is not None and actual != size:  # no sum known: at least the size must be the official one
        if actual < size and actual % IMAGE_BYTES == 0 and allow_partial:
            return path
        cls = PartialDataError if actual < size and actual % IMAGE_BYTES == 0 else DataError
        raise cls(f"{path} is {actual:,} bytes, the official file is {size:,}" +
                  (" (pass allow_partial=True to use fewer images)" if cls is PartialDataError else ""))
    return path


def load_stl10(split: str = "train", data_dir: Optional[PathLike] = None, download: bool = True,
               allow_partial: bool = False) -> ArrayDataset:
    """STL-10 ``split`` ('train' 5,000, 'test' 8,000, 'unlabeled' 100,000) as an ``ArrayDataset``.

    Images are a memory-mapped uint8 (N, 3, 96, 96) view (served as float32 in [0, 1] batch by batch); the labelled
    splits also carry int64 labels 0..9. ``allow_partial`` only concerns the unlabelled file, which has no official
    per-file checksum.
    """
    if split not in SPLITS:
        raise ValueError(f"load_stl10: split must be 'train', 'test' or 'unlabeled', got {split!r}")
    root = dataset_dir("stl10", data_dir)
    folder = root / SUB
    x_key, y_key = SPLITS[split]
    needed = [k for k in (x_key, y_key) if k]
    if not all((folder / FILES[k][0]).is_file() for k in needed):
        archive = root / ARCHIVE[0]
        reason = "downloading is switched off"
        if not archive.is_file() and download:
            try:
                _download([URL + ARCHIVE[0]], archive, ARCHIVE[1], desc="STL-10 stl10_binary.tar.gz (2.6 GB)")
            except (MissingDataError, OSError) as exc:
                reason = str(exc)
        if not archive.is_file():
            files = [(f"{SUB}/{FILES[k][0]}", FILES[k][1] or "(no official per-file md5)", FILES[k][2])
                     for k in needed]
            raise MissingDataError(offline_message(
                root, files, [URL], "STL-10", reason,
                hint=f"or put the official {ARCHIVE[0]} (md5 {ARCHIVE[1]}) in {root}/ and it is extracted once."))
        verify_file(archive, ARCHIVE[1])
        extract_members(archive, root, {f"{SUB}/{FILES[k][0]}": FILES[k][1] for k in needed})
    images = open_images(_check(folder, x_key, allow_partial))
    if y_key is None:
        return ArrayDataset(images, name=f"STL-10 {split}", classes=CLASSES)
    labels = read_labels(_check(folder, y_key, allow_partial))
    if len(labels) != len(images):
        raise DataError(f"STL-10 {split} in {folder}: {len(images):,} images but {len(labels):,} labels")
    return ArrayDataset(images, labels, name=f"STL-10 {split}", classes=CLASSES)
