"""What a learner meets on the course path, checked where a test can hold it: figures whose titles lie inside the
canvas with whole-epoch ticks, metrics.json recording only the options that shaped the run, and ``evaluate``
describing a checkpoint from that checkpoint's own record."""
from pathlib import Path

import numpy as np
import pytest

from minitorch_deblur.imaging import plots

LONG_SOURCE = "the embedded MNIST subset: 5,000 train / 1,000 test images (MNIST not found in /some/long/data/root)"


@pytest.fixture
def drawn(monkeypatch):
    """Every figure save_figure writes, laid out and drawn first: [(figure, renderer)] (closed afterwards)."""
    figures = []
    real_close = plots.pyplot().close

    def keep(fig, path, dpi=100, tight=True):
        if tight and not fig.get_constrained_layout():
            fig.tight_layout()
        fig.canvas.draw()
        figures.append((fig, fig.canvas.get_renderer()))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi)
        return Path(path)
    monkeypatch.setattr(plots, "save_figure", keep)
    yield figures
    for fig, _ in figures:
        real_close(fig)


def _titles(fig):
    texts = [ax.title for ax in fig.axes if ax.get_title()]
    if fig._suptitle is not None:
        texts.append(fig._suptitle)
    return texts


def _assert_titles_inside(fig, renderer):
    canvas = fig.bbox
    titles = _titles(fig)
    assert titles, "the figure has a title"
    boxes = [t.get_window_extent(renderer) for t in titles]
    for text, box in zip(titles, boxes):
        assert box.x0 >= canvas.x0 - 0.5 and box.x1 <= canvas.x1 + 0.5, f"{text.get_text()!r} clipped sideways"
        assert box.y0 >= canvas.y0 - 0.5 and box.y1 <= canvas.y1 + 0.5, f"{text.get_text()!r} clipped top/bottom"
    for i, a in enumerate(boxes):          # no two titles overlap
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), "two titles overlap"


def _assert_integer_epochs(fig):
    for ax in fig.axes:
        if ax.get_xlabel() == "epoch":
            low, high = ax.get_xlim()
            ticks = [t for t in ax.get_xticks() if low <= t <= high]
            assert ticks and all(float(t).is_integer() for t in ticks), ticks


@pytest.mark.parametrize("epochs", [2, 3, 5])
def test_curves_titles_inside_the_canvas_and_whole_epoch_ticks(epochs, drawn, tmp_path):
    rng = np.random.default_rng(0)
    history = {k: list(rng.uniform(0.1, 1, epochs)) for k in ("train_loss", "test_loss", "train_acc", "test_acc")}
    plots.plot_curves(history, tmp_path / "curves.png", f"CNN on {LONG_SOURCE}")
    (fig, renderer), = drawn
    _assert_titles_inside(fig, renderer)
    _assert_integer_epochs(fig)


def test_confusion_title_inside_the_canvas(drawn, tmp_path):
    counts = plots.confusion_matrix(np.arange(100) % 10, (np.arange(100) * 7) % 10)
    plots.plot_confusion(counts, tmp_path / "confusion.png", f"CNN: test accuracy 98.76%\n{LONG_SOURCE}")
    (fig, renderer), = drawn
    _assert_titles_inside(fig, renderer)


def test_restoration_curves_titles_inside_and_whole_epoch_ticks(drawn, tmp_path):
    history = {"train_loss": [0.02, 0.01, 0.009], "test_mse": [0.02, 0.01, 0.009], "input_mse": [0.03] * 3,
               "test_psnr": [20.0, 21.0, 21.5], "input_psnr": [19.0] * 3}
    plots.plot_restoration_curves(history, tmp_path / "curves.png", f"SRCNN on {LONG_SOURCE}")
    (fig, renderer), = drawn
    _assert_titles_inside(fig, renderer)
    _assert_integer_epochs(fig)


def test_a_training_run_writes_figures_that_pass_the_same_checks(drawn, tmp_path):
    from minitorch_deblur import train
    assert train.main(["mlp", "--epochs", "3", "--limit", "128", "--batch-size", "64", "--no-progress",
                       "--out", str(tmp_path / "run")]) == 0
    assert len(drawn) == 2                     # curves.png, confusion.png
    for fig, renderer in drawn:
        _assert_titles_inside(fig, renderer)
        _assert_integer_epochs(fig)


def test_metrics_record_only_the_options_that_shaped_the_run(tmp_path):
    """A CNN run records no restoration or GAN option ('loss': 'mse', 'losses': ...); --resume still works."""
    import json

    from minitorch_deblur import train
    from minitorch_deblur.train.cli import accepted, scoped
    run = tmp_path / "run"
    assert train.main(["cnn", "--epochs", "1", "--limit", "64", "--batch-size", "32", "--no-progress",
                       "--out", str(run)]) == 0
    args = json.loads((run / "metrics.json").read_text())["args"]
    for key in ("loss", "losses", "degradation", "crop_size", "residual", "dropout", "upsample"):
        assert key not in args, key
    assert {k for k in scoped() if k in args} == set(accepted("cnn"))   # cnn's own (ema) stays
    assert args["lr"] == 1e-3 and args["model"] == "cnn" and args["epochs"] == 1
    assert train.main(["cnn", "--resume", str(run), "--epochs", "2", "--no-progress"]) == 0
    assert len(json.loads((run / "metrics.json").read_text())["history"]["test_acc"]) == 2


def test_a_restoration_run_still_records_its_own_options():
    from minitorch_deblur.train.cli import accepted, make_task, parse_args
    task = make_task(parse_args(["srcnn"]))
    assert "loss" not in task.not_recorded and "degradation" not in task.not_recorded
    assert "losses" in task.not_recorded and set(accepted("srcnn")).isdisjoint(task.not_recorded)


def test_evaluate_describes_a_checkpoint_from_its_own_record(tmp_path, capsys):
    """A run continued from an --init says so, with the epochs before it; the count is never from elsewhere."""
    from minitorch_deblur import evaluate, train
    from minitorch_deblur.checkpoint import checkpoint_meta
    common = ["--limit", "64", "--batch-size", "32", "--no-progress"]
    assert train.main(["mlp", "--epochs", "1", "--out", str(tmp_path / "first"), *common]) == 0
    first = tmp_path / "first" / "model.npz"
    assert train.main(["mlp", "--epochs", "2", "--init", str(first), "--out", str(tmp_path / "second"),
                       *common]) == 0
    meta = checkpoint_meta(tmp_path / "second" / "model.npz")
    assert meta["init"] == str(first) and meta["init_epochs"] == 1 and meta["epoch"] == 2
    capsys.readouterr()
    assert evaluate.main([str(tmp_path / "second" / "model.npz"), "--limit", "64"]) == 0
    out = capsys.readouterr().out
    assert f"trained 2 epochs continuing from --init {first} (itself trained 1: 3 in all)" in out
    assert evaluate.main([str(first), "--limit", "64"]) == 0
    assert "trained 1 epoch by its record, which names no --init" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["win5rb", "cae", "srcnn", "deblurgan", "cnn_mnist"])
def test_the_shipped_checkpoints_are_described_by_their_records(name):
    from minitorch_deblur.checkpoint import checkpoint_meta
    from minitorch_deblur.evaluate import trained
    path = Path(__file__).resolve().parents[1] / "minitorch_deblur" / "pretrained" / f"{name}.npz"
    meta = checkpoint_meta(path)
    assert trained(meta).startswith(f"trained {meta['epoch']} epoch")
