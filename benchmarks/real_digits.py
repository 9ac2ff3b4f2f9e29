"""Score `predict` on the real phone photos of handwritten digits, per author (measurement only, never training).

    MINITORCH_DEBLUR_DATA=../shared/data python benchmarks/real_digits.py [--checkpoint PATH] [--show runs/real.png]

The photos live in $MINITORCH_DEBLUR_DATA/real-eval/handwritten-digit-photos/<author>/<digit>.<ext> (the file stem
is the label). They have no licence: they are read from there and never copied into the project.
"""
from __future__ import annotations

import argparse
import os
from collections import defaultdict
from pathlib import Path

from minitorch_deblur.checkpoint import load_model
from minitorch_deblur.predict import PRETRAINED, plot_predictions, predict_files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(PRETRAINED))
    parser.add_argument("--data-dir", default=os.environ.get("MINITORCH_DEBLUR_DATA", "../shared/data"))
    parser.add_argument("--show", default=None, help="save a figure of every photo and what the model saw")
    args = parser.parse_args()
    folder = Path(args.data_dir) / "real-eval" / "handwritten-digit-photos"
    paths = sorted(str(p) for p in folder.glob("*/*") if p.stem.isdigit())
    if not paths:
        raise SystemExit(f"no digit photos under {folder}; pass --data-dir (the folder holding real-eval/)")
    predictions, problems = predict_files(paths, load_model(args.checkpoint))
    for message in problems:
        print(f"could not classify: {message}")
    score = defaultdict(lambda: [0, 0])
    for p in predictions:
        author, label = Path(p.path).parent.name, int(Path(p.path).stem)
        score[author][0] += p.digit == label
        score[author][1] += 1
        if p.digit != label:
            print(f"miss: {author}/{Path(p.path).name} read as {p.digit} ({100 * p.confidence:.1f}%)")
    for author in sorted(score):
        print(f"{author:16s} {score[author][0]}/{score[author][1]}")
    right = sum(s[0] for s in score.values())
    print(f"{'all':16s} {right}/{len(paths)} ({args.checkpoint})")
    if args.show:
        plot_predictions(predictions, Path(args.show))
        print(f"wrote {args.show}")


if __name__ == "__main__":
    main()
