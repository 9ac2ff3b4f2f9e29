"""Hostile checkpoints (issue 23, sections 3 and 4): every bad file is one CheckpointError naming it, refused before
it costs memory or builds a model."""
from __future__ import annotations

import dataclasses
import io
import json
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from minitorch_deblur import checkpoint, serialization
from minitorch_deblur.errors import CheckpointError, UserError
from minitorch_deblur.models import SRCNN
from minitorch_deblur.models.registry import REGISTRY, check_options

ROOT = Path(__file__).resolve().parent.parent
SRCNN_META = {"model": "srcnn", "model_options": {}, "task": "restore"}


@pytest.fixture
def good(tmp_path):
    """A small SRCNN checkpoint, as train writes it."""
    return checkpoint.save_checkpoint(tmp_path / "model.npz", SRCNN(), meta=SRCNN_META)


def write_npz(path: Path, record, **arrays) -> Path:
    """An .npz with ``arrays`` and ``record`` (a dict, or raw bytes) as its record.json entry."""
    raw = record if isinstance(record, bytes) else json.dumps(record).encode()
    with open(path, "wb") as f:
        np.savez(f, **arrays, **{"record.json": np.frombuffer(raw, dtype=np.uint8)})
    return path


def loaders(path: Path, tmp_path: Path):
    """Every way to read a checkpoint, each a thunk."""
    return {"load_checkpoint": lambda: checkpoint.load_checkpoint(path, SRCNN()),
            "checkpoint_meta": lambda: checkpoint.checkpoint_meta(path),
            "load_model": lambda: checkpoint.load_model(path),
            "strip_checkpoint": lambda: checkpoint.strip_checkpoint(path, tmp_path / "stripped.npz"),
            "serialization.load": lambda: serialization.load(path)}


def assert_refused(thunk, path: Path, *words: str) -> str:
    with pytest.raises(CheckpointError) as error:
        thunk()
    text = str(error.value)
    assert str(path) in text and "\n" not in text, text
    for word in words:
        assert word in text, text
    return text


# ------------------------------------------------------------------------------------------ damaged files
@pytest.mark.parametrize("keep", [0.5, 0.99, 100])
def test_a_truncated_checkpoint_is_one_error_naming_the_file(good, tmp_path, keep):
    data = good.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[:int(len(data) * keep) if keep < 1 else keep])
    for name, thunk in loaders(cut, tmp_path).items():
        assert_refused(thunk, cut, "truncated or corrupt")


def test_random_bytes_are_one_error(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    for thunk in loaders(path, tmp_path).values():
        assert_refused(thunk, path, "truncated or corrupt")


def test_corrupt_compressed_data_is_one_error(good, tmp_path):
    stripped = checkpoint.strip_checkpoint(good, tmp_path / "s.npz")
    data = bytearray(stripped.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)       # inside a weight's deflate stream; the zip directory stays intact
    stripped.write_bytes(bytes(data))
    assert_refused(lambda: checkpoint.load_model(stripped), stripped, "truncated or corrupt")


def test_a_bad_npy_header_is_one_error(tmp_path):
    path = tmp_path / "header.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("record.json.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': garbage")
    for thunk in loaders(path, tmp_path).values():
        assert_refused(thunk, path, "record.json")


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "pickle.npz"
    with open(path, "wb") as f:
        np.savez(f, **{"record.json": np.array([{"meta": {}}], dtype=object)})
    assert_refused(lambda: checkpoint.checkpoint_meta(path), path, "no pickled objects")


def test_a_missing_checkpoint_is_still_a_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        checkpoint.load_model(tmp_path / "none.npz")
    with pytest.raises(CheckpointError):
        serialization.load(tmp_path / "none.npz")


# ------------------------------------------------------------------------------------------ the record
@pytest.mark.parametrize("record, words", [
    (b"{not json", ["not valid JSON"]), (b"\xff\xfe", ["not valid JSON"]),
    ([1, 2], ["not a checkpoint record"]), ({"meta": "srcnn"}, ["not a checkpoint record"]),
    ({"optimizer": {}}, ["not a checkpoint record"]),
    ({"meta": {}, "format_version": "1"}, ["integer 'format_version'"]),
    ({"meta": {}, "format_version": 0}, ["'format_version' of 1 or more"]),
    ({"meta": {}, "format_version": True}, ["integer 'format_version'"]),
    (b"[" * 100_000 + b"]" * 100_000, ["not valid JSON"]),
    ({"meta": {"model": "srcnn", "model_options": [1]}}, ["model_options"]),
])
def test_a_malformed_record_is_one_error(tmp_path, record, words):
    path = write_npz(tmp_path / "bad.npz", record)
    assert_refused(lambda: checkpoint.checkpoint_meta(path), path, *words)
    assert_refused(lambda: checkpoint.load_model(path), path, *words)


def test_a_future_format_version_is_refused_naming_both(good, tmp_path):
    weights = {f"model/{k}": v for k, v in SRCNN().state_dict().items()}
    path = write_npz(tmp_path / "future.npz", {"meta": SRCNN_META, "format_version": 7}, **weights)
    text = assert_refused(lambda: checkpoint.load_model(path), path, "format version 7")
    assert f"version {checkpoint.FORMAT_VERSION} this minitorch_deblur reads" in text


def test_the_format_version_is_written_and_an_absent_one_is_the_first(good, tmp_path):
    with np.load(good) as f:
        assert json.loads(bytes(f["record.json"]))["format_version"] == checkpoint.FORMAT_VERSION
    weights = {f"model/{k}": v for k, v in SRCNN().state_dict().items()}
    old = write_npz(tmp_path / "old.npz", {"meta": SRCNN_META}, **weights)
    assert isinstance(checkpoint.load_model(old), SRCNN)


# ------------------------------------------------------------------------------------------ weights that do not fit
def test_a_mis_shaped_key_names_the_key_and_both_shapes(tmp_path):
    path = checkpoint.save_checkpoint(tmp_path / "m.npz", SRCNN(mapping_kernel=3), meta=SRCNN_META)
    text = assert_refused(lambda: checkpoint.load_model(path), path, "mis-shaped keys: map")
    assert "model expects (32, 64, 1, 1), checkpoint has (32, 64, 3, 3)" in text


def test_missing_and_extra_keys_are_named(good, tmp_path):
    with np.load(good) as f:
        arrays = {k: f[k] for k in f.files if k != "record.json"}
    bias = next(k for k in arrays if k.endswith("bias"))
    arrays.pop(bias)
    arrays["model/extra.weight"] = np.zeros(3, np.float32)
    path = write_npz(tmp_path / "keys.npz", {"meta": SRCNN_META}, **arrays)
    assert_refused(lambda: checkpoint.load_model(path), path, f"missing keys: {bias[len('model/'):]}",
                   "unexpected keys: extra.weight")


def test_load_state_dict_mismatch_is_a_one_line_runtime_and_checkpoint_error():
    state = SRCNN().state_dict()
    state["features.weight"] = np.zeros((1, 2), np.float32)
    with pytest.raises(RuntimeError) as error:
        SRCNN().load_state_dict(state)
    assert isinstance(error.value, CheckpointError) and "\n" not in str(error.value)
    assert "features.weight: model expects (64, 3, 9, 9), checkpoint has (1, 2)" in str(error.value)


# ------------------------------------------------------------------------------------------ memory on hostile files
def write_bomb(path: Path, key: str, shape=(1, 1, 32768, 32768), dtype="|u1") -> Path:
    """A checkpoint whose ``key`` declares ``shape`` (1 GiB as uint8) of zeros in about 1 MB: the deflate stream is one
    flushed block of 1 MiB of zeros, repeated (never allocated whole), written into the zip by hand. Its CRC is 0:
    a reader that decompresses the whole member before checking anything finds that out last."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": dtype, "fortran_order": False, "shape": shape})
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(header.getvalue()) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush()
    size = len(header.getvalue()) + int(np.prod(shape)) * np.dtype(dtype).itemsize
    count = size >> 20
    packed = len(head) + count * len(block) + len(tail)
    name = f"{key}.npy".encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, 0, packed, size, len(name), 0) + name)
        f.write(head)
        for _ in range(count):
            f.write(block)
        f.write(tail)
        directory = f.tell()
        f.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, 0, packed, size, len(name),
                            0, 0, 0, 0, 0, 0) + name)
        end = f.tell()
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, end - directory, directory, 0))
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("record.json.npy", _npy(json.dumps({"meta": SRCNN_META}).encode()))
    return path


def _npy(raw: bytes) -> bytes:
    out = io.BytesIO()
    np.save(out, np.frombuffer(raw, dtype=np.uint8))
    return out.getvalue()


MEASURE = """
import resource, sys, time
from minitorch_deblur import checkpoint
from minitorch_deblur.errors import CheckpointError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    {call}
except CheckpointError as error:
    print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
    print(error)
"""


@pytest.mark.parametrize("call", ["checkpoint.load_model(sys.argv[1])",
                                  "checkpoint.strip_checkpoint(sys.argv[1], sys.argv[1] + '.out')"])
def test_a_huge_declared_array_is_refused_from_its_header_fast_and_small(tmp_path, call):
    bomb = write_bomb(tmp_path / "bomb.npz", "model/features.weight")
    assert bomb.stat().st_size < 2 << 20
    with zipfile.ZipFile(bomb) as z:     # a valid zip: what np.load would decompress is 1 GiB
        assert z.getinfo("model/features.weight.npy").file_size > 1 << 30
    run = subprocess.run([sys.executable, "-c", MEASURE.format(call=call), str(bomb)], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    lines = run.stdout.splitlines()
    assert run.returncode == 0 and len(lines) == 2, run.stdout + run.stderr
    seconds, kib = map(float, lines[0].split())
    assert seconds < 1 and kib < 50_000, (seconds, kib)        # under a second, under 50 MB more memory
    assert "(1, 1, 32768, 32768)" in lines[1] and str(bomb) in lines[1]


# ------------------------------------------------------------------------------------------ model options
@pytest.mark.parametrize("model, options, words", [
    ("srcnn", {"mapping_layers": 10 ** 6}, "mapping_layers must be a whole number from 1 to 32, got 1000000"),
    ("srcnn", {"mapping_kernel": 4}, "mapping_kernel must be one of 1, 3, 5, got 4"),
    ("srcnn", {"padding_mode": "circular"}, "padding_mode must be one of zeros, reflect, replicate"),
    ("win5rb", {"paper": "yes"}, "paper must be true or false, got 'yes'"),
    ("deblurgan", {"dropout": 5}, "dropout must be a number in [0, 1), got 5"),
    ("deblurgan", {"upsample": "x" * 10 ** 6}, "upsample must be one of transpose, resize, got 'xxx"),
    ("cae", {"width": 9}, "cae has no option 'width'; it takes no options"),
    ("srcnn", {"depth": 9}, "srcnn has no option 'depth'; its options are residual, padding_mode"),
])
def test_an_absurd_or_unknown_option_is_refused_before_building(tmp_path, monkeypatch, model, options, words):
    def build(**_):
        raise AssertionError("the model was built")
    monkeypatch.setitem(REGISTRY, model, dataclasses.replace(REGISTRY[model], cls=build))
    path = write_npz(tmp_path / "options.npz", {"meta": {"model": model, "model_options": options}})
    text = assert_refused(lambda: checkpoint.load_model(path), path, words)
    assert len(text) < 400
    with pytest.raises(UserError, match="must be|has no option"):
        check_options(model, options)


def test_the_options_of_every_shipped_recipe_pass():
    check_options("srcnn", {"residual": True, "padding_mode": "reflect", "mapping_kernel": 3, "mapping_layers": 5})
    check_options("deblurgan", {"upsample": "resize", "residual": True, "dropout": 0.5, "discriminator": False})
    check_options("win5rb", {"paper": True, "zero_init_residual": False})
    with pytest.raises(UserError, match="no model named 'nope'"):
        check_options("nope", {})


# ------------------------------------------------------------------------------------------ the commands
def run_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.fixture
def truncated(good, tmp_path):
    cut = tmp_path / "truncated.npz"
    cut.write_bytes(good.read_bytes()[:2000])
    return cut


def assert_one_line(run: subprocess.CompletedProcess, path: Path) -> None:
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr, run.stderr
    assert str(path) in run.stderr and "truncated or corrupt" in run.stderr


def test_deblur_given_a_truncated_checkpoint_prints_one_line_and_exits_2(truncated, tmp_path):
    from PIL import Image
    photo = tmp_path / "x.png"
    Image.new("RGB", (16, 16)).save(photo)
    run = run_command("minitorch_deblur.deblur", str(photo), "--checkpoint", str(truncated),
                      "-o", str(tmp_path / "o.png"))
    assert_one_line(run, truncated)


def test_strip_given_a_truncated_checkpoint_prints_one_line_and_exits_2(truncated, tmp_path):
    assert_one_line(run_command("minitorch_deblur.checkpoint", "strip", str(truncated), str(tmp_path / "s.npz")),
                    truncated)
