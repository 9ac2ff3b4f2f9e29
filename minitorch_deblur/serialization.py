"""``save`` and ``load`` for state dicts, PyTorch's ``torch.save(model.state_dict(), path)`` idiom.

A state dict (name -> array) is stored as a NumPy ``.npz`` file: no pickle, so loading a file runs no code.
Whole training runs (optimiser, schedule, history) are ``checkpoint.save_checkpoint``'s job.

Files are read through ``NpzReader``: each array's shape and dtype come from its ``.npy`` header before any of its
data is decompressed, so a small hostile file declaring a huge array is refused at once, and a truncated or corrupt
file raises one ``CheckpointError`` naming it.
"""
from __future__ import annotations

import math
import os
import zipfile
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Tuple, Union

import numpy as np

from .backend import to_device
from .errors import CheckpointError

PathLike = Union[str, "os.PathLike[str]"]


def save(state_dict: Dict[str, Any], path: PathLike) -> None:
    """Write ``{name: array or Tensor}`` to ``path`` (an .npz file; arrays come back to the CPU first)."""
    if not isinstance(state_dict, dict):
        raise TypeError(f"save: only state dicts (name -> array) are saved here, got {type(state_dict).__name__}; "
                        "save model.state_dict(), or a whole run with checkpoint.save_checkpoint")
    arrays = {}
    for name, value in state_dict.items():
        value = getattr(value, "data", value)
        if not hasattr(value, "shape"):
            raise TypeError(f"save: {name!r} is a {type(value).__name__}, not an array; a state dict holds arrays")
        arrays[name] = to_device(value, "cpu")
    with open(path, "wb") as f:   # a file object, so NumPy does not append '.npz' to the name
        np.savez(f, **arrays)


def load(path: PathLike) -> "OrderedDict[str, np.ndarray]":
    """The state dict saved at ``path``, in its saved order: pass it to ``model.load_state_dict``."""
    with NpzReader(path, "state dict") as npz:
        return OrderedDict((name, npz.read(name)) for name in npz.names)


# An array larger than this is refused when the model it belongs to is not known: 64 times the largest weight of
# any model here (a U-Net conv, 4 MiB), far below what a compressed hostile file can declare.
MAX_ARRAY_BYTES = 256 << 20


class MissingCheckpoint(CheckpointError, FileNotFoundError):
    """The file to load does not exist."""


class Header(NamedTuple):
    """What an .npy header declares: the array's shape, dtype and memory order."""

    shape: Tuple[int, ...]
    dtype: np.dtype
    fortran: bool

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


class NpzReader:
    """An .npz file read one array at a time with bounded memory: ``header(name)`` reads the shape and dtype from the
    array's .npy header only, ``read(name)`` refuses an array over ``max_bytes`` before decompressing its data."""

    def __init__(self, path: PathLike, what: str = "state dict") -> None:
        self.path, self.what = Path(path), what
        if not self.path.is_file():
            raise MissingCheckpoint(f"{what} {self.path} does not exist")
        self._headers: Dict[str, Header] = {}
        with self._reading("its zip directory"):
            self._zip = zipfile.ZipFile(self.path)
        self.names: List[str] = [n[:-len(".npy")] for n in self._zip.namelist() if n.endswith(".npy")]

    def __enter__(self) -> "NpzReader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def header(self, name: str) -> Header:
        """The shape and dtype that array ``name`` declares, read without decompressing its data."""
        if name not in self._headers:
            with self._reading(f"the header of {name!r}"), self._zip.open(f"{name}.npy") as fp:
                self._headers[name] = self._parse_header(name, fp)
        return self._headers[name]

    def read(self, name: str, max_bytes: int = MAX_ARRAY_BYTES) -> np.ndarray:
        """Array ``name``; refused before its data is read when it declares more than ``max_bytes``."""
        header = self.header(name)
        if header.nbytes > max_bytes:
            raise CheckpointError(f"{self.path}: array {name!r} declares shape {header.shape} of {header.dtype} "
                                  f"({header.nbytes / 2**20:,.0f} MiB), more than the {max_bytes / 2**20:,.0f} MiB "
                                  f"any {self.what} here needs; the file is damaged or hostile: refused")
        with self._reading(f"the data of {name!r}"), self._zip.open(f"{name}.npy") as fp:
            self._parse_header(name, fp)
            data = _read_exactly(fp, header.nbytes)
            if fp.read(1):   # reading to the end also checks the member's CRC
                raise ValueError(f"data after the {header.nbytes} bytes its header declares")
        array = np.frombuffer(data, dtype=header.dtype)
        return array.reshape(header.shape[::-1]).T if header.fortran else array.reshape(header.shape)

    def _parse_header(self, name: str, fp: Any) -> Header:
        version = np.lib.format.read_magic(fp)
        readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in readers:
            raise ValueError(f".npy format version {version} (this reader knows 1.0 and 2.0)")
        shape, fortran, dtype = readers[version](fp)
        if dtype.hasobject or dtype.kind not in "biuf" or any(n < 0 for n in shape):
            raise CheckpointError(f"{self.path}: array {name!r} is {dtype} of shape {shape}, not numbers; a "
                                  f"{self.what} holds numeric arrays only (no pickled objects): refused")
        return Header(tuple(shape), dtype, fortran)

    @contextmanager
    def _reading(self, part: str) -> Iterator[None]:
        """Turn any failure while reading ``part`` of the file into one CheckpointError naming the file."""
        try:
            yield
        except CheckpointError:
            raise
        except Exception as error:  # noqa: BLE001 (hostile bytes can fail anywhere in zipfile, zlib or NumPy's parser)
            raise CheckpointError(f"{self.path} is truncated or corrupt: cannot read {part} ({type(error).__name__}: "
                                  f"{str(error)[:200]}); copy the file again, or re-make it with the command that "
                                  "wrote it") from error


def _read_exactly(fp: Any, count: int, chunk: int = 1 << 20) -> bytearray:
    """``count`` bytes from ``fp``, read in chunks (never a second copy of the whole); EOFError if fewer."""
    data, got = bytearray(count), 0
    view = memoryview(data)
    while got < count:
        block = fp.read(min(chunk, count - got))
        if not block:
            raise EOFError(f"the data ends after {got} of the {count} bytes its header declares")
        view[got:got + len(block)] = block
        got += len(block)
    return data
