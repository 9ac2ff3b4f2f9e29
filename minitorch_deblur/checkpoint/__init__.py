"""Checkpoints: model + optimiser + scheduler state and a JSON meta record in one .npz, written atomically.

The file is written to a temporary name in the same folder and moved into place with ``os.replace``, so a run
killed mid-write leaves the previous checkpoint intact, never a half-written file.

``strip_checkpoint`` keeps only the model weights and meta (what inference needs, a third of the size), and
``load_model`` rebuilds the model named in meta['model'] from its registry record. The command is __main__.py:

    python -m minitorch_deblur.checkpoint strip runs/cnn-seed0/model.npz minitorch_deblur/pretrained/cnn_mnist.npz
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from ..backend import to_device
from ..models.registry import REGISTRY

PathLike = Union[str, Path]


def _flatten_optimizer(state: Dict[str, Any], prefix: str = "optim/") -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    """Split an optimiser state_dict into arrays (for the npz, keys '<prefix><index>/<key>') and plain values (for
    the JSON meta)."""
    arrays, plain = {}, {"param_groups": state["param_groups"], "state": {}}
    for index, entry in state["state"].items():
        plain["state"][str(index)] = {}
        for key, value in entry.items():
            if hasattr(value, "shape"):  # a NumPy or CuPy array
                arrays[f"{prefix}{index}/{key}"] = to_device(value, "cpu")
            else:
                plain["state"][str(index)][key] = value
    return arrays, plain


def _unflatten_optimizer(arrays: Dict[str, np.ndarray], plain: Dict[str, Any], prefix: str = "optim/") -> Dict[str, Any]:
    state: Dict[int, Dict[str, Any]] = {int(i): dict(v) for i, v in plain["state"].items()}
    for name, value in arrays.items():
        if name.startswith(prefix):
            index, key = name[len(prefix):].split("/", 1)
            state.setdefault(int(index), {})[key] = value
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else g for g in plain["param_groups"]]
    return {"state": state, "param_groups": groups}


def _prefix(name: str) -> str:
    """Where an optimiser's arrays live in the npz: 'optim/' for the only one, 'optim/<name>/' for a named one."""
    return f"optim/{name}/" if name else "optim/"


def _named(objects: Any) -> Dict[str, Any]:
    """One optimiser / scheduler as {'': it}; a dict of them (a GAN's generator and discriminator) as is."""
    return dict(objects) if isinstance(objects, dict) else {"": objects}


def save_checkpoint(path: PathLike, model: Any, optimizer: Optional[Any] = None, scheduler: Optional[Any] = None,
                    meta: Optional[Dict[str, Any]] = None, average: Optional[Any] = None) -> Path:
    """Write ``model.state_dict()`` (keys 'model/<name>'), the optimiser and scheduler state, ``meta``, and an
    ``ExponentialMovingAverage``'s arrays (keys 'ema/<index>')."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    record: Dict[str, Any] = {"meta": meta or {}}
    if optimizer is not None:   # one optimiser, or a dict of them: record 'optimizer' {name: state}
        record["optimizer"] = {}
        for name, opt in _named(optimizer).items():
            optim_arrays, record["optimizer"][name] = _flatten_optimizer(opt.state_dict(), _prefix(name))
            arrays.update(optim_arrays)
    if scheduler:
        record["scheduler"] = {name: sch.state_dict() for name, sch in _named(scheduler).items() if sch is not None}
    if average is not None:
        state = average.state_dict()
        arrays.update({f"ema/{i}": to_device(a, "cpu") for i, a in enumerate(state.pop("shadow"))})
        record["ema"] = state
    return _write_npz(path, arrays, record)


def _write_npz(path: Path, arrays: Dict[str, np.ndarray], record: Dict[str, Any], compress: bool = False) -> Path:
    """Write ``arrays`` plus ``record`` (as the 'record.json' entry) to ``path`` atomically."""
    arrays = dict(arrays, **{"record.json": np.frombuffer(json.dumps(record).encode(), dtype=np.uint8)})
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            (np.savez_compressed if compress else np.savez)(f, **arrays)
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; a checkpoint is an ordinary file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(path: PathLike, model: Any, optimizer: Optional[Any] = None,
                    scheduler: Optional[Any] = None, average: Optional[Any] = None) -> Dict[str, Any]:
    """Load what ``save_checkpoint`` wrote into the given objects; returns the meta record."""
    path = Path(path)
    with _open_checkpoint(path) as f:
        record = _read_record(f)
        model.load_state_dict({k[len("model/"):]: f[k] for k in f.files if k.startswith("model/")})
        if average is not None:
            if "ema" not in record:
                raise ValueError(f"{path} holds no weight average (it was trained without --ema)")
            count = sum(k.startswith("ema/") for k in f.files)
            average.load_state_dict({**record["ema"], "shadow": [f[f"ema/{i}"] for i in range(count)]})
        if optimizer is not None and "optimizer" in record:
            arrays = {k: f[k] for k in f.files if k.startswith("optim/")}
            saved = record["optimizer"]
            saved = {"": saved} if "param_groups" in saved else saved     # written before optimisers had names
            for name, opt in _named(optimizer).items():
                opt.load_state_dict(_unflatten_optimizer(arrays, saved[name], _prefix(name)))
    if scheduler is not None and "scheduler" in record:
        saved = record["scheduler"]
        saved = {"": saved} if "last_epoch" in saved else saved
        for name, sch in _named(scheduler).items():
            if sch is not None:
                sch.load_state_dict(saved[name])
    return record["meta"]


def _open_checkpoint(path: Path) -> Any:
    """``np.load(path)`` after checking that the file exists and is a checkpoint."""
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; pass the model.npz inside a run folder")
    try:
        f = np.load(path)
    except (ValueError, OSError):
        f = None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is not a minitorch_deblur checkpoint (not an .npz file)")
    if "record.json" not in f.files:
        f.close()
        raise ValueError(f"{path} is not a minitorch_deblur checkpoint (no record.json entry)")
    return f


def _read_record(f: Any) -> Dict[str, Any]:
    """The JSON record (meta, optimizer, scheduler) of an open checkpoint."""
    return json.loads(bytes(f["record.json"]).decode())


def checkpoint_meta(path: PathLike) -> Dict[str, Any]:
    """The meta record of a checkpoint, e.g. {"epoch": 5, "history": {...}, "model": "cnn"}."""
    with _open_checkpoint(Path(path)) as f:
        return _read_record(f)["meta"]


def strip_checkpoint(src: PathLike, dst: PathLike, half: bool = False, drop: Sequence[str] = ()) -> Path:
    """Copy only the model weights and meta of ``src`` to ``dst`` (compressed): no optimiser, no scheduler.

    ``half`` stores floating weights as float16 (half the size; ``load_model`` casts them back to float32);
    ``drop`` leaves out the weights under these module names (a GAN's 'discriminator')."""
    src, dst = Path(src), Path(dst)
    with _open_checkpoint(src) as f:
        meta = _read_record(f)["meta"]
        arrays = {k: f[k] for k in f.files if k.startswith("model/")
                  and not any(k.startswith(f"model/{name}.") for name in drop)}
    if half:
        arrays = {k: v.astype(np.float16) if v.dtype.kind == "f" else v for k, v in arrays.items()}
        meta = dict(meta, stored="float16")
    if drop:
        meta = dict(meta, model_options={**meta.get("model_options", {}), **{name: False for name in drop}})
    dst.parent.mkdir(parents=True, exist_ok=True)
    return _write_npz(dst, arrays, {"meta": meta}, compress=True)


def load_model(path: PathLike, device: str = "cpu") -> Any:
    """Build the model named in the checkpoint's meta['model'] ('cnn', 'srcnn', ...) with its meta['model_options'],
    load its weights; eval mode."""
    meta = checkpoint_meta(path)
    name = meta.get("model")
    if name not in REGISTRY:
        raise ValueError(f"{path}: meta['model'] is {name!r}, not one of {', '.join(REGISTRY)}; was it written by "
                         "python -m minitorch_deblur.train?")
    model = REGISTRY[name].cls(**meta.get("model_options", {}))
    load_checkpoint(path, model)
    for key, value in model.state_dict().items():
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise ValueError(f"{path}: weight {key!r} holds NaN or infinite values, so every prediction would be "
                             "meaningless; it comes from a run that diverged: retrain with a lower --lr")
    return model.to(device).eval()

