"""The command line every lesson shares: ``--quick``, ``--smoke``, the full course recipe, ``--out``, ``--data-dir``.

    args = lesson_args(__doc__, "02", full=(0, 5), quick=(10_000, 2), smoke=(256, 1), argv=argv)
    args.limit, args.epochs      # images (0: all) and epochs of the mode chosen; args.out: the figures' folder (made)

``--smoke`` is what tests/test_lessons.py runs (seconds); ``--quick`` takes a few minutes on 2 cores; no flag runs
the course recipe. This module runs nothing itself: ``python -m minitorch_deblur.lesson`` says how to run a lesson.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence, Tuple

from .command import Parser, describe_os_error, seed

PROG = "python -m minitorch_deblur.lesson"


def _mode(name: str, limit: int, epochs: int) -> str:
    images = f"{limit:,} images" if limit else "all the images"
    return f"{name}: {images}, {epochs} epoch{'s' if epochs != 1 else ''}"


def lesson_args(doc: str, number: str, full: Tuple[int, int], quick: Tuple[int, int], smoke: Tuple[int, int],
                argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse a lesson's command line; ``full``/``quick``/``smoke`` are (image limit, epochs) of each mode."""
    parser = Parser(description=doc.splitlines()[0], debug=False,
                    epilog=_mode("without a flag (the course recipe)", *full))
    parser.add_argument("--quick", action="store_true", help=_mode("quick", *quick))
    parser.add_argument("--smoke", action="store_true", help=_mode("smoke", *smoke) + " (the test runs this)")
    parser.add_argument("--out", default=f"runs/lessons/{number}", help="folder for the figures (and runs); it "
                        "must be writable")
    parser.add_argument("--data-dir", default=None, help="data root (default $MINITORCH_DEBLUR_DATA)")
    parser.add_argument("--seed", type=seed, default=0)
    args = parser.parse_args(argv)
    args.limit, args.epochs = smoke if args.smoke else quick if args.quick else full
    args.out = Path(args.out)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=args.out).close()      # can the figures be written there?
    except OSError as error:
        parser.error(f"--out {args.out}: {describe_os_error(error)}")
    return args


def beside_course(args: argparse.Namespace, course: str, recipe: str = "5 epochs on all the images") -> str:
    """The course's number as a fair comparison: plain for the full recipe, with what differs for --quick/--smoke."""
    if not args.quick and not args.smoke:
        return f"(course: {course})"
    images = f"{args.limit:,} images" if args.limit else "all the images"
    return f"(course: {course} after {recipe}; this run: {args.epochs} epoch{'s' * (args.epochs != 1)} on {images})"


def main() -> int:
    """``python -m minitorch_deblur.lesson`` runs no lesson: say how to run one (exit 2)."""
    print(f"{PROG}: error: this module holds the options the lessons share and runs nothing; run a lesson script, "
          "e.g. python lessons/02_cnn_mnist.py --smoke (lessons/README.md lists them)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
