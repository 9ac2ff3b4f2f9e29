"""Re-score a checkpoint on the fixed test set:  python -m minitorch_deblur.evaluate runs/cae-course/model.npz

The checkpoint names its model and the degradation it was trained for (``--degradation`` scores another one). For
a restoration model it prints one row per method: the degraded input, the bicubic baseline (x4 degradations)
and the model, with PSNR (RGB in [0, 1], MAX 1, mean of per-image values) and SSIM as mean +- standard deviation,
the MSE (the number course B printed) and the model's time per image. For an MNIST classifier: loss and accuracy.
Exit status: 0 scored, 2 for a bad checkpoint, missing data or bad options (one line on stderr).
"""
from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional, Sequence

from . import command
from .backend import use_tf32
from .checkpoint import checkpoint_meta, load_model
from .command import Parser, non_negative_int, positive_int
from .data.degrade import KINDS
from .data.mnist import load_mnist_splits
from .errors import UserError
from .imaging.classification import score_classifier
from .imaging.restoration import Scores, load_test_set, score_model
from .models.registry import REGISTRY

PROG = "python -m minitorch_deblur.evaluate"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="a model.npz written by train (or a shipped one in pretrained/)")
    parser.add_argument("--degradation", choices=KINDS, help="default: the one the checkpoint was trained for")
    parser.add_argument("--limit", type=non_negative_int, default=0, help="score only the first N test images (0: all)")
    parser.add_argument("--data-dir", default=None, help="data root (default $MINITORCH_DEBLUR_DATA)")
    parser.add_argument("--allow-partial", action="store_true", help="score on a partial CIFAR-10 copy")
    parser.add_argument("--batch-size", type=positive_int, default=100, help="images per forward pass (default 100)")
    parser.add_argument("--ensemble", action="store_true", help="score the mean of the model's outputs on the 8 "
                        "flips/rotations of each image (geometric self-ensemble: 8x the time)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--tf32", action="store_true", help="on Ampere or newer GPUs, float32 matrix products in "
                        "TF32 (10-bit mantissa: faster, ~1e-3 relative error); default plain FP32; changes nothing "
                        "on the CPU")
    return parser


def table(rows: Dict[str, Scores], per_image_ms: float) -> str:
    """Rows of PSNR / SSIM (mean +- std) and MSE (7 decimals: the course printed 0.0022575) per method; the model's
    time per image in the last row."""
    lines = [f"{'':10s} {'PSNR dB (mean +- std)':>22s} {'SSIM (mean +- std)':>20s} {'MSE':>10s} {'ms/image':>9s}"]
    for name, s in rows.items():
        ms = f"{per_image_ms:9.2f}" if name == "restored" else f"{'':9s}"
        lines.append(f"{name:10s} {s.psnr.mean():13.2f} +- {s.psnr.std():5.2f} {s.ssim.mean():11.4f} +- "
                     f"{s.ssim.std():6.4f} {s.mse.mean():10.7f} {ms}")
    return "\n".join(lines)


def trained(meta: Dict) -> str:
    """What the checkpoint's own record says of its training: the epochs of the run that wrote it and, when it
    continued from an --init, that checkpoint and the epochs before (never a number from elsewhere)."""
    epochs = meta.get("epoch")
    if epochs is None:
        return "its record gives no epoch count"
    text = f"trained {epochs} epoch{'s' * (epochs != 1)}"
    if meta.get("init"):
        before = meta.get("init_epochs")
        text += f" continuing from --init {meta['init']}"
        if before is not None:
            text += f" (itself trained {before}: {before + epochs} in all)"
    else:
        text += " by its record, which names no --init: earlier stages, if any, are not counted"
    return text


def evaluate_restoration(args: argparse.Namespace, meta: Dict, device: str) -> List[str]:
    kind = args.degradation or meta.get("degradation")
    if kind is None:
        raise UserError(f"{args.checkpoint} does not say which degradation it was trained for; pass --degradation")
    test = load_test_set(kind, args.data_dir, args.limit, args.allow_partial, dataset=meta.get("test_set", "cifar10"),
                         size=meta.get("crop_size", 96))
    model = load_model(args.checkpoint, device)
    scores, _ = score_model(model, test.degraded, test.sharp, device, args.batch_size, args.ensemble)
    rows = {**test.baselines, "restored": scores}
    gain = scores.psnr.mean() - test.baselines["input"].psnr.mean()
    how = ", mean of 8 flips/rotations" if args.ensemble else ""
    return [f"{meta['model']} ({args.checkpoint}, {trained(meta)}{how}) on {test.source}",
            table(rows, 1000 * scores.seconds / len(test.sharp)), f"restored - input: {gain:+.2f} dB PSNR, "
            f"{scores.ssim.mean() - test.baselines['input'].ssim.mean():+.4f} SSIM (device {device})"]


def evaluate_classifier(args: argparse.Namespace, meta: Dict, device: str) -> List[str]:
    _, test, source = load_mnist_splits(args.data_dir, args.limit)
    loss, accuracy, _, _ = score_classifier(load_model(args.checkpoint, device), test, device, args.batch_size)
    return [f"{meta['model']} ({args.checkpoint}, {trained(meta)}) on {source}",
            f"test loss {loss:.4f}, accuracy {100 * accuracy:.2f}% ({len(test):,} images)"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Errors (a bad checkpoint, missing data, a bad option) are one line and exit 2 (command.run)."""
    return command.run(evaluate, build_parser().parse_args(argv), PROG, user_errors=(ValueError,))


def evaluate(args: argparse.Namespace) -> int:
    meta = checkpoint_meta(args.checkpoint)
    device = command.device(args.device)
    use_tf32(getattr(args, "tf32", False))
    record = REGISTRY.get(meta.get("model"))
    run = evaluate_classifier if record is not None and record.task == "classify" else evaluate_restoration
    print("\n".join(run(args, meta, device)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
