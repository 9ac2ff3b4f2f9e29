"""CIFAR-10 from the official python tarball (pickled batches) or the official binary version (records).

On disk, under ``<data root>/cifar10/``, any one of:
- ``cifar-10-python.tar.gz`` (md5 c58f3010...) or its extracted ``cifar-10-batches-py/`` (data_batch_1..5, test_batch)
- ``cifar-10-binary.tar.gz`` (md5 c32a1d4a...) or its extracted ``cifar-10-batches-bin/`` (data_batch_N.bin,
  test_batch.bin)
Binary members carry no official per-file MD5 (only the tarball has one): when this module extracts them from the
verified tarball it records their sums and checks them on later reads; hand-placed ones get a structure check
(exact size, whole records, labels 0..9).
A partial copy in the binary layout (fewer records per file, like ``<data root>/cifar10-partial/``) loads only with
``allow_partial=True`` (``--allow-partial``), and says how many images it got.

Binary record: 1 label byte, then 3072 bytes = the R, G and B planes, each 32x32 row-major. A pickled batch is
``{b'data': uint8 (10000, 3072) in the same plane order, b'labels': [10000 ints]}``; it is unpickled only after its
official MD5 matched, so no untrusted pickle is ever loaded.
Images come out as uint8 (N, 3, 32, 32), served as float32 RGB in [0, 1] by the DataLoader.
"""
from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from .loader import ArrayDataset
from .root import (DataError, MissingDataError, PartialDataError, PathLike, data_root, extract_members,
                   offline_message, read_manifest, verify_file)
from .root import download as _download

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
BASE_URL = "https://www.cs.toronto.edu/~kriz/"
PY_ARCHIVE = ("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", 170498071)
BIN_ARCHIVE = ("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530", None)
PY_DIR, BIN_DIR = "cifar-10-batches-py", "cifar-10-batches-bin"
BATCHES = {"train": ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"],
           "test": ["test_batch"]}
# official MD5s of the pickled batches inside cifar-10-python.tar.gz
PY_MD5: Dict[str, str] = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f", "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751", "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb", "test_batch": "40351d587109b95175f43aff81a1287e",
}
RECORDS_PER_BATCH = 10000
RECORD_BYTES = 1 + 3 * 32 * 32
# all official labels as raw uint8 (train batches 1..5 in order; test), as kept beside a partial copy
LABEL_FILES = {"train": ("train_labels_50000.u8", "69c5f3349be54915edfca558b72ad888"),
               "test": ("test_labels_10000.u8", "251f18ce75337ae9ca5d0dbd7ea62cf4")}


def parse_records(raw: bytes, path: PathLike = "<bytes>") -> Tuple[np.ndarray, np.ndarray]:
    """Binary records -> (images uint8 (n, 3, 32, 32), labels uint8 (n,)); a partial last record is an error."""
    if len(raw) % RECORD_BYTES:
        raise DataError(f"{path} is truncated or corrupt: {len(raw):,} bytes is not a whole number of "
                        f"{RECORD_BYTES}-byte records (1 label byte + 3072 pixel bytes)")
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    labels = rec[:, 0].copy()
    if labels.size and labels.max() > 9:
        raise DataError(f"{path} is corrupt: label byte {int(labels.max())} is not a CIFAR-10 class 0..9")
    return rec[:, 1:].reshape(-1, 3, 32, 32), labels


def _read_pickle_batch(path: Path, name: str) -> Tuple[np.ndarray, np.ndarray]:
    verify_file(path, PY_MD5[name])
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="bytes")
    data = np.asarray(d[b"data"], dtype=np.uint8)
    labels = np.asarray(d[b"labels"], dtype=np.uint8)
    if data.shape != (len(labels), 3072):
        raise DataError(f"{path}: data {data.shape} and {len(labels)} labels do not form (N, 3072) images")
    return data.reshape(-1, 3, 32, 32), labels


def _read_bin_batch(path: Path, allow_partial: bool) -> Tuple[np.ndarray, np.ndarray, bool]:
    """One binary batch; checked against the sums recorded at extraction when there are some. Returns partial flag."""
    if not path.is_file():
        raise MissingDataError(f"{path} does not exist")
    size = path.stat().st_size
    full = RECORDS_PER_BATCH * RECORD_BYTES
    known = read_manifest(path.parent).get(path.name)
    if known is not None and size == full:
        verify_file(path, known, full)
    if size % RECORD_BYTES:
        raise DataError(f"{path} is truncated or corrupt: {size:,} bytes is not a whole number of {RECORD_BYTES}-byte "
                        f"records (the official file is {full:,} bytes" +
                        (f", md5 {known})" if known else ")") + "; delete it and download or copy it again")
    if size > full:
        raise DataError(f"{path} has {size // RECORD_BYTES:,} records, more than the official {RECORDS_PER_BATCH:,}")
    partial = size < full
    if partial and not allow_partial:
        raise PartialDataError(f"{path} is a partial copy: {size // RECORD_BYTES:,} of {RECORDS_PER_BATCH:,} records. "
                               "Pass allow_partial=True (--allow-partial) to train on it anyway.")
    images, labels = parse_records(path.read_bytes(), path)
    return images, labels, partial


def _check_partial_labels(folder: Path, split: str, parts: List[Tuple[str, np.ndarray]]) -> None:
    """A partial copy's labels must be the prefix of each batch's official labels (when the label file is there)."""
    name, md5 = LABEL_FILES[split]
    if not (folder / name).is_file():
        return
    all_labels = np.frombuffer(verify_file(folder / name, md5).read_bytes(), dtype=np.uint8)
    for i, (batch, labels) in enumerate(parts):
        official = all_labels[i * RECORDS_PER_BATCH: i * RECORDS_PER_BATCH + len(labels)]
        if not np.array_equal(official, labels):
            raise DataError(f"{folder / batch} is corrupt: its labels differ from the official ones in {name}")


def _load_binary(folder: Path, split: str, allow_partial: bool) -> ArrayDataset:
    images, labels, names, n_partial = [], [], [], 0
    for b in BATCHES[split]:
        im, lab, partial = _read_bin_batch(folder / f"{b}.bin", allow_partial)
        images.append(im)
        labels.append(lab)
        names.append((f"{b}.bin", lab))
        n_partial += partial
    x, y = np.concatenate(images), np.concatenate(labels)
    full = RECORDS_PER_BATCH * len(BATCHES[split])
    name = f"CIFAR-10 {split}"
    if n_partial:
        _check_partial_labels(folder, split, names)
        name += f" (PARTIAL: {len(x):,} of {full:,} images)"
        print(f"note: CIFAR-10 {split} is a partial copy from {folder}: {len(x):,} of {full:,} images "
              f"({', '.join(f'{n} {len(lab)}' for n, lab in names)})", file=sys.stderr)
    return ArrayDataset(x, y, name=name, classes=CLASSES)


def _load_python(folder: Path, split: str) -> ArrayDataset:
    parts = [_read_pickle_batch(folder / b, b) for b in BATCHES[split]]
    return ArrayDataset(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                        name=f"CIFAR-10 {split}", classes=CLASSES)


def _extract(archive: Path, folder: Path, sub: str, python: bool) -> None:
    verify_file(archive, PY_ARCHIVE[1] if python else BIN_ARCHIVE[1])
    names = [b for s in BATCHES.values() for b in s]
    members = {f"{sub}/{b}": PY_MD5[b] for b in names} if python else {f"{sub}/{b}.bin": None for b in names}
    extract_members(archive, folder, members)


def load_cifar10(split: str = "train", data_dir: Optional[PathLike] = None, format: str = "auto",
                 download: bool = True, allow_partial: bool = False) -> ArrayDataset:
    """CIFAR-10 ``split`` ('train': 50,000, 'test': 10,000) as an ``ArrayDataset`` of (uint8 (N,3,32,32), labels).

    ``format``: 'python' (pickled batches), 'binary' (records) or 'auto' (whichever is on disk, python first;
    then a partial binary copy in ``<root>/cifar10-partial`` if ``allow_partial``; else download the python tarball).
    """
    if split not in BATCHES:
        raise ValueError(f"load_cifar10: split must be 'train' or 'test', got {split!r}")
    if format not in ("auto", "python", "binary"):
        raise ValueError(f"load_cifar10: format must be 'auto', 'python' or 'binary', got {format!r}")
    root = data_root(data_dir)
    folder = root / "cifar10"
    py_dir, bin_dir = folder / PY_DIR, folder / BIN_DIR
    want_py, want_bin = format in ("auto", "python"), format in ("auto", "binary")
    if want_py and all((py_dir / b).is_file() for b in BATCHES[split]):
        return _load_python(py_dir, split)
    if want_py and (folder / PY_ARCHIVE[0]).is_file():
        _extract(folder / PY_ARCHIVE[0], folder, PY_DIR, python=True)
        return _load_python(py_dir, split)
    if want_bin and all((bin_dir / f"{b}.bin").is_file() for b in BATCHES[split]):
        return _load_binary(bin_dir, split, allow_partial)
    if want_bin and (folder / BIN_ARCHIVE[0]).is_file():
        _extract(folder / BIN_ARCHIVE[0], folder, BIN_DIR, python=False)
        return _load_binary(bin_dir, split, allow_partial)
    partial_dir = root / "cifar10-partial"
    has_partial = want_bin and all((partial_dir / f"{b}.bin").is_file() for b in BATCHES[split])
    if has_partial and allow_partial:
        return _load_binary(partial_dir, split, allow_partial=True)
    archive = PY_ARCHIVE if want_py else BIN_ARCHIVE
    reason = "downloading is switched off"
    if download:
        try:
            _download([BASE_URL + archive[0]], folder / archive[0], archive[1], desc=f"CIFAR-10 {archive[0]}")
            return load_cifar10(split, data_dir, format, download=False, allow_partial=allow_partial)
        except (MissingDataError, OSError) as exc:
            reason = str(exc)
    hint = (f"A partial copy exists in {partial_dir}: pass allow_partial=True (--allow-partial) to use it."
            if has_partial else "")
    raise MissingDataError(offline_message(folder, [archive], [BASE_URL], "CIFAR-10", reason, hint))
