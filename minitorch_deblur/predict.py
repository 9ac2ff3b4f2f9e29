"""Classify photos of handwritten digits with a trained MNIST model (the course's custom-image test).

    python -m minitorch_deblur.predict photo1.jpg photo2.png                 # the CNN shipped in the package
    python -m minitorch_deblur.predict --checkpoint runs/cnn-.../model.npz --show seen.png *.jpg

Each photo is made into an MNIST-style 28x28 image (imaging/digits.py), then classified: one line per file,
``photo.jpg: 7 (98.1%)``, then a summary. A missing file, a file that is not an image and a blank image each
get a one-line message on stderr, and the other files are still classified. Exit status: 0 when at least one
file was classified, 1 when none could be, 2 for bad arguments or a missing checkpoint (one line on stderr).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from . import command
from . import functional as F
from .autograd import Tensor, no_grad
from .backend import to_device
from .checkpoint import checkpoint_meta, load_model
from .command import Parser
from .errors import UserError, error_line
from .imaging.digits import Digit, preprocess, read_photo
from .imaging.photo_io import expand_paths
from .models.registry import REGISTRY

PROG = "python -m minitorch_deblur.predict"
PRETRAINED = REGISTRY["cnn"].shipped_path
MAKE_PRETRAINED = REGISTRY["cnn"].make_command()


@dataclass
class Prediction:
    """One classified photo: the digit, its probability, all 10 probabilities and what the model saw."""

    path: str
    digit: int
    confidence: float
    probabilities: np.ndarray  # (10,)
    seen: Digit


def classify(model: Any, images: np.ndarray, device: str = "cpu") -> np.ndarray:
    """float32 (N, 28, 28) in [0, 1] -> (N, 10) class probabilities (eval mode, no graph)."""
    model.eval()
    with no_grad():
        logits = model(Tensor(to_device(np.asarray(images, np.float32)[:, None], device)))
        return to_device(F.softmax(logits, dim=1).data, "cpu")


def predict_files(paths: Sequence[str], model: Any, device: str = "cpu") -> Tuple[List[Prediction], List[str]]:
    """Classify each file (a folder: the images in it); returns the predictions and one message per file that
    could not be classified. One bad file never stops the others."""
    paths, problems = expand_paths(paths)
    seen = []
    for path in paths:
        try:
            seen.append((path, preprocess(read_photo(path))))
        except FileNotFoundError as error:
            problems.append(str(error))
        except ValueError as error:
            problems.append(str(error) if str(error).startswith(str(path)) else f"{path}: {error}")
        except Exception as error:  # noqa: BLE001 (whatever else a strange file raises stays that file's problem)
            problems.append(f"{path}: {type(error).__name__}: {error}")
    if not seen:
        return [], problems
    probabilities = classify(model, np.stack([d.image for _, d in seen]), device)
    return [Prediction(path, int(p.argmax()), float(p.max()), p, d)
            for (path, d), p in zip(seen, probabilities)], problems


def plot_predictions(predictions: Sequence[Prediction], path: Path) -> None:
    """One row per photo: the photo, the cleaned digit, the 28x28 input, and the 10 probabilities."""
    from .imaging.plots import pyplot  # noqa: PLC0415  (matplotlib is imported only here)

    plt = pyplot()
    fig, axes = plt.subplots(len(predictions), 4, figsize=(11, 2.6 * len(predictions)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1, 1, 1.6]})
    for row, p in zip(axes, predictions):
        top3 = ", ".join(f"{d}: {100 * p.probabilities[d]:.1f}%" for d in np.argsort(-p.probabilities)[:3])
        for ax, image, title in ((row[0], p.seen.photo, Path(p.path).name), (row[1], p.seen.crop, "cleaned"),
                                 (row[2], p.seen.image, f"model saw: {p.digit} ({100 * p.confidence:.1f}%)")):
            ax.imshow(image, cmap="gray", vmin=0, vmax=1)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
        row[3].bar(range(10), p.probabilities, color=["C1" if d == p.digit else "C0" for d in range(10)])
        row[3].set(xticks=range(10), ylim=(0, 1), title=f"top 3: {top3}")
        row[3].title.set_fontsize(9)
    fig.tight_layout()
    try:
        with command.atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=80, format="png")
    finally:
        plt.close(fig)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = Parser(prog=PROG, description=__doc__.split("\n")[0],
                    epilog="Exit status: 0 when at least one file was classified, 1 when none could be, 2 for bad "
                           "arguments or a missing checkpoint.")
    parser.add_argument("files", nargs="+", help="photos of one handwritten digit each (PNG, JPEG, ...), or folders "
                        "of them")
    parser.add_argument("--checkpoint", default=str(PRETRAINED),
                        help="a model.npz written by train (default: the CNN shipped in the package)")
    parser.add_argument("--show", metavar="FIG.png", default=None, help="save a figure of what the model saw (never "
                        "over one of the photos)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="default auto: cuda if CuPy and a GPU are there, else cpu")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return command.run(predict, parse_args(argv), PROG)


def _load(checkpoint: Path, device: str) -> Any:
    """The classifier in ``checkpoint``; a UserError says why it cannot be used."""
    if not checkpoint.is_file():
        how = f"make it with: {MAKE_PRETRAINED}" if checkpoint == PRETRAINED else \
            "pass the model.npz of a training run (runs/<model>-<time>/model.npz)"
        raise UserError(f"no checkpoint at {checkpoint}; {how}")
    try:
        name = checkpoint_meta(checkpoint).get("model")
        if name not in REGISTRY or REGISTRY[name].task != "classify":
            classifiers = ", ".join(n for n, r in REGISTRY.items() if r.task == "classify")
            raise UserError(f"{checkpoint} holds a {name!r} model, not a digit classifier ({classifiers}); for "
                            "restoration models use python -m minitorch_deblur.deblur")
        return load_model(checkpoint, device)
    except (ValueError, OSError) as error:
        raise UserError(f"cannot load {checkpoint}: {error_line(error)}") from error


def predict(args: argparse.Namespace) -> int:
    """Classify the files, print one line each, then the summary (and the --show figure)."""
    files, _ = expand_paths(args.files)
    if args.show:
        command.refuse_input(args.show, files, "--show")
    device = command.device(args.device)
    model = _load(Path(args.checkpoint), device)
    predictions, problems = predict_files(args.files, model, device)
    for message in problems:
        print(f"{message}; skipped", file=sys.stderr)
    for p in predictions:
        print(f"{p.path}: {p.digit} ({100 * p.confidence:.1f}%)")
    print(f"classified {len(predictions)} of {len(predictions) + len(problems)} files"
          + (f" ({len(problems)} skipped)" if problems else ""))
    if args.show and predictions:
        plot_predictions(predictions, Path(args.show))
        print(f"wrote {args.show}")
    return 0 if predictions else 1


if __name__ == "__main__":
    sys.exit(main())
