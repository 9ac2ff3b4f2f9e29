"""``save`` and ``load`` for state dicts, PyTorch's ``torch.save(model.state_dict(), path)`` idiom.

A state dict (name -> array) is stored as a NumPy ``.npz`` file: no pickle, so loading a file runs no code.
Whole training runs (optimiser, schedule, history) are ``checkpoint.save_checkpoint``'s job.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Dict, Union

import numpy as np

from .backend import to_device

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
    with np.load(path, allow_pickle=False) as data:
        return OrderedDict((name, data[name]) for name in data.files)
