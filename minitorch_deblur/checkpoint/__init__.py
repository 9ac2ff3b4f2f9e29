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
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple, Union

import numpy as np

from ..backend import resolve_device, to_device
from ..errors import CheckpointError, UserError
from ..models.registry import REGISTRY, check_options
from ..nn.module import state_dict_problems
from ..serialization import MissingCheckpoint, NpzReader

PathLike = Union[str, Path]
FORMAT_VERSION = 1        # the record's 'format_version'; a file without one is version 1
RECORD_MAX_BYTES = 64 << 20   # record.json (meta, history, optimiser scalars) is kilobytes; more is not a checkpoint


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
    """Write ``arrays`` plus ``record`` and its format version (as the 'record.json' entry) to ``path`` atomically."""
    record = {**record, "format_version": FORMAT_VERSION}
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
    """Load what ``save_checkpoint`` wrote into the given objects; returns the meta record.

    Every array's shape is read from its header and checked against ``model`` before any data is read."""
    path = Path(path)
    with _open_checkpoint(path) as f:
        record = _read_record(f)
        model.load_state_dict(_read_weights(f, model))
        if average is not None:
            if "ema" not in record:
                raise CheckpointError(f"{path} holds no weight average (it was trained without --ema): drop --ema, "
                                      "or resume a run trained with it")
            count = sum(k.startswith("ema/") for k in f.names)
            with _fitting(path, "weight average"):
                average.load_state_dict({**record["ema"], "shadow": [f.read(f"ema/{i}") for i in range(count)]})
        if optimizer is not None and "optimizer" in record:
            arrays = {k: f.read(k) for k in f.names if k.startswith("optim/")}
            saved = record["optimizer"]
            with _fitting(path, "optimiser state"):
                saved = {"": saved} if "param_groups" in saved else saved     # written before optimisers had names
                for name, opt in _named(optimizer).items():
                    opt.load_state_dict(_unflatten_optimizer(arrays, saved[name], _prefix(name)))
    if scheduler is not None and "scheduler" in record:
        with _fitting(path, "lr scheduler state"):
            saved = record["scheduler"]
            saved = {"": saved} if "last_epoch" in saved else saved
            for name, sch in _named(scheduler).items():
                if sch is not None:
                    sch.load_state_dict(saved[name])
    return record["meta"]


@contextmanager
def _fitting(path: Path, part: str) -> Iterator[None]:
    """A ``part`` of the record that does not fit the run's objects becomes one CheckpointError."""
    try:
        yield
    except CheckpointError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        raise CheckpointError(f"{path}: its {part} does not fit this run ({type(error).__name__}: "
                              f"{str(error)[:200]}); resume it with the options it was trained with, or start a new "
                              "run from its weights with --init") from error


def _read_weights(f: NpzReader, model: Any) -> Dict[str, np.ndarray]:
    """The 'model/' arrays of ``f``, after checking every name and shape against ``model`` from the headers alone."""
    given = {k[len("model/"):]: f.header(k).shape for k in f.names if k.startswith("model/")}
    problems = state_dict_problems({k: v.shape for k, v in model.state_dict().items()}, given)
    if problems:
        raise CheckpointError(f"{f.path} does not fit {type(model).__name__}: {problems}; pass a checkpoint of this "
                              "model, built with the same model options")
    return {k: f.read(f"model/{k}") for k in given}


def _open_checkpoint(path: Path) -> NpzReader:
    """The checkpoint at ``path``, opened, after checking that it exists and is one."""
    if not path.is_file():
        raise MissingCheckpoint(f"checkpoint {path} does not exist; pass the model.npz inside a run folder")
    f = NpzReader(path, "checkpoint")
    if "record.json" not in f.names:
        f.close()
        raise CheckpointError(f"{path} is not a minitorch_deblur checkpoint (no record.json entry); pass the model.npz "
                              "that python -m minitorch_deblur.train writes")
    return f


def _read_record(f: NpzReader) -> Dict[str, Any]:
    """The JSON record (meta, optimizer, scheduler) of an open checkpoint, checked: a dict with a dict 'meta', of a
    format version this code reads."""
    raw = f.read("record.json", RECORD_MAX_BYTES)
    try:
        record = json.loads(raw.tobytes().decode())
    except (ValueError, RecursionError) as error:   # bad UTF-8 or JSON
        raise CheckpointError(f"{f.path}: its record.json is not valid JSON ({str(error)[:200]}); the file is "
                              "damaged: copy it again, or re-make it with the command that wrote it") from error
    version = record.get("format_version", 1) if isinstance(record, dict) else None
    if not isinstance(record, dict) or not isinstance(record.get("meta"), dict) or type(version) is not int \
            or version < 1:
        raise CheckpointError(f"{f.path}: its record.json is not a checkpoint record (a JSON object with a 'meta' "
                              "object and an integer 'format_version' of 1 or more); the file is damaged or was not "
                              "written by minitorch_deblur")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{f.path} is checkpoint format version {version}, newer than the version "
                              f"{FORMAT_VERSION} this minitorch_deblur reads; update minitorch_deblur, or re-save it "
                              "with the version that wrote it")
    if not isinstance(record["meta"].get("model_options", {}), dict):
        raise CheckpointError(f"{f.path}: its meta 'model_options' is not a JSON object of option -> value; the file "
                              "is damaged")
    return record


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
        arrays = {k: f.read(k) for k in f.names if k.startswith("model/")
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
    checked against the registry's ranges before building; load its weights; eval mode; every parameter and buffer
    on ``device`` ('auto' resolved first: the CPU without a usable GPU)."""
    meta = checkpoint_meta(path)
    name, options = meta.get("model"), meta.get("model_options", {})
    if name not in REGISTRY:
        raise CheckpointError(f"{path}: meta['model'] is {name!r}, not one of {', '.join(REGISTRY)}; was it written "
                              "by python -m minitorch_deblur.train?")
    try:
        check_options(name, options)
    except UserError as error:
        raise CheckpointError(f"{path}: its record asks for {error}; the file is damaged or was not written by "
                              "python -m minitorch_deblur.train") from None
    model = REGISTRY[name].cls(**options)
    load_checkpoint(path, model)
    for key, value in model.state_dict().items():
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise CheckpointError(f"{path}: weight {key!r} holds NaN or infinite values, so every prediction would be "
                                  "meaningless; it comes from a run that diverged: retrain with a lower --lr")
    return model.to(resolve_device(device)).eval()
