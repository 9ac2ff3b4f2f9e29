"""MNIST from the four official IDX .gz files, with a small subset shipped inside the package as the fallback.

On disk: ``<data root>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`` (the official names and bytes).
``load_mnist("train")`` gives 60,000 images, ``load_mnist("test")`` 10,000: uint8 (N, 1, 28, 28) kept as stored,
served as float32 in [0, 1] (pixels / 255, no mean/std) one batch at a time by the DataLoader.

When no data root has MNIST and it cannot be downloaded, the loader falls back (with a one-line warning) to the
embedded subset in ``data/embedded/``: 5,000 train and 1,000 test digits, 500 and 100 per class, drawn with seed 0
from the official files by ``build_embedded_subset`` (see ``data/embedded/README.md`` for the licence).
"""
from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .loader import ArrayDataset, Subset
from .root import ENV_DATA, DataError, MissingDataError, PathLike, dataset_dir, fetch_files, verify_file

# name, official md5 of the .gz, size in bytes (the sums torchvision and the MNIST mirrors publish)
FILES: Dict[str, Tuple[Tuple[str, str, Optional[int]], Tuple[str, str, Optional[int]]]] = {
    "train": (("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422),
              ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", 28881)),
    "test": (("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", 1648877),
             ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", 4542)),
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
COUNTS = {"train": 60000, "test": 10000}
CLASSES = [str(d) for d in range(10)]

EMBEDDED_DIR = Path(__file__).resolve().parent / "embedded"
EMBEDDED_PREFIX = "mnist-subset-"
# md5 of the embedded subset files, written by build_embedded_subset(seed=0) from the official files
EMBEDDED: Dict[str, Tuple[Tuple[str, str, Optional[int]], Tuple[str, str, Optional[int]]]] = {
    "train": (("mnist-subset-train-images-idx3-ubyte.gz", "68be299f22b1c1f93c6696db6c5983ed", 807679),
              ("mnist-subset-train-labels-idx1-ubyte.gz", "4c9daaa4577ec93f7e1e7a31ac92049e", 2579)),
    "test": (("mnist-subset-t10k-images-idx3-ubyte.gz", "3221bed92cd3b3d34f10359739013afc", 161844),
             ("mnist-subset-t10k-labels-idx1-ubyte.gz", "ed59281ab871925c11744d19af2cc1d0", 524)),
}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(raw: bytes, path: PathLike = "<bytes>") -> np.ndarray:
    """Decode an (uncompressed) IDX file: magic 0x0000 <dtype> <ndim>, ndim big-endian int32 sizes, then data.

    Raises ``DataError`` naming ``path`` if the header is wrong or the data is shorter or longer than it says.
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated: its IDX header needs {header} bytes, the file has {len(raw)}")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    need = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != need:
        raise DataError(f"{path} is truncated or corrupt: its header says {dims} ({need:,} data bytes) but it holds "
                        f"{len(raw) - header:,}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="), copy=False)


def read_idx_gz(path: PathLike) -> np.ndarray:
    """Read a gzip-compressed IDX file into an array (errors name the path)."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path} is not a valid gzip file ({exc}); delete it and download or copy it again") from exc
    return parse_idx(raw, path)


def write_idx_gz(array: np.ndarray, path: PathLike) -> None:
    """Write a uint8 array as a gzip-compressed IDX file (mtime 0, so the bytes are reproducible)."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, a.ndim]) + np.asarray(a.shape, dtype=">i4").tobytes()
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(header + a.tobytes())
    Path(path).write_bytes(buf.getvalue())


def _read_pair(folder: Path, files: tuple, split: str) -> Tuple[np.ndarray, np.ndarray]:
    (img_name, img_md5, img_size), (lab_name, lab_md5, lab_size) = files
    images = read_idx_gz(verify_file(folder / img_name, img_md5, img_size))
    labels = read_idx_gz(verify_file(folder / lab_name, lab_md5, lab_size))
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"MNIST {split} in {folder}: images {images.shape} and labels {labels.shape} do not form a "
                        "set of (N, 28, 28) digits with N labels")
    return images, labels


def load_mnist(split: str = "train", data_dir: Optional[PathLike] = None, download: bool = True,
               fallback: bool = True) -> ArrayDataset:
    """MNIST ``split`` ('train' or 'test') as an ``ArrayDataset`` of (uint8 (N, 1, 28, 28), labels (N,)).

    Reads ``<data root>/mnist``; downloads the missing files when ``download``; if that fails and ``fallback``,
    uses the embedded subset (5,000 / 1,000 digits) with a one-line warning on stderr.
    """
    if split not in FILES:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    folder = dataset_dir("mnist", data_dir)
    try:
        fetch_files(folder, FILES[split], MIRRORS, "MNIST", download_ok=download)
    except MissingDataError:
        if not fallback:
            raise
        ds = load_embedded_mnist(split)
        warn_once(f"warning: {', '.join(missing_files(folder, split))} not in {folder} and could not be downloaded: "
                  f"using the embedded {len(ds):,}-digit {split} subset; for the full set, put the official .gz "
                  f"files in {folder}/ (or point --data-dir / ${ENV_DATA} at a folder with mnist/), or run once "
                  "with internet access")
        return ds
    images, labels = _read_pair(folder, FILES[split], split)
    return ArrayDataset(images[:, None], labels, name=f"MNIST {split}", classes=CLASSES)


_WARNED: set = set()


def warn_once(message: str) -> None:
    """Print a data warning on stderr once per process (a loader called for train and test says it once)."""
    if message not in _WARNED:
        _WARNED.add(message)
        print(message, file=sys.stderr)


def missing_files(folder: Path, split: str) -> List[str]:
    """Which of the split's official files are not in folder (the names a warning should give)."""
    return [name for name, _, _ in FILES[split] if not (folder / name).is_file()]


def load_embedded_mnist(split: str = "train") -> ArrayDataset:
    """The subset shipped in the package (checked against its recorded MD5s like any other file)."""
    images, labels = _read_pair(EMBEDDED_DIR, EMBEDDED[split], f"embedded {split}")
    return ArrayDataset(images[:, None], labels, name=f"MNIST {split} (embedded subset)", classes=CLASSES)


def load_mnist_splits(data_dir: Optional[PathLike] = None, limit: int = 0) -> Tuple[Any, Any, str]:
    """(train, test, where they came from). Full MNIST when all four files are there; otherwise the embedded subset
    for BOTH splits (never the embedded train set with the full test set), with one warning naming the files.
    ``limit``: the first N images of each split (0: all)."""
    folder = dataset_dir("mnist", data_dir)
    try:
        train, test = load_mnist("train", data_dir, fallback=False), load_mnist("test", data_dir, fallback=False)
        source = f"MNIST from {folder}"
    except MissingDataError:
        train, test = load_embedded_mnist("train"), load_embedded_mnist("test")
        missing = missing_files(folder, "train") + missing_files(folder, "test")
        warn_once(f"warning: {', '.join(missing)} not in {folder} (and not downloadable): training and testing on "
                  f"the embedded MNIST subset instead ({len(train):,} / {len(test):,} digits); for the full set, put the "
                  f"official .gz files in {folder}/, or point --data-dir / ${ENV_DATA} at a data root with mnist/, or "
                  "run once with internet access to download them")
        source = "the embedded MNIST subset"
    if limit:
        train, test = (Subset(d, np.arange(min(limit, len(d)))) for d in (train, test))
    return train, test, f"{source}: {len(train):,} train / {len(test):,} test images"

def stratified_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """``per_class`` indices of each label 0..9, drawn without replacement with ``seed``, sorted."""
    rng = np.random.default_rng(seed)
    picks = [rng.choice(np.flatnonzero(labels == c), size=per_class, replace=False) for c in range(10)]
    return np.sort(np.concatenate(picks))


def build_embedded_subset(src: PathLike, out: PathLike = EMBEDDED_DIR, n_train: int = 5000, n_test: int = 1000,
                          seed: int = 0) -> Dict[str, str]:
    """Write the embedded subset from a folder holding the official files; returns {file name: md5}.

    Stratified by class (n/10 digits of each), indices drawn with ``seed`` and kept in ascending order; the chosen
    indices are saved beside the images (``mnist-subset-indices.npz``) so the subset can be traced back.
    """
    from .root import md5sum  # noqa: PLC0415

    src, out = Path(src), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sums, chosen = {}, {}
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = _read_pair(src, FILES[split], split)
        idx = stratified_indices(labels, n // 10, seed + (split == "test"))
        chosen[split] = idx.astype(np.int32)
        for (name, _, _), arr in zip(EMBEDDED[split], (images[idx], labels[idx])):
            write_idx_gz(arr, out / name)
            sums[name] = md5sum(out / name)
    np.savez_compressed(out / (EMBEDDED_PREFIX + "indices.npz"), **chosen)
    return sums
