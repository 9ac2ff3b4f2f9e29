"""models/registry.py: every record is consistent, and a new model is a class plus one record, nothing else."""
import inspect
import json
from dataclasses import fields

import pytest

from minitorch_deblur import evaluate, nn, train
from minitorch_deblur.checkpoint import checkpoint_meta, load_model
from minitorch_deblur.models.registry import REGISTRY, ModelRecord, names, shipped
from minitorch_deblur.train.config import COMMON, TrainConfig

pytestmark = pytest.mark.lesson1


class Tiny(nn.Module):
    """(N, 1, 28, 28) digits -> (N, 10) logits: one linear layer after dropout."""

    def __init__(self, dropout: float = 0.5, generator=None) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Dropout(dropout, generator=generator),
                                 nn.Linear(784, 10, generator=generator))

    def forward(self, x):
        return self.net(x)


@pytest.fixture
def tiny(monkeypatch):
    """A model nobody else knows about: registered for this test only."""
    record = ModelRecord("tiny", Tiny, "classify", {"course": {"epochs": 1, "batch_size": 32}}, options=("dropout",))
    monkeypatch.setitem(REGISTRY, "tiny", record)
    return record


def test_a_new_model_trains_evaluates_and_loads_from_its_record_alone(tiny, tmp_path, capsys):
    out = tmp_path / "tiny"
    assert train.main(["tiny", "--limit", "64", "--dropout", "0.2", "--out", str(out), "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "tiny" and len(metrics["history"]["test_acc"]) == 1 and "test_accuracy" in metrics
    assert checkpoint_meta(out / "model.npz")["model_options"] == {"dropout": 0.2}
    model = load_model(out / "model.npz")
    assert isinstance(model, Tiny) and model.net[1].p == 0.2
    assert evaluate.main([str(out / "model.npz"), "--limit", "64"]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_the_command_line_reads_the_record(tiny, capsys):
    config = train.parse_args(["tiny"])
    assert (config.epochs, config.batch_size, config.lr) == (1, 32, COMMON["lr"])
    assert isinstance(train.TASKS[tiny.task](config), train.TASKS["classify"])
    assert train.parse_args(["tiny", "--ema", "0.9"]).ema == 0.9          # its task's option
    with pytest.raises(SystemExit):
        train.parse_args(["tiny", "--recipe", "best"])
    assert "no best recipe has been measured for tiny" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train.parse_args(["tiny", "--crop-size", "32"])                    # the GAN's option
    assert "--crop-size applies to deblurgan, nafnet, not tiny" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train.parse_args(["mlp", "--dropout", "0.2"])                      # tiny's own option, not mlp's
    assert "--dropout applies to deblurgan, tiny, not mlp" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train.parse_args(["--help"])
    assert "tiny (" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_record_names_real_options_a_known_task_and_its_shipped_file(name):
    record = REGISTRY[name]
    options = {f.name for f in fields(TrainConfig)}
    assert record.task in train.TASKS and set(record.recipes) <= {"course", "best"}
    assert "course" in record.recipes or record.task == "realblur"   # the real-blur model is not the course's
    for recipe in record.recipes.values():
        assert set(recipe) <= set(COMMON), f"{name}: recipe options that train does not have"
    assert set(record.options) <= options and set(record.options) <= set(inspect.signature(record.cls).parameters)
    assert set(train.TASKS[record.task].options) <= options
    if record.shipped:
        assert record.shipped_path.is_file() and record.made_by[-1].endswith(f"pretrained/{record.shipped}")
        assert record.made_by[0].startswith(f"python -m minitorch_deblur.train {name} ")


def test_the_helpers_follow_the_registry():
    assert names("classify") == ("mlp", "cnn") and names("gan") == ("deblurgan",)
    assert set(shipped("restore", "gan")) == {"srcnn", "cae", "win5rb", "deblurgan"}
    assert names("realblur") == ("nafnet",)
    assert REGISTRY["deblurgan"].make_command().endswith("strip --half --drop discriminator "
                                                         "runs/deblurgan-best/model.npz "
                                                         "minitorch_deblur/pretrained/deblurgan.npz")
