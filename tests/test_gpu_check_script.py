"""The prepared device command (benchmarks/gpu_check.sh) in its quick CPU mode, the GPU table of
benchmarks/train_step.py with canned results, and the TF32 switch (backend.use_tf32, train --tf32) on the CPU.

The script's first device run must not be its first run: here it runs with QUICK=1 DEVICE=cpu (one test file, one
training smoke, deblur, evaluate, one model benchmarked) and must print one summary line per step and leave at most
8 files in $OUT, the device tool's limit.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from minitorch_deblur import backend, train

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import timing  # noqa: E402
import train_step  # noqa: E402

STEPS = ("data", "pytest", "train_mlp", "deblur", "evaluate", "evaluate_on_cpu", "bench_fp32", "bench_tf32")


def test_quick_cpu_mode_runs_every_step_and_leaves_at_most_8_files(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, QUICK="1", DEVICE="cpu", OUT=str(out), PYTHON=sys.executable)
    env.pop("MINITORCH_DEBLUR_TEST_DEVICE", None)
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh")], env=env, capture_output=True,
                          text=True, timeout=240)
    summary = (out / "summary.txt").read_text()
    assert done.returncode == 0, summary + done.stderr[-2000:]
    for name in STEPS:
        line = next((x for x in summary.splitlines() if x.startswith(f"{name}: ")), None)
        assert line is not None, f"no summary line for {name}:\n{summary}"
        assert re.match(rf"{name}: (ok \(exit 0, \d+ s\)|skipped)", line), line
    assert re.search(r"^pytest: ok .*\d+ passed", summary, re.M)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert 1 <= len(files) <= 8 and all(re.fullmatch(r"[A-Za-z0-9._-]+", p.name) for p in files), files
    bench = json.loads((out / "bench_fp32.json").read_text())
    assert [row["model"] for row in bench["rows"]] == ["mlp"] and bench["rows"][0]["ours"]["ms"] > 0
    assert "done: " in summary.splitlines()[-1]


def test_the_gpu_table_reports_ratio_tflops_memory_and_launches(monkeypatch, capsys, tmp_path):
    ours = {"ms": 20.0, "peak_mb": 300.0, "launches": 560, "copies": 3, "gpu": "NVIDIA H200", "version": "14.2.0"}
    theirs = {"ms": 4.0, "peak_mb": 120.0, "launches": 90, "copies": 0, "gflop": 3.0, "version": "2.11.0"}
    monkeypatch.setattr(train_step, "run_child", lambda lib, *a: ours if lib == "ours" else theirs)
    args = types.SimpleNamespace(tf32=True, seconds=0.5, no_torch=False, json=str(tmp_path / "b.json"))
    train_step.gpu_table([("cnn", 64)], args)
    text = capsys.readouterr().out
    assert "TF32 on both sides" in text and "CuPy 14.2.0 on NVIDIA H200" in text and "PyTorch 2.11.0 on" in text
    row = next(line for line in text.splitlines() if line.startswith("| cnn"))
    assert [c.strip() for c in row.strip("|").split("|")] == [
        "cnn", "64", "3.00", "20.00", "4.00", "5.00x", "0.15", "0.75", "300 / 120", "560 / 90", "3 / 0"]
    saved = json.loads((tmp_path / "b.json").read_text())
    assert saved["tf32"] is True and saved["rows"][0]["ours"]["launches"] == 560


def test_a_library_that_fails_leaves_a_row_that_says_so(monkeypatch, capsys):
    monkeypatch.setattr(train_step, "run_child", lambda lib, *a: None)
    args = types.SimpleNamespace(tf32=False, seconds=1.0, no_torch=False, json="")
    train_step.gpu_table([("gan", 32)], args)
    assert "| gan | 32 | ours failed: its error is above |" in capsys.readouterr().out


def test_device_rounds_synchronise_before_and_after_each_round():
    events = []
    best, median = timing.device_rounds(lambda: events.append("step"), lambda: events.append("sync"), calls=3,
                                        rounds=2)
    assert events == ["sync", "step", "step", "step", "sync"] * 2 and 0 <= best <= median


@pytest.fixture
def tf32_state(monkeypatch):
    """Restore the switch and $CUPY_TF32 after the test."""
    monkeypatch.setattr(backend, "_tf32", backend._tf32)
    monkeypatch.setenv("CUPY_TF32", os.environ.get("CUPY_TF32", "0"))


def test_use_tf32_sets_cupys_compute_type_and_the_variable(tf32_state, monkeypatch):
    calls = []
    linalg = types.SimpleNamespace(COMPUTE_TYPE_DEFAULT=1, COMPUTE_TYPE_TF32=7,
                                   set_compute_type=lambda dtype, kind: calls.append(kind))
    core = types.ModuleType("cupy._core")
    core._routines_linalg = linalg
    cupy = types.ModuleType("cupy")
    cupy._core = core
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setitem(sys.modules, "cupy._core", core)
    monkeypatch.setattr(backend, "_cupy", None)
    assert backend.use_tf32(True) and os.environ["CUPY_TF32"] == "1" and calls == []   # CuPy not in use yet
    monkeypatch.setattr(backend, "_cupy", cupy)
    assert backend.use_tf32(True) and calls == [7]
    assert not backend.use_tf32(False) and calls == [7, 1] and os.environ["CUPY_TF32"] == "0"
    assert not backend.tf32_enabled()


def test_train_takes_tf32_default_off_and_says_it_changes_nothing_on_the_cpu(capsys):
    assert train.parse_args(["mlp"]).tf32 is False
    assert train.parse_args(["mlp", "--tf32"]).tf32 is True
    with pytest.raises(SystemExit):
        train.parse_args(["--help"])
    assert re.search(r"--tf32 .*changes\s+nothing", " ".join(capsys.readouterr().out.split()))
