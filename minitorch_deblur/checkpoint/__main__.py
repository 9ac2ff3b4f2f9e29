"""``python -m minitorch_deblur.checkpoint strip SRC DST``: keep the weights and meta only (the library is
__init__.py)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from .. import command
from ..command import Parser
from . import strip_checkpoint

PROG = "python -m minitorch_deblur.checkpoint"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = Parser(prog=PROG, debug=False, description="Tools for checkpoints. strip: keep only the model weights "
                    "and meta of a training checkpoint (what inference needs).")
    commands = parser.add_subparsers(dest="command", required=True)
    strip = commands.add_parser("strip", help="write SRC's model weights and meta (no optimiser state) to DST")
    strip.add_argument("src", help="a training checkpoint, e.g. runs/cnn-seed0/model.npz")
    strip.add_argument("dst", help="where to write, e.g. minitorch_deblur/pretrained/cnn_mnist.npz (never SRC)")
    strip.add_argument("--half", action="store_true", help="store the weights as float16 (half the size)")
    strip.add_argument("--drop", action="append", default=[], metavar="MODULE",
                       help="leave out a module's weights (e.g. --drop discriminator for a GAN)")
    return command.run(_strip, parser.parse_args(argv), PROG, user_errors=(ValueError,))


def _strip(args: argparse.Namespace) -> int:
    """Write the stripped copy; a bad checkpoint or a DST it cannot write is one line (command.run)."""
    command.refuse_input(args.dst, [args.src], "DST")
    out = strip_checkpoint(args.src, args.dst, args.half, args.drop)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, from {Path(args.src).stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
