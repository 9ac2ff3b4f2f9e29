"""Datasets as arrays, and a DataLoader that cuts them into shuffled mini-batches.

A dataset is anything with ``len(ds)`` and ``ds[index_array] -> tuple of arrays`` (one row per index). Images are
kept as stored (uint8 NCHW, or a memory map) and turned into float32 in [0, 1] one batch at a time, so iterating an
epoch never copies the whole dataset: the loader only draws a permutation of the indices and fancy-indexes a batch.

    loader = DataLoader(load_mnist("train"), batch_size=64, shuffle=True, seed=0)
    for images, labels in loader:        # images (64, 1, 28, 28) float32 in [0, 1], labels (64,) int64
        logits = model(mt.tensor(images))
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Optional, Sequence, Tuple

import numpy as np

from ..backend import Generator, default_generator, to_device


def to_float(images: Any) -> np.ndarray:
    """uint8 in [0, 255] -> float32 in [0, 1]; float arrays are returned as float32 unchanged in value."""
    a = np.asarray(images)
    if a.dtype == np.uint8:
        out = a.astype(np.float32)
        out *= np.float32(1.0 / 255.0)  # in place: one float copy of the batch, not two
        return out
    return a.astype(np.float32, copy=False)


class ArrayDataset:
    """Rows of one or more arrays that share the first dimension, e.g. ``(images uint8 (N,C,H,W), labels (N,))``.

    ``ds[idx]`` returns a tuple: uint8 image arrays become float32 in [0, 1], labels become int64. Only the indexed
    rows are read, which also works for a read-only ``np.memmap`` (STL-10).
    """

    def __init__(self, *arrays: Any, name: str = "dataset", classes: Optional[Sequence[str]] = None) -> None:
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array")
        n = len(arrays[0])
        for i, a in enumerate(arrays):
            if len(a) != n:
                raise ValueError(f"ArrayDataset: array {i} has {len(a)} rows but array 0 has {n}; they must match")
        self.arrays = arrays
        self.name = name
        self.classes = list(classes) if classes is not None else None

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: Any) -> Tuple[np.ndarray, ...]:
        out = []
        for a in self.arrays:
            rows = a[index]
            if np.ndim(rows) <= 1 and np.issubdtype(np.asarray(rows).dtype, np.integer):
                out.append(np.asarray(rows, dtype=np.int64))  # labels
            else:
                out.append(to_float(rows))
        return tuple(out)

    @property
    def images(self) -> Any:
        """The stored image array (uint8, not copied)."""
        return self.arrays[0]

    @property
    def labels(self) -> Optional[np.ndarray]:
        """The label array, or None for an unlabelled dataset."""
        return self.arrays[1] if len(self.arrays) > 1 else None

    def __repr__(self) -> str:
        shapes = ", ".join(f"{a.dtype}{tuple(a.shape)}" for a in self.arrays)
        return f"ArrayDataset({self.name}: {shapes})"


class Subset:
    """The rows ``indices`` of another dataset (no copy)."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: Any) -> Tuple[np.ndarray, ...]:
        return self.dataset[self.indices[index]]


def random_split(dataset: Any, fraction: float, seed: int = 0) -> Tuple[Subset, Subset]:
    """Split into (first, second) with ``round(fraction * N)`` rows in the second, chosen by a seeded permutation.

    Course B holds out 10% of the training set for validation: ``train, val = random_split(ds, 0.1, seed=0)``.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"random_split: fraction must be in [0, 1], got {fraction}")
    perm = np.random.default_rng(seed).permutation(len(dataset))
    k = int(round(fraction * len(dataset)))
    return Subset(dataset, np.sort(perm[k:])), Subset(dataset, np.sort(perm[:k]))


def _as_dataset(data: Any) -> Any:
    """A dataset as the loader wants it (``ds[index_array] -> tuple of arrays``): datasets pass through; a tuple of
    arrays becomes ``ArrayDataset(*arrays)``; a list of ``(x, y)`` pairs is stacked into one array per field."""
    if isinstance(data, tuple) and data and all(hasattr(a, "shape") for a in data):
        return ArrayDataset(*data)
    if isinstance(data, list) and data and isinstance(data[0], (tuple, list)):
        fields = len(data[0])
        if any(len(item) != fields for item in data):
            raise ValueError(f"DataLoader: every item of the list must have {fields} fields, like the first")
        return ArrayDataset(*(np.stack([np.asarray(item[k]) for item in data]) for k in range(fields)))
    if isinstance(data, list):
        raise TypeError("DataLoader: a list must hold (x, y) pairs; for a plain array of samples pass "
                        "ArrayDataset(array) or a tuple (images, labels)")
    return data


class DataLoader:
    """Mini-batches of a dataset: seeded shuffling, ``drop_last``, an optional transform, device transfer.

    Args:
        dataset: ``len(ds)`` and ``ds[index_array] -> tuple of arrays``; or a tuple of arrays ``(x, y)``, or a
            list of ``(x, y)`` pairs (stacked once), as with PyTorch's TensorDataset and lists.
        batch_size: rows per batch; the last batch is smaller unless ``drop_last``.
        shuffle: draw a new permutation every epoch from the loader's generator (reproducible for a seed).
        seed / generator: the shuffling randomness (``backend.Generator``); default: the global generator.
        transform: called on the first array of each batch (the images). It returns an array, or a tuple of
            arrays that replaces it (e.g. ``lambda x: (blur(x), x)`` gives ``(degraded, clean, *rest)`` batches).
        device: 'cpu' or 'cuda': every array of the batch is moved there (``backend.to_device``).

    Yields tuples of raw arrays (the training code wraps them as Tensors).
    """

    def __init__(self, dataset: Any, batch_size: int = 64, shuffle: bool = False, seed: Optional[int] = None,
                 generator: Optional[Generator] = None, drop_last: bool = False,
                 transform: Optional[Callable[[Any], Any]] = None, device: str = "cpu") -> None:
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: pass seed or generator, not both")
        self.dataset = _as_dataset(dataset)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.generator = generator if generator is not None else (Generator(seed) if seed is not None else None)
        self.drop_last = drop_last
        self.transform = transform
        self.device = device

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def batch_indices(self) -> Iterator[np.ndarray]:
        """The index arrays of one epoch (a fresh permutation each call when shuffling)."""
        n = len(self.dataset)
        if self.shuffle:
            order = (self.generator or default_generator()).permutation(n)
        else:
            order = np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            yield order[start:start + self.batch_size]

    def __iter__(self) -> Iterator[Tuple[Any, ...]]:
        for idx in self.batch_indices():
            batch = self.dataset[idx]
            if not isinstance(batch, tuple):
                batch = (batch,)
            if self.transform is not None:
                first = self.transform(batch[0])
                batch = (tuple(first) if isinstance(first, tuple) else (first,)) + tuple(batch[1:])
            if self.device != "cpu":
                batch = tuple(to_device(a, self.device) for a in batch)
            yield batch

