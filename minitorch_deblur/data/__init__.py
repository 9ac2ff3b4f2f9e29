"""Datasets in their official formats, a mini-batch loader, and seeded degradations.

    from minitorch_deblur.data import load_mnist, DataLoader
    for images, labels in DataLoader(load_mnist("train"), batch_size=64, shuffle=True, seed=0):
        ...

Data root: ``--data-dir``, else ``$MINITORCH_DEBLUR_DATA``, else ``~/.cache/minitorch_deblur`` (see root.py).
Importing this package needs NumPy only; Pillow and tqdm are imported inside the functions that use them.
"""
from .cifar10 import load_cifar10
from .loader import ArrayDataset, DataLoader, Subset, random_split, to_float
from .mnist import load_embedded_mnist, load_mnist
from .photos import load_photos
from .root import (ChecksumError, DataError, MissingDataError, PartialDataError, data_root, dataset_dir,
                   verify_file)
from .stl10 import load_stl10

__all__ = [
    "ArrayDataset", "ChecksumError", "DataError", "DataLoader", "MissingDataError", "PartialDataError", "Subset",
    "data_root", "dataset_dir", "load_cifar10", "load_embedded_mnist", "load_mnist", "load_photos", "load_stl10",
    "random_split", "to_float", "verify_file",
]
