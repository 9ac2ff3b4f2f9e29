"""Checkpoints: model + optimiser + scheduler state and a JSON meta record in one .npz, written atomically.

The file is written to a temporary name in the same folder and moved into place with ``os.replace``, so a run
killed mid-write leaves the previous checkpoint intact, never a half-written file.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from .backend import to_device

PathLike = Union[str, Path]


def _flatten_optimizer(state: Dict[str, Any]) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    """Split an optimiser state_dict into arrays (for the npz) and plain values (for the JSON meta)."""
    arrays, plain = {}, {"param_groups": state["param_groups"], "state": {}}
    for index, entry in state["state"].items():
        plain["state"][str(index)] = {}
        for key, value in entry.items():
            if hasattr(value, "shape"):  # a NumPy or CuPy array
                arrays[f"optim/{index}/{key}"] = to_device(value, "cpu")
            else:
                plain["state"][str(index)][key] = value
    return arrays, plain


def _unflatten_optimizer(arrays: Dict[str, np.ndarray], plain: Dict[str, Any]) -> Dict[str, Any]:
    state: Dict[int, Dict[str, Any]] = {int(i): dict(v) for i, v in plain["state"].items()}
    for name, value in arrays.items():
        _, index, key = name.split("/", 2)
        state.setdefault(int(index), {})[key] = value
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else g for g in plain["param_groups"]]
    return {"state": state, "param_groups": groups}


def save_checkpoint(path: PathLike, model: Any, optimizer: Optional[Any] = None, scheduler: Optional[Any] = None,
                    meta: Optional[Dict[str, Any]] = None) -> Path:
    """Write ``model.state_dict()`` (keys 'model/<name>'), the optimiser and scheduler state, and ``meta``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    record: Dict[str, Any] = {"meta": meta or {}}
    if optimizer is not None:
        optim_arrays, record["optimizer"] = _flatten_optimizer(optimizer.state_dict())
        arrays.update(optim_arrays)
    if scheduler is not None:
        record["scheduler"] = scheduler.state_dict()
    arrays["record.json"] = np.frombuffer(json.dumps(record).encode(), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(path: PathLike, model: Any, optimizer: Optional[Any] = None,
                    scheduler: Optional[Any] = None) -> Dict[str, Any]:
    """Load what ``save_checkpoint`` wrote into the given objects; returns the meta record."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; pass the model.npz inside a run folder")
    with np.load(path) as f:
        if "record.json" not in f.files:
            raise ValueError(f"{path} is not a minitorch_deblur checkpoint (no record.json entry)")
        record = json.loads(bytes(f["record.json"]).decode())
        model.load_state_dict({k[len("model/"):]: f[k] for k in f.files if k.startswith("model/")})
        if optimizer is not None and "optimizer" in record:
            optimizer.load_state_dict(_unflatten_optimizer(
                {k: f[k] for k in f.files if k.startswith("optim/")}, record["optimizer"]))
    if scheduler is not None and "scheduler" in record:
        scheduler.load_state_dict(record["scheduler"])
    return record["meta"]
