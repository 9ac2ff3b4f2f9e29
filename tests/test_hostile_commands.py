"""Issue 23 as a hostile user tries it: every command never destroys a user's file, never reports a wrong result
with exit 0, and says every user error in one line (exit 2; Ctrl-C 130) without a traceback."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minitorch_deblur as mt
from minitorch_deblur import command, deblur, evaluate, predict, train
from minitorch_deblur.checkpoint import save_checkpoint
from minitorch_deblur.checkpoint.__main__ import main as checkpoint_main
from minitorch_deblur.errors import UserError
from minitorch_deblur.exercise.__main__ import main as exercise_main
from minitorch_deblur.gradcheck import main as gradcheck_main
from minitorch_deblur.models import MLP, SRCNN

ROOT = Path(__file__).resolve().parent.parent
DIGIT = ROOT / "tests" / "data" / "digits" / "1_thin_plain.png"


@pytest.fixture
def srcnn(tmp_path):
    return save_checkpoint(tmp_path / "srcnn.npz", SRCNN(generator=mt.Generator(0)),
                           meta={"model": "srcnn", "degradation": "bilinear"})


@pytest.fixture
def mlp(tmp_path):
    return save_checkpoint(tmp_path / "mlp.npz", MLP(generator=mt.Generator(0)), meta={"model": "mlp", "epoch": 1})


def photo(path, size=(24, 16)):
    from PIL import Image

    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)).save(path)
    return path


def one_line(capsys, *needles):
    """The command's stderr is one line, no traceback, holding every needle."""
    err = "\n".join(line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("note:"))
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def refused(capsys, fn, argv, *needles):
    """A bad option: SystemExit(2) from the parser, one line."""
    with pytest.raises(SystemExit) as stop:
        fn(argv)
    assert stop.value.code == 2
    one_line(capsys, *needles)


# ------------------------------------------------------------------------------ 1. never destroy a user's file
def test_deblur_compare_over_the_input_is_refused(srcnn, tmp_path, capsys):
    src = photo(tmp_path / "in.png")
    before = src.read_bytes()
    assert deblur.main([str(src), "--checkpoint", str(srcnn), "-o", str(tmp_path / "out.png"),
                        "--compare", str(src)]) == 1
    assert src.read_bytes() == before and not (tmp_path / "out.png").exists()
    assert "inputs are never overwritten" in capsys.readouterr().err


def test_deblur_degrade_figure_over_an_input_and_compare_over_the_output_are_refused(srcnn, tmp_path, capsys):
    src = photo(tmp_path / "b_before_after.png")
    before = src.read_bytes()
    assert deblur.main([str(src), "--checkpoint", str(srcnn), "-o", str(tmp_path / "b.png"), "--degrade"]) == 1
    assert src.read_bytes() == before and "the --degrade figure" in capsys.readouterr().err
    out = tmp_path / "c.png"
    assert deblur.main([str(src), "--checkpoint", str(srcnn), "-o", str(out), "--compare", str(out)]) == 1
    assert "is the output file too" in capsys.readouterr().err and not out.exists()


def test_predict_show_over_a_photo_is_refused(mlp, tmp_path, capsys):
    digit = tmp_path / "d.png"
    digit.write_bytes(DIGIT.read_bytes())
    assert predict.main(["--checkpoint", str(mlp), str(digit), "--show", str(digit)]) == 2
    assert digit.read_bytes() == DIGIT.read_bytes()
    one_line(capsys, "--show", "inputs are never overwritten")


def test_inputs_sharing_a_stem_get_distinct_outputs(srcnn, tmp_path, capsys):
    inputs = [photo(tmp_path / f"a.{ext}") for ext in ("jpg", "png", "bmp")]
    out = tmp_path / "o"
    assert deblur.main([*map(str, inputs), "--checkpoint", str(srcnn), "--out-dir", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.1.png", "a.2.png", "a.png"]
    assert "restored 3 of 3" in capsys.readouterr().out


def test_checkpoint_strip_onto_its_source_is_refused(mlp, capsys):
    before = mlp.read_bytes()
    assert checkpoint_main(["strip", str(mlp), str(mlp)]) == 2
    assert mlp.read_bytes() == before
    one_line(capsys, "DST", "inputs are never overwritten")


MLP_RUN = ["mlp", "--limit", "64", "--batch-size", "64", "--epochs", "1", "--no-progress"]


def test_train_into_a_folder_holding_another_run_needs_force(tmp_path, capsys):
    run = tmp_path / "A"
    run.mkdir()
    (run / "metrics.json").write_text('{"model": "cnn"}')
    assert train.main(MLP_RUN + ["--out", str(run)]) == 2
    one_line(capsys, "holds another run", "--force", "--resume")
    assert json.loads((run / "metrics.json").read_text()) == {"model": "cnn"}
    assert train.main(MLP_RUN + ["--out", str(run), "--force"]) == 0
    assert json.loads((run / "metrics.json").read_text())["model"] == "mlp" and not (run / ".lock").exists()


def test_a_run_folder_in_use_is_refused_and_a_stale_lock_taken_over(tmp_path, capsys):
    run = tmp_path / "A"
    run.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run / ".lock").write_text(str(holder.pid))
        assert train.main(MLP_RUN + ["--out", str(run)]) == 2
        one_line(capsys, f"in use by process {holder.pid}")
    finally:
        holder.kill()
        holder.wait()
    assert train.main(MLP_RUN + ["--out", str(run)]) == 0          # its process is gone: the lock is stale
    assert (run / "model.npz").is_file() and not (run / ".lock").exists()


def test_the_lock_is_exclusive_between_processes(tmp_path):
    code = ("import sys, time; from pathlib import Path; from minitorch_deblur.command import folder_lock\n"
            "with folder_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(30)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match="in use by process"):
            with command.folder_lock(tmp_path):
                pass
    finally:
        holder.kill()
        holder.wait()


# ------------------------------------------------------------------------------ 2. never a wrong result, exit 0
@pytest.mark.parametrize("fn, argv, needle", [
    (evaluate.main, ["x.npz", "--batch-size", "-4"], "--batch-size: must be an integer >= 1, got -4"),
    (evaluate.main, ["x.npz", "--batch-size", "0"], "--batch-size"),
    (evaluate.main, ["x.npz", "--limit", "-3"], "--limit: must be an integer >= 0, got -3"),
    (train.parse_args, ["mlp", "--seed", "-1"], "--seed: must be an integer from 0"),
    (train.parse_args, ["srcnn", "--mapping-layers", "-3"], "--mapping-layers: must be an integer >= 1"),
    (train.parse_args, ["mlp", "--epochs", "0"], "--epochs must be at least 1"),
    (train.parse_args, ["mlp", "--batch-size", "-1"], "--batch-size must be at least 1"),
    (train.parse_args, ["cae", "--natural-crops", "-5"], "--natural-crops must be 0"),
    (deblur.main, ["p.png", "--upscale", "100000"], "--upscale: must be an integer from 1 to 8"),
    (deblur.main, ["p.png", "--upscale", "0"], "--upscale"),
    (deblur.main, ["p.png", "--seed", "-1"], "--seed"),
    (deblur.main, ["p.png", "--tile", "-16"], "--tile: must be an integer >= 0"),
    (deblur.main, ["p.png", "--max-memory", "0"], "--max-memory: must be a finite number > 0"),
    (deblur.main, ["p.png", "--max-memory", "nan"], "--max-memory"),
    (deblur.main, ["p.png", "--scale", "0"], "--scale: must be a number in (0, 1]"),
    (deblur.main, ["p.png", "--scale", "1.5"], "--scale"),
    (gradcheck_main, ["relu", "--configs", "0"], "--configs"),
    (gradcheck_main, ["relu", "--seed", "-1"], "--seed"),
    (exercise_main, ["check", "--lesson", "x"], "--lesson"),
])
def test_bad_values_are_refused_with_one_line(fn, argv, needle, capsys):
    refused(capsys, fn, argv, needle, "error:")


def test_an_empty_training_or_validation_split_is_refused(cifar_partial, tmp_path, capsys):
    base = ["cae", "--allow-partial", "--data-dir", str(cifar_partial), "--no-progress", "--batch-size", "4"]
    assert train.main(base + ["--val-fraction", "0.99", "--limit", "10", "--out", str(tmp_path / "a")]) == 2
    one_line(capsys, "leaves 0 for training and 10 for validation")
    assert train.main(base + ["--val-fraction", "0.01", "--limit", "10", "--out", str(tmp_path / "b")]) == 2
    one_line(capsys, "leaves 10 for training and 0 for validation")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_lesson_module_says_how_to_run_a_lesson():
    done = subprocess.run([sys.executable, "-m", "minitorch_deblur.lesson", "--smoke"], capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and "lessons/" in done.stderr


def test_a_lesson_out_folder_that_cannot_be_written_is_one_line(tmp_path, capsys):
    from minitorch_deblur.lesson import lesson_args

    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit) as stop:
        lesson_args("doc", "01", (0, 1), (0, 1), (1, 1), argv=["--out", str(tmp_path / "file" / "figs")])
    assert stop.value.code == 2
    one_line(capsys, "--out")


def test_upscale_is_bounded_in_megapixels(srcnn, tmp_path, capsys):
    src = photo(tmp_path / "big.png", size=(1001, 1001))
    assert deblur.main([str(src), "--checkpoint", str(srcnn), "--upscale", "8", "-o", str(tmp_path / "o.png")]) == 1
    assert "megapixel limit" in capsys.readouterr().err and not (tmp_path / "o.png").exists()


# ------------------------------------------------------------------------------ 4. one line, never a traceback
def test_predict_given_a_restoration_checkpoint(srcnn, capsys):
    assert predict.main(["--checkpoint", str(srcnn), str(DIGIT)]) == 2
    one_line(capsys, "'srcnn' model, not a digit classifier")


@pytest.mark.parametrize("fn, argv", [
    (deblur.main, ["p.png", "--checkpoint", "{srcnn}"]),
    (predict.main, ["--checkpoint", "{mlp}", str(DIGIT)]),
    (evaluate.main, ["{mlp}"]),
    (train.main, MLP_RUN + ["--out", "{tmp}/run"]),
])
def test_device_cuda_without_cupy(fn, argv, srcnn, mlp, tmp_path, monkeypatch, capsys):
    from minitorch_deblur import backend

    monkeypatch.setattr(backend, "_try_cupy", lambda: None)
    argv = [a.format(srcnn=srcnn, mlp=mlp, tmp=tmp_path) for a in argv]
    assert fn(argv + ["--device", "cuda"]) == 2
    one_line(capsys, "--device cuda", "no GPU is usable")
    assert not (tmp_path / "run").exists()


def test_a_damaged_metrics_json_on_resume(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.npz").write_bytes(b"")
    (run / "metrics.json").write_text('{"args": ')
    assert train.main(["mlp", "--resume", str(run), "--no-progress"]) == 2
    one_line(capsys, "metrics.json is damaged")


def test_a_show_path_that_cannot_be_written(mlp, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert predict.main(["--checkpoint", str(mlp), str(DIGIT), "--show", str(tmp_path / "file" / "fig.png")]) == 2
    one_line(capsys, "fig.png")


def test_a_read_only_file_system_is_one_line(capsys):
    def read_only(args):
        raise OSError(30, "Read-only file system", "/ro/fig.png")     # EROFS, as a root user cannot chmod away
    assert command.run(read_only, type("A", (), {"debug": False})(), "prog") == 2
    one_line(capsys, "prog: error: cannot use /ro/fig.png: the file system is read-only")


@pytest.mark.parametrize("where", ["restore", "save"])
def test_ctrl_c_during_deblur_leaves_no_partial_file(where, srcnn, tmp_path, monkeypatch, capsys):
    from PIL import Image

    def interrupt(*args, **kwargs):
        if where == "save":
            Path(args[1]).write_bytes(b"half a png")
        raise KeyboardInterrupt
    src = photo(tmp_path / "in.png")
    monkeypatch.setattr(deblur, "restore_image", interrupt) if where == "restore" else \
        monkeypatch.setattr(Image.Image, "save", interrupt)
    out = tmp_path / "o"
    assert deblur.main([str(src), "--checkpoint", str(srcnn), "--out-dir", str(out)]) == 130
    one_line(capsys, "interrupted")
    assert not out.exists() or not list(out.iterdir())


def test_ctrl_c_in_a_real_deblur_process(srcnn, tmp_path):
    import signal
    import time

    inputs = [str(photo(tmp_path / f"p{i}.png", size=(400, 400))) for i in range(40)]
    out = tmp_path / "o"
    child = subprocess.Popen([sys.executable, "-m", "minitorch_deblur.deblur", *inputs, "--checkpoint", str(srcnn),
                              "--out-dir", str(out), "--device", "cpu"], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while not (out.exists() and list(out.glob("p*.png"))) and time.time() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 130 and "Traceback" not in err and "interrupted" in err
    assert not [p for p in out.iterdir() if p.name.startswith(".")]          # no temporary file left


def _truncated(path, tmp_path):
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(path.read_bytes()[:200])
    return bad


@pytest.mark.parametrize("fn, argv", [
    (deblur.main, ["{photo}", "--checkpoint", "{bad}"]),
    (predict.main, ["--checkpoint", "{bad}", str(DIGIT)]),
    (evaluate.main, ["{bad}"]),
    (checkpoint_main, ["strip", "{bad}", "{tmp}/s.npz"]),
    (train.main, MLP_RUN + ["--init", "{bad}", "--out", "{tmp}/run"]),
])
def test_a_truncated_checkpoint_is_one_line_everywhere(fn, argv, mlp, tmp_path, capsys):
    bad = _truncated(mlp, tmp_path)
    argv = [a.format(bad=bad, tmp=tmp_path, photo=photo(tmp_path / "p.png")) for a in argv]
    assert fn(argv) == 2
    one_line(capsys, "truncated.npz")


def test_a_truncated_checkpoint_on_resume(tmp_path, capsys):
    run = tmp_path / "run"
    assert train.main(MLP_RUN + ["--out", str(run)]) == 0
    (run / "model.npz").write_bytes((run / "model.npz").read_bytes()[:300])
    assert train.main(["mlp", "--resume", str(run), "--epochs", "2", "--no-progress"]) == 2
    one_line(capsys, "model.npz")


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(UserError):
        deblur.main(["p.png", "--checkpoint", str(tmp_path / "none.npz"), "--debug"])
