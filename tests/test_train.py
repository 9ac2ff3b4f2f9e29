"""The training command: help, wrong names, a smoke run's files, exact resume, and the checkpoint format."""
import json

import numpy as np
import pytest

import minitorch_deblur as mt
from minitorch_deblur import train
from minitorch_deblur.checkpoint import load_checkpoint, save_checkpoint
from minitorch_deblur.models import CNN, MLP
from minitorch_deblur.optim import Adam
from minitorch_deblur.nn.summary import summary

pytestmark = pytest.mark.lesson1


def test_help_lists_every_model(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "mlp" in out and "cnn" in out and "--resume" in out


def test_wrong_model_name_lists_the_right_ones(capsys):
    with pytest.raises(SystemExit):
        train.parse_args(["resnet"])
    assert "unknown model 'resnet'; choose one of: mlp, cnn" in capsys.readouterr().err


def test_model_parameter_counts_and_shapes():
    x = mt.zeros(3, 1, 28, 28)
    assert sum(p.numel() for p in MLP().parameters()) == 235_146
    assert sum(p.numel() for p in CNN().parameters()) == 422_474
    assert MLP()(x).shape == (3, 10) and CNN()(x).shape == (3, 10)
    table = summary(CNN(), (2, 1, 28, 28))
    assert "(2, 128, 3, 3)" in table and "422,474" in table


def _run(args, tmp_path, name):
    out = tmp_path / name
    assert train.main(list(args) + ["--limit", "192", "--batch-size", "64", "--no-progress", "--out", str(out)]) == 0
    return out


def test_smoke_run_writes_checkpoint_metrics_and_plots(tmp_path):
    out = _run(["mlp", "--epochs", "2"], tmp_path, "mlp")
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]["test_acc"]) == 2 and 0.0 <= metrics["test_accuracy"] <= 1.0
    for name in ("model.npz", "curves.png", "confusion.png"):
        assert (out / name).stat().st_size > 0
    assert not list(out.glob("*.tmp"))


def test_resume_gives_the_same_weights_as_an_unbroken_run(tmp_path):
    unbroken = _run(["cnn", "--epochs", "2"], tmp_path, "unbroken")
    broken = _run(["cnn", "--epochs", "1"], tmp_path, "broken")
    assert train.main(["cnn", "--resume", str(broken), "--epochs", "2", "--no-progress"]) == 0
    a, b = np.load(unbroken / "model.npz"), np.load(broken / "model.npz")
    for key in a.files:
        if key != "record.json":
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_checkpoint_round_trip_restores_model_and_optimizer(tmp_path):
    model = MLP(generator=mt.Generator(1))
    opt = Adam(model.parameters(), lr=3e-4)
    x = mt.rand(4, 1, 28, 28)
    model(x).sum().backward()
    opt.step()
    path = save_checkpoint(tmp_path / "m.npz", model, opt, meta={"epoch": 3})
    fresh = MLP(generator=mt.Generator(2))
    fresh_opt = Adam(fresh.parameters(), lr=1.0)
    assert load_checkpoint(path, fresh, fresh_opt) == {"epoch": 3}
    model.eval(), fresh.eval()
    np.testing.assert_array_equal(model(x).numpy(), fresh(x).numpy())
    assert fresh_opt.param_groups[0]["lr"] == 3e-4
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.npz", fresh)


@pytest.mark.parametrize("option, value, message", [
    ("--epochs", "0", "--epochs must be at least 1"), ("--batch-size", "0", "--batch-size must be at least 1"),
    ("--lr", "nan", "--lr must be a finite number > 0"), ("--lr=-1e-3", None, "--lr must be a finite number > 0"),
    ("--lr", "inf", "--lr must be a finite number > 0"), ("--limit", "-1", "--limit must be 0"),
    ("--lr-gamma", "0", "--lr-gamma must be a finite number > 0"), ("--lr-step", "-2", "--lr-step must be 0"),
])
def test_options_that_cannot_train_are_refused_before_anything_starts(option, value, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(["mlp", option] + ([value] if value is not None else []))
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_a_non_finite_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    run = _run(["mlp", "--epochs", "1"], tmp_path, "run")            # 3 steps of 64 images per epoch
    good = (run / "model.npz").read_bytes()
    calls = {"n": 0}
    real = train.F.cross_entropy

    def poisoned(logits, labels, **kw):
        calls["n"] += 1
        loss = real(logits, labels, **kw)
        return loss * float("nan") if calls["n"] == 2 else loss      # step 2 of epoch 2
    monkeypatch.setattr(train.F, "cross_entropy", poisoned)
    assert train.main(["mlp", "--resume", str(run), "--epochs", "2", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "diverged in epoch 2, step 2: the loss is nan" in err and "last finite loss was" in err
    assert "Try a lower --lr" in err and "epochs 1..1 are saved, untouched" in err
    assert (run / "model.npz").read_bytes() == good


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # NumPy's overflow warnings on the way to inf
def test_a_non_finite_gradient_stops_training_too(tmp_path, capsys):
    assert train.main(["mlp", "--lr", "1e30", "--limit", "128", "--batch-size", "32", "--no-progress",
                       "--out", str(tmp_path / "r")]) == 1
    assert "training diverged in epoch 1" in capsys.readouterr().err
    assert not (tmp_path / "r" / "model.npz").exists()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_loss_that_explodes_but_stays_finite_fails_the_run(tmp_path, capsys):
    """--lr 1e6: the loss grows to ~1e21, finite; the run must say it diverged and exit 1, saving nothing."""
    assert train.main(["mlp", "--lr", "1e6", "--limit", "128", "--batch-size", "32", "--no-progress",
                       "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "training diverged in epoch 1" in err and "x its first value" in err and "Try a lower --lr" in err
    assert not (tmp_path / "r" / "model.npz").exists()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_classifier_at_chance_after_an_epoch_fails_the_run(tmp_path, monkeypatch, capsys):
    """With the step check off, the task's verdict still fails a run that learned nothing (task-agnostic loop)."""
    from minitorch_deblur.train.classify import ClassifyTask
    monkeypatch.setattr(ClassifyTask, "explodes", None)
    assert train.main(["mlp", "--lr", "1e6", "--limit", "1000", "--batch-size", "100", "--no-progress",
                       "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "the run failed in epoch" in err and "chance level (10%)" in err and "learned nothing" in err


def test_a_checkpoint_with_nan_weights_is_refused(tmp_path):
    from minitorch_deblur.checkpoint import load_model

    model = MLP(generator=mt.Generator(0))
    next(model.parameters()).data[0, 0] = np.nan
    path = save_checkpoint(tmp_path / "nan.npz", model, meta={"model": "mlp"})
    with pytest.raises(ValueError, match="NaN or infinite values.*retrain with a lower --lr"):
        load_model(path)


def test_user_errors_are_one_line_exit_2_and_debug_shows_the_traceback(tmp_path, capsys):
    assert train.main(["mlp", "--resume", str(tmp_path / "nowhere"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error: --resume" in err and "no run there" in err and "Traceback" not in err
    with pytest.raises(train.UserError):
        train.main(["mlp", "--resume", str(tmp_path / "nowhere"), "--debug"])


def test_resume_refuses_options_that_contradict_the_run_and_says_when_it_is_done(tmp_path, capsys):
    run = _run(["mlp", "--epochs", "1", "--lr", "3e-3"], tmp_path, "run")
    assert train.main(["cnn", "--resume", str(run), "--no-progress"]) == 2
    assert "--model cnn (the run has mlp)" in capsys.readouterr().err
    assert train.main(["mlp", "--resume", str(run), "--lr", "1e-2", "--no-progress"]) == 2
    assert "--lr 0.01 (the run has 0.003)" in capsys.readouterr().err
    assert train.main(["mlp", "--resume", str(run), "--seed", "3", "--no-progress"]) == 2
    assert "--seed 3 (the run has 0)" in capsys.readouterr().err
    assert train.main(["mlp", "--resume", str(run), "--recipe", "best", "--no-progress"]) == 2
    assert "--recipe best (the run has course)" in capsys.readouterr().err
    assert train.main(["mlp", "--resume", str(run), "--lr", "3e-3", "--epochs", "1", "--no-progress"]) == 0
    assert "nothing left to do: epoch 1 of 1 is done" in capsys.readouterr().out


def test_a_run_that_fails_before_its_first_epoch_leaves_no_folder(tmp_path, monkeypatch, capsys):
    from minitorch_deblur.data.root import DataError

    def broken(args):
        raise DataError("mnist/train-images-idx3-ubyte.gz fails its checksum (expected md5 f68b3c2d...)")
    monkeypatch.setattr(train.classify, "load_data", broken)
    out = tmp_path / "never"
    assert train.main(["mlp", "--out", str(out), "--no-progress"]) == 2
    assert "fails its checksum" in capsys.readouterr().err and not out.exists()


def test_a_full_disk_is_one_line_too(tmp_path, monkeypatch, capsys):
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "model.npz"))
    monkeypatch.setattr(train.loop, "save_checkpoint", full)
    assert train.main(["mlp", "--limit", "64", "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    assert "the disk is full" in capsys.readouterr().err


def test_metrics_and_figures_say_which_data_trained_the_model(tmp_path, capsys):
    out = _run(["mlp", "--epochs", "1"], tmp_path, "run")
    data = json.loads((out / "metrics.json").read_text())["data"]
    assert data.endswith("192 train / 192 test images") and ("MNIST from" in data or "embedded MNIST subset" in data)
    assert f"data: {data}" in capsys.readouterr().out


def test_one_missing_mnist_file_is_named_once_and_both_splits_fall_back_together(tmp_path, capsys, no_network):
    import argparse
    import os
    from pathlib import Path

    from minitorch_deblur.data import mnist

    root = Path(os.environ.get("MINITORCH_DEBLUR_DATA", "../shared/data")) / "mnist"
    if not (root / "train-labels-idx1-ubyte.gz").is_file():
        pytest.skip("needs the full MNIST files (../shared/data/mnist)")
    (tmp_path / "mnist").mkdir()
    for name in ("train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / "mnist" / name).symlink_to((root / name).resolve())
    mnist._WARNED.clear()
    args = argparse.Namespace(data_dir=str(tmp_path), limit=0)
    for _ in range(2):
        train_set, test_set, source = train.load_data(args)
    assert (len(train_set), len(test_set)) == (5000, 1000) and source.startswith("the embedded MNIST subset")
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "train-images-idx3-ubyte.gz not in" in err
    mnist.load_mnist("train", tmp_path, download=False), mnist.load_mnist("train", tmp_path, download=False)
    assert capsys.readouterr().err.count("warning:") == 1


def test_reading_losses_every_few_steps_gives_the_same_epoch_and_names_the_bad_step():
    from minitorch_deblur.train.classify import ClassifyTask
    from minitorch_deblur.train.loop import Diverged, run_epoch

    class Bar:
        def update(self, n): pass
        def set_postfix(self, **kw): pass

    rng = np.random.default_rng(0)
    batches = [(rng.random((4, 784)).astype(np.float32), rng.integers(0, 10, 4)) for _ in range(7)]
    task = ClassifyTask(train.TrainConfig("mlp"))
    results = []
    for sync_every in (1, 3):
        model = MLP(generator=mt.Generator(0))
        results.append(run_epoch(task, model, {"": Adam(model.parameters())}, batches, Bar(), sync_every=sync_every))
    assert results[0]["loss"] == pytest.approx(results[1]["loss"], rel=1e-6)
    assert results[0]["acc"] == pytest.approx(results[1]["acc"])

    step = task.step

    def poisoned(model, batch, calls=[0]):   # noqa: B006 (a counter across calls)
        calls[0] += 1
        loss, n, sums = step(model, batch)
        return (loss * float("nan") if calls[0] == 5 else loss), n, sums
    task.step = poisoned
    model = MLP(generator=mt.Generator(0))
    with pytest.raises(Diverged, match="step 5: the loss is nan"):
        run_epoch(task, model, {"": Adam(model.parameters())}, batches, Bar(), sync_every=3)
