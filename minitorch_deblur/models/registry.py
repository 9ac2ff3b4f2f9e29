"""One record per model: everything the commands need to know about it. Adding a model = its file + one record.

``REGISTRY`` maps the names the commands take (``train cnn``, ``deblur --model cae``, a checkpoint's meta['model'])
to a ``ModelRecord``: the class, the training task, the options that change the model, the course and best
recipes, and the commands that made the shipped weights. Commands read it live, so a test may add a record.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ..errors import UserError
from ..nn.conv import PADDING_MODES
from .cae import CAE
from .cnn import CNN
from .deblurgan import DeblurGAN
from .mlp import MLP
from .nafnet import NAFNet
from .srcnn import SRCNN
from .win5rb import Win5RB

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
TRAIN = "python -m minitorch_deblur.train"
Rule = Tuple[Callable[[Any], bool], str]   # (holds for a value the model can be built with, what it must be)


def boolean() -> Rule:
    return (lambda v: isinstance(v, bool), "true or false")


def whole(low: int, high: int) -> Rule:
    return (lambda v: type(v) is int and low <= v <= high, f"a whole number from {low} to {high}")


def one_of(*values: Any) -> Rule:
    return (lambda v: type(v) in {type(x) for x in values} and v in values,
            "one of " + ", ".join(map(str, values)))


def fraction() -> Rule:
    return (lambda v: type(v) in (int, float) and 0 <= v < 1, "a number in [0, 1)")


@dataclass(frozen=True)
class ModelRecord:
    """What the commands know about one model.

    ``task``: the training task, 'classify', 'restore', 'gan' or 'realblur' (train/cli.py TASKS); the task also names the
    train options the model takes beyond the common ones. ``options``: constructor options that change the model
    (train flags of the same names; checkpoints record them). ``recipes``: 'course' (what the course ran) and
    'best' (the best measured here), each {option: value} over the common defaults (train/config.py).
    ``option_rules``: {option: (check, what it must be)} for the constructor options a checkpoint may record
    (``options`` and any others, e.g. a GAN's 'discriminator'); ``check_options`` applies them before building.
    ``shipped``: its file in pretrained/ ('' for none); ``made_by``: the commands that made that file, in order.
    """

    name: str
    cls: Callable[..., Any]
    task: str
    recipes: Mapping[str, Mapping[str, Any]]
    options: Tuple[str, ...] = ()
    option_rules: Mapping[str, Rule] = field(default_factory=dict)
    shipped: str = ""
    made_by: Tuple[str, ...] = field(default=())

    @property
    def shipped_path(self) -> Optional[Path]:
        return PRETRAINED_DIR / self.shipped if self.shipped else None

    def make_command(self) -> str:
        """The shell line that makes the shipped file."""
        return " && ".join(self.made_by)


def best_then(name: str, *stages: str, train: str = "", strip: str = "--half") -> Tuple[str, ...]:
    """Train ``name`` with its best recipe, then each stage (a fresh cosine cycle started from the previous
    stage's weights, ``--init``), then keep the weights only (``checkpoint strip``) as pretrained/<name>.npz."""
    command = f"{TRAIN} {name} --recipe best{train}"
    run = f"runs/{name}-best"
    commands = [f"{command} --out {run}"]
    for number, options in enumerate(stages, start=2):
        commands.append(f"{command} --init {run}/model.npz {options} --out runs/{name}-best{number}")
        run = f"runs/{name}-best{number}"
    strip = f" {strip}" if strip else ""
    return (*commands, f"python -m minitorch_deblur.checkpoint strip{strip} {run}/model.npz "
                       f"minitorch_deblur/pretrained/{name}.npz")


_COURSE_B = {"epochs": 20, "batch_size": 32, "degradation": "gaussian_noise", "val_fraction": 0.1}
_MNIST_BEST = {"epochs": 10, "lr_step": 4, "lr_gamma": 0.3}
_GAN = {"batch_size": 32, "lr": 1e-4, "degradation": "motion"}
# The shipped files: float16 for all but SRCNN (under 0.01 dB of difference, README); the GAN keeps its generator
# only; the CAE and Win5-RB were trained longer than one run of the best recipe (README, "Results").
RECORDS = (
    ModelRecord("mlp", MLP, "classify", {"course": {}, "best": _MNIST_BEST}),
    ModelRecord("cnn", CNN, "classify", {"course": {}, "best": _MNIST_BEST}, shipped="cnn_mnist.npz", made_by=(
        f"{TRAIN} cnn --epochs 10 --lr-step 4 --lr-gamma 0.3 --seed 0 --out runs/cnn-seed0",
        "python -m minitorch_deblur.checkpoint strip runs/cnn-seed0/model.npz minitorch_deblur/pretrained/cnn_mnist.npz")),
    ModelRecord("srcnn", SRCNN, "restore", {
        "course": {"epochs": 100, "degradation": "bilinear", "train_images": 5000},
        "best": {"epochs": 80, "degradation": "bilinear", "train_images": 5000, "residual": True,
                 "padding_mode": "reflect", "batch_size": 16, "lr_schedule": "cosine", "mapping_kernel": 3,
                 "mapping_layers": 5}},
        options=("residual", "padding_mode", "mapping_kernel", "mapping_layers"),
        option_rules={"residual": boolean(), "padding_mode": one_of(*PADDING_MODES), "mapping_kernel": one_of(1, 3, 5),
                      "mapping_layers": whole(1, 32)},
        shipped="srcnn.npz", made_by=best_then("srcnn", train=" --allow-partial", strip="")),
    ModelRecord("cae", CAE, "restore", {
        "course": _COURSE_B,
        "best": {**_COURSE_B, "batch_size": 16, "augment": True, "lr_schedule": "cosine", "precise_bn": 50}},
        shipped="cae.npz", made_by=best_then("cae", "--epochs 20 --lr 5e-4", "--epochs 15 --lr 3e-4",
                                             "--epochs 30 --lr 4e-4", "--epochs 24 --lr 4e-4 --ema 0.999",
                                             train=" --allow-partial")),
    ModelRecord("win5rb", Win5RB, "restore", {
        "course": {**_COURSE_B, "lr_schedule": "exp", "lr_step": 5, "lr_gamma": math.exp(-0.5)},
        "best": {**_COURSE_B, "zero_init_residual": True, "augment": True, "lr_schedule": "cosine",
                 "precise_bn": 50}},
        options=("paper", "zero_init_residual"), option_rules={"paper": boolean(), "zero_init_residual": boolean()},
        shipped="win5rb.npz", made_by=best_then("win5rb", "--epochs 20 --lr 5e-4", "--epochs 10 --lr 3e-4",
                                                "--epochs 24 --lr 3e-4 --batch-size 16",
                                                "--epochs 20 --lr 3e-4 --batch-size 16 --ema 0.999",
                                                train=" --allow-partial")),
    # course A week 4; best: the CPU recipe (about 75 minutes on 1 core; README): 22 epochs of 1,600 new crops
    # (4,400 steps of 8), the first 20 on L1 alone (a quarter of a GAN step's cost), then 2 with all three terms; a
    # residual U-Net that starts as the identity, resize-conv upsampling, lr 2e-4 cosine (1e-3 was worse after 2
    # epochs), and 'shake' blur (lines of 1-25 px or camera-shake trajectories): trained on the course's 7-15 px
    # lines alone, the U-Net smoothed weakly blurred real frames (README)
    ModelRecord("deblurgan", DeblurGAN, "gan", {
        "course": {**_GAN, "epochs": 100, "lr_step": 50, "lr_gamma": 0.5},
        "best": {**_GAN, "epochs": 22, "batch_size": 8, "lr": 2e-4, "lr_schedule": "cosine",
                 "crops_per_epoch": 1600, "l1_warmup": 20, "residual": True, "upsample": "resize",
                 "degradation": "shake"}},
        options=("residual", "upsample", "dropout"),
        option_rules={"residual": boolean(), "upsample": one_of("transpose", "resize"), "dropout": fraction(),
                      "discriminator": boolean()},
        shipped="deblurgan.npz", made_by=best_then("deblurgan", strip="--half --drop discriminator")),
    # not a course model (issue 25): deblur's default, trained on realistic camera shake of the natural-images TRAIN
    # photographs at their own resolution (train/realblur.py). Its only recipe is 'best': 128x128 crops (192 with
    # the blur's margin), batches of 8, L1, cosine lr, the model starting as the identity.
    # Adam lr 5e-4, not NAFNet's 1e-3: its batches were 4x larger; 32 epochs of 100 steps: what fits ~100 minutes
    ModelRecord("nafnet", NAFNet, "realblur", {
        "best": {"epochs": 32, "batch_size": 8, "lr": 5e-4, "lr_schedule": "cosine", "loss": "l1",
                 "crop_size": 128, "crops_per_epoch": 800}},
        shipped="nafnet.npz", made_by=best_then("nafnet")),
)
REGISTRY: Dict[str, ModelRecord] = {record.name: record for record in RECORDS}


def names(*tasks: str) -> Tuple[str, ...]:
    """The registered model names (of these tasks only, when given), in registry order."""
    return tuple(name for name, record in REGISTRY.items() if not tasks or record.task in tasks)



def check_options(name: str, options: Mapping[str, Any]) -> None:
    """Raise one UserError unless model ``name`` takes every one of ``options``, each in its range: called before
    building a model from a checkpoint's record (``load_model``) or from train's flags."""
    if name not in REGISTRY:
        raise UserError(f"no model named {_short(name)}; the models are {', '.join(REGISTRY)}")
    record = REGISTRY[name]
    known = dict.fromkeys((*record.options, *record.option_rules))
    for key, value in options.items():
        if key not in known:
            takes = f"its options are {', '.join(known)}" if known else "it takes no options"
            raise UserError(f"{name} has no option {_short(key)}; {takes}")
        check, what = record.option_rules.get(key, (lambda v: True, ""))
        if not check(value):
            raise UserError(f"{name} option {key} must be {what}, got {_short(value)}")


def _short(value: Any, most: int = 60) -> str:
    """``repr(value)``, cut to ``most`` characters (a hostile record's value can be megabytes)."""
    text = repr(value)
    return text if len(text) <= most else text[:most] + "..."


def shipped(*tasks: str) -> Dict[str, Path]:
    """{name: its file in pretrained/} of the models (of these tasks) that ship weights."""
    return {name: REGISTRY[name].shipped_path for name in names(*tasks) if REGISTRY[name].shipped}
