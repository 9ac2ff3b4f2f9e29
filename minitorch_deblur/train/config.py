"""``TrainConfig``: every option of one training run, typed; cli.py builds it from the command line.

The recipe options' defaults here are the common recipe: a model's course or best recipe (models/registry.py)
overrides some of them, and the command line overrides both.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Dict, Optional, Tuple


def _recipe(default: Any) -> Any:
    """A recipe option: fixed for a run's lifetime (``--resume`` refuses another value), except ``epochs``."""
    return field(default=default, metadata={"recipe": True})


def _run(default: Any) -> Any:
    """An option outside the recipes that ``--resume`` still keeps fixed (seed, image limit, ...)."""
    return field(default=default, metadata={"run": True})


@dataclass(frozen=True)
class TrainConfig:
    """One training run; ``train --help`` says what each option does."""

    model: str
    # the recipe
    epochs: int = _recipe(5)
    batch_size: int = _recipe(64)
    lr: float = _recipe(1e-3)
    lr_schedule: str = _recipe("step")
    lr_step: int = _recipe(0)
    lr_gamma: float = _recipe(0.1)
    degradation: Optional[str] = _recipe(None)
    train_images: int = _recipe(0)
    val_fraction: float = _recipe(0.0)
    augment: bool = _recipe(False)
    natural_crops: int = _recipe(0)
    residual: bool = _recipe(False)
    padding_mode: str = _recipe("zeros")
    mapping_kernel: int = _recipe(1)
    mapping_layers: int = _recipe(1)
    zero_init_residual: bool = _recipe(False)
    paper: bool = _recipe(False)
    precise_bn: int = _recipe(0)
    ema: float = _recipe(0.0)
    loss: str = _recipe("mse")
    losses: str = _recipe("l1+perceptual+adv")
    crop_size: int = _recipe(96)
    crops_per_epoch: int = _recipe(5000)
    upsample: str = _recipe("transpose")
    l1_warmup: int = _recipe(0)
    dropout: float = _recipe(0.5)
    # outside the recipes, kept by --resume
    recipe: str = _run("course")
    seed: int = _run(0)
    limit: int = _run(0)
    init: str = _run("")
    sync_bn: bool = _run(False)   # --distributed: batch norm with the global batch's statistics across ranks
    # where and how
    allow_partial: bool = False
    device: str = "auto"
    distributed: bool = False   # data-parallel over the MPI ranks of mpiexec (distributed/)
    tf32: bool = False       # GPU float32 matmuls in TF32 (backend.use_tf32); nothing on the CPU
    data_dir: Optional[str] = None
    out: Optional[str] = None
    resume: Optional[str] = None
    force: bool = False      # --out may name a folder holding another run
    no_progress: bool = False
    debug: bool = False
    explicit: Tuple[str, ...] = ()   # the options the command line gave


def defaults(kind: str) -> Dict[str, Any]:
    """{option: default} of the 'recipe' or the 'run' options."""
    return {f.name: f.default for f in fields(TrainConfig) if f.metadata.get(kind)}


COMMON = defaults("recipe")
RUN_DEFAULTS = defaults("run")
# fixed for a run's lifetime (all but epochs): --resume refuses a value given for one of them that differs
RECIPE_KEYS = ("model",) + tuple(RUN_DEFAULTS) + tuple(k for k in COMMON if k != "epochs")
