"""The command line: options, the course and best recipes of every model, ``--resume`` rules, one-line errors."""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import time
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple, Type

from ..backend import reuse_freed_memory, use_tf32
from ..checkpoint import checkpoint_meta
from .. import command
from ..command import Parser, folder_lock, positive_int, seed
from ..data.degrade import KINDS
from ..errors import UserError
from ..models.registry import REGISTRY, names
from .classify import ClassifyTask
from .config import COMMON, RECIPE_KEYS, RUN_DEFAULTS, TrainConfig
from .gan import GANTask
from .loop import fit
from .realblur import RealBlurTask
from .restore import RestoreTask
from .task import Task

PROG = "python -m minitorch_deblur.train"
TASKS: Dict[str, Type[Task]] = {"classify": ClassifyTask, "restore": RestoreTask, "gan": GANTask,
                                "realblur": RealBlurTask}


def accepted(model: str) -> Tuple[str, ...]:
    """The options ``model`` takes beyond the common ones: its task's and its own model options (the registry)."""
    record = REGISTRY[model]
    return TASKS[record.task].options + record.options


def scoped() -> Tuple[str, ...]:
    """The options that only some models take."""
    return tuple(dict.fromkeys(k for name in REGISTRY for k in accepted(name)))


def make_task(config: TrainConfig) -> Task:
    """The model's task, told which options do not apply to this model (metrics.json leaves them out)."""
    task = TASKS[REGISTRY[config.model].task](config)
    task.not_recorded = tuple(k for k in scoped() if k not in accepted(config.model))
    return task


def _recipe_help(key: str) -> str:
    """'course: mlp 5, cnn 5, srcnn 100, ...' for one option, from the recipe table."""
    return ", ".join(f"{m} {r.recipes['course'].get(key, COMMON[key])}" for m, r in REGISTRY.items()
                     if "course" in r.recipes)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG, description="Train a course model on the CPU or a GPU. Options left out come from --recipe.",
        epilog="models: " + "; ".join(f"{n} ({r.cls.__doc__.splitlines()[0]})" for n, r in REGISTRY.items()))
    parser.add_argument("model", help="which model: " + ", ".join(REGISTRY))
    parser.add_argument("--recipe", choices=["course", "best"],
                        help="course: what the course ran (default); best: the best recipe measured here")
    parser.add_argument("--epochs", type=int, help=f"epochs to train (course: {_recipe_help('epochs')})")
    parser.add_argument("--batch-size", type=int, help=f"mini-batch size (course: {_recipe_help('batch_size')})")
    parser.add_argument("--lr", type=float, help="Adam learning rate (course: 1e-3)")
    parser.add_argument("--lr-schedule", choices=["step", "exp", "cosine"],
                        help="step: x --lr-gamma every --lr-step epochs (0: constant, the course's except Win5-RB); "
                             "exp: constant for --lr-step epochs, then x --lr-gamma per epoch (Win5-RB's course "
                             "schedule: 5, e^-0.5); cosine: down to 0 at the last epoch")
    parser.add_argument("--lr-step", type=int, help="see --lr-schedule (default 0)")
    parser.add_argument("--lr-gamma", type=float, help="see --lr-schedule (default 0.1)")
    parser.add_argument("--precise-bn", type=int, metavar="N", help="before each evaluation, recompute the "
                        "batch norms' running statistics over N training batches (0: off, the course's)")
    parser.add_argument("--ema", type=float, metavar="DECAY", help="evaluate and save an exponential moving "
                        "average of the weights over about 1/(1-DECAY) steps (optim/ema.py; e.g. 0.999; 0: off, the "
                        "course's); pair it with --precise-bn (not deblurgan)")
    parser.add_argument("--seed", type=seed, help="seed (default 0) for initialisation, shuffling, dropout and the "
                        "training degradations")
    restoration = parser.add_argument_group(f"restoration models ({', '.join(names('restore'))})")
    restoration.add_argument("--degradation", choices=KINDS, help="course: srcnn bilinear (x4 down and up, "
                             "through PIL), cae and win5rb gaussian_noise (5x5 blur, sigma U[1,4), + 0.02 N(0,1))")
    restoration.add_argument("--loss", choices=["mse", "psnr", "l1"], help="mse (the course's), psnr: each "
                             "image's -PSNR, averaged, which is what the mean per-image PSNR scores "
                             "(functional/loss.py), or l1 (nafnet's)")
    restoration.add_argument("--train-images", type=int, help="use the first N CIFAR-10 train images (0: all; "
                             "course: srcnn 5000)")
    restoration.add_argument("--val-fraction", type=float, help="hold out the last fraction of the train images "
                             "for validation, as Keras's validation_split (course: cae, win5rb 0.1)")
    restoration.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                             help="random flips and 90-degree rotations of the training images")
    restoration.add_argument("--natural-crops", type=int, help="add N crops of the natural-images TRAIN "
                             "photographs to the training set (0: none)")
    gan = parser.add_argument_group(f"the GAN ({', '.join(names('gan'))})")
    gan.add_argument("--losses", choices=["l1", "l1+perceptual", "l1+perceptual+adv"],
                     help="the generator's loss terms (course: l1+perceptual+adv), for the ablation")
    gan.add_argument("--crop-size", type=int, help="training and test crops of natural-images (course: 96)")
    gan.add_argument("--crops-per-epoch", type=int, help="new TRAIN crops drawn each epoch (default 5000, as "
                     "STL-10's train split)")
    gan.add_argument("--upsample", choices=["transpose", "resize"], help="the U-Net's upsampling: transposed "
                     "convolution (course) or nearest x2 + 3x3 conv (no checkerboard)")
    gan.add_argument("--dropout", type=float, metavar="P", help="the U-Net decoder's dropout (course: 0.5; 0: "
                     "off, which changes training only)")
    gan.add_argument("--l1-warmup", type=int, metavar="EPOCHS", help="train G on L1 alone for the first EPOCHS "
                     "(default 0)")
    restoration.add_argument("--allow-partial", action="store_true", help="train on a partial CIFAR-10 copy "
                             "(<data root>/cifar10-partial); metrics.json records how many images it had")
    restoration.add_argument("--residual", action=argparse.BooleanOptionalAction, default=None,
                             help="srcnn: output = input + SRCNN(input)")
    restoration.add_argument("--padding-mode", choices=["zeros", "reflect", "replicate"],
                             help="srcnn: how each convolution pads its input (default zeros, the course's)")
    restoration.add_argument("--mapping-kernel", type=int, choices=[1, 3, 5],
                             help="srcnn: the non-linear mapping's kernel (default 1, the course's 9-1-5; 5 is the "
                                  "paper's 9-5-5, 69,251 parameters)")
    restoration.add_argument("--mapping-layers", type=positive_int, metavar="N",
                             help="srcnn: N mapping layers of 32 maps (default 1; --mapping-kernel 3 "
                                  "--mapping-layers 3 is the paper's deeper 9-3-3-3-5)")
    restoration.add_argument("--paper", action=argparse.BooleanOptionalAction, default=None,
                             help="win5rb: the paper's network (4 x 128-channel 7x7 blocks, 2,448,655 parameters) "
                                  "instead of the notebook's (1,276,879)")
    restoration.add_argument("--zero-init-residual", action=argparse.BooleanOptionalAction, default=None,
                             help="win5rb: start as the identity (the last batch norm's scale at 0)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="default auto: cuda if "
                        "a GPU and CuPy are usable, else cpu")
    parser.add_argument("--distributed", action="store_true", help="data-parallel training: run as mpiexec -n K "
                        "python -m minitorch_deblur.train MODEL --distributed; each of the K ranks takes batch/K "
                        "rows of every batch and the gradients are summed across ranks (the result is that of one "
                        "process at the same batch size); needs pip install -e \".[distributed]\"")
    parser.add_argument("--sync-bn", action="store_true", default=None, help="with --distributed: batch norm uses the statistics "
                        "of the whole batch across ranks (default: each rank's own rows, as PyTorch's DDP)")
    parser.add_argument("--tf32", action="store_true", help="on Ampere or newer GPUs, run float32 matrix products "
                        "(the convolutions' and linear layers' GEMMs) in TF32: a 10-bit mantissa, several times "
                        "faster, ~1e-3 relative error; default off: plain FP32. Accepted on the CPU, where it changes "
                        "nothing")
    parser.add_argument("--data-dir", default=None, help="data root (default $MINITORCH_DEBLUR_DATA, else "
                        "~/.cache/minitorch_deblur)")
    parser.add_argument("--out", default=None, help="run folder (default runs/<model>-<timestamp>)")
    parser.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue the run in this folder")
    parser.add_argument("--force", action="store_true", help="let --out name a folder that holds another run "
                        "(its model.npz and metrics.json are replaced after the first epoch); without it that is "
                        "refused")
    parser.add_argument("--init", metavar="CHECKPOINT", help="start from this checkpoint's weights (a fresh "
                        "optimiser and lr schedule): fine-tuning, or training longer than one run did")
    parser.add_argument("--limit", type=int, help="use only the first N train and test images "
                        "(smoke runs and quick lessons; default 0 = all)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> TrainConfig:
    """Parse, then fill every option left out from the model's recipe; ``explicit`` names those given."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.model not in REGISTRY:
        parser.error(f"unknown model {args.model!r}; choose one of: {', '.join(REGISTRY)}")
    args.explicit = tuple(sorted(k for k in {**RUN_DEFAULTS, **COMMON} if getattr(args, k) is not None))
    for key, value in RUN_DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key in args.explicit + (("allow_partial",) if args.allow_partial else ()):
        if key in scoped() and key not in accepted(args.model):
            takers = [name for name in REGISTRY if key in accepted(name)]
            parser.error(f"--{key.replace('_', '-')} applies to {', '.join(takers)}, not {args.model}")
    recipes = REGISTRY[args.model].recipes
    if "recipe" not in args.explicit and "course" not in recipes:   # not a course model: its one recipe
        args.recipe = "best"
    if args.recipe not in recipes:
        parser.error(f"no {args.recipe} recipe has been measured for {args.model} yet; use --recipe course")
    for key, value in {**COMMON, **recipes[args.recipe]}.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    problem = _bad_option(args)
    if problem:
        parser.error(problem)
    return TrainConfig(**vars(args))


OPTION_RULES = (  # (option, holds for a value that can train, what it must be)
    ("epochs", lambda v: v >= 1, "at least 1"),
    ("batch_size", lambda v: v >= 1, "at least 1"),
    ("lr", lambda v: math.isfinite(v) and v > 0, "a finite number > 0"),
    ("limit", lambda v: v >= 0, "0 (all images) or more"),
    ("lr_step", lambda v: v >= 0, "0 (constant lr) or more"),
    ("lr_gamma", lambda v: math.isfinite(v) and v > 0, "a finite number > 0 (it multiplies the lr)"),
    ("train_images", lambda v: v >= 0, "0 (all images) or more"),
    ("val_fraction", lambda v: 0 <= v < 1, "in [0, 1)"),
    ("natural_crops", lambda v: v >= 0, "0 (none) or more"),
    ("precise_bn", lambda v: v >= 0, "0 (off) or more"),
    ("ema", lambda v: 0 <= v < 1, "0 (off) or a decay in (0, 1), e.g. 0.999"),
    ("dropout", lambda v: 0 <= v < 1, "a probability in [0, 1), e.g. 0.5 (the course's) or 0 (off)"),
    ("crop_size", lambda v: v >= 16 and v % 16 == 0, "a multiple of 16 (the U-Net halves it 4 times)"),
    ("crops_per_epoch", lambda v: v >= 1, "at least 1"),
    ("l1_warmup", lambda v: v >= 0, "0 or more"),
)


def _bad_option(args: argparse.Namespace) -> str:
    """Why these option values cannot train (refused before anything starts), or ''."""
    for name, ok, what in OPTION_RULES:
        if not ok(getattr(args, name)):
            return f"--{name.replace('_', '-')} must be {what}, got {getattr(args, name)}"
    return ""


def _resumed_recipe(config: TrainConfig) -> TrainConfig:
    """The recipe of the run that --resume names; refuse options that contradict it."""
    run_dir = Path(config.resume)
    if not (run_dir / "metrics.json").is_file() or not (run_dir / "model.npz").is_file():
        raise UserError(f"--resume {run_dir}: no run there (it needs the metrics.json and model.npz that a training "
                        "run writes after its first epoch)")
    try:
        saved = json.loads((run_dir / "metrics.json").read_text())["args"]
    except (ValueError, KeyError, TypeError) as error:
        raise UserError(f"--resume {run_dir}: its metrics.json is damaged ({type(error).__name__}: {error}); "
                        "restore it from a backup, or start a new run with another --out") from None
    clashes = [f"--{key.replace('_', '-')} {getattr(config, key)} (the run has {saved[key]})" for key in RECIPE_KEYS
               if key in saved and getattr(config, key) != saved[key]
               and (key == "model" or key in config.explicit)]
    if clashes:
        raise UserError(f"--resume {run_dir} continues its own recipe; these options contradict it: "
                        f"{'; '.join(clashes)}. Drop them, or start a new run without --resume")
    kept = {key: saved[key] for key in RECIPE_KEYS if key in saved}
    if "epochs" not in config.explicit and "epochs" in saved:   # not the default recipe's count: the run's own
        kept["epochs"] = saved["epochs"]
    return dataclasses.replace(config, **kept)


def _check_init(config: TrainConfig) -> None:
    """--init must name a checkpoint of this model, built with the same model options as this run."""
    meta = checkpoint_meta(config.init)
    saved = meta.get("model_options", {})
    wanted = {k: getattr(config, k) for k in REGISTRY[config.model].options}
    clashes = [f"{k} {saved[k]!r} (this run: {v!r})" for k, v in wanted.items() if k in saved and saved[k] != v]
    if meta.get("model") != config.model or clashes:
        raise UserError(f"--init {config.init} holds a {meta.get('model')!r} model"
                        f"{' with ' + '; '.join(clashes) if clashes else ''}, not this run's {config.model!r}: give "
                        "the model options of the run that wrote it")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command: user errors become one line on stderr and exit 2 (``--debug`` shows the traceback)."""
    return command.run(run, parse_args(argv), PROG)


def _refuse_another_run(config: TrainConfig, run_dir: Path) -> None:
    """--out naming a folder that holds another run needs --force (or --resume to continue it)."""
    held = [name for name in ("model.npz", "metrics.json") if (run_dir / name).exists()]
    if held and not config.resume and not config.force:
        raise UserError(f"--out {run_dir} holds another run ({', '.join(held)}); continue it with --resume "
                        f"{run_dir}, replace it with --force, or choose another --out")


def run(config: TrainConfig) -> int:
    """Train into the run folder with the model's task; a folder this call created is removed again if no epoch
    finished."""
    reuse_freed_memory()  # each step allocates the same activations: keep their pages (backend.py says why)
    command.device(config.device)   # --device cuda without a GPU: one line, before any folder is made
    use_tf32(config.tf32)           # FP32 unless --tf32, whatever $CUPY_TF32 says
    if config.resume:
        config = _resumed_recipe(config)
        run_dir = Path(config.resume)
    else:
        run_dir = Path(config.out or f"runs/{config.model}-{time.strftime('%Y%m%d-%H%M%S')}")
    if config.init and not config.resume:
        _check_init(config)
    if "sync_bn" in config.explicit and not config.distributed:
        raise UserError("--sync-bn applies to --distributed runs (batch norm across ranks); add --distributed")
    if config.distributed:   # join the MPI world (distributed/); ranks > 0 read the run folder but never write it
        from ..distributed.parallel import start

        if start(config):
            return fit(make_task(config), config, run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"the run folder {run_dir} is a file; choose a folder with --out")
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        with folder_lock(run_dir):
            _refuse_another_run(config, run_dir)
            return fit(make_task(config), config, run_dir)
    finally:
        if created and not (run_dir / "model.npz").exists():   # failed before its first epoch: leave nothing
            shutil.rmtree(run_dir, ignore_errors=True)
