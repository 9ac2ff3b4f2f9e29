"""Lesson 05: the course's week 4, a U-Net GAN that removes motion blur: transposed convolution, instance norm,
PatchGAN, and the adversarial and perceptual losses.

Run:  python lessons/05_unet_gan.py --quick    (256 crops per epoch, 2 epochs: several minutes on 2 cores)
      python lessons/05_unet_gan.py            (the course recipe: 100 epochs of 5,000 crops; a GPU's job)
      --smoke: 8 crops of 32x32, 1 epoch, seconds.  --out DIR for the run and figures (default runs/lessons/05).

Lesson 04 restored blur with networks trained on MSE alone. Here the generator also answers to a discriminator that
looks at patches of (blurred, image) pairs, and to a VGG network's view of the image.
What it shows
1. Transposed convolution is the adjoint of convolution: <conv(x), y> = <x, conv_transpose(y)>, and a 4x4 kernel
   at stride 2 covers every output pixel equally often, while a 3x3 kernel at stride 2 does not (checkerboards).
2. Instance norm normalises each image by its own statistics: an image's output does not depend on its batch.
3. The U-Net: four stride-2 convolutions down, four transposed ones up, skip connections (6,170,627 parameters);
   the PatchGAN's receptive field: each of its 11x11 scores judges a 46x46 patch of a 96x96 pair.
4. The losses: LSGAN with soft targets 0.9 / 0.1, the perceptual term on VGG16's relu3_3 features, 100 * L1.
5. Training with python -m minitorch_deblur.train deblurgan's loop (train/gan.py): the loss terms per epoch, and the
   run's samples/epoch_NNN.png (blurred | restored | sharp).
Next: the exercises of every lesson (python -m minitorch_deblur.exercise list); this one's: exercise start --lesson 5.
Files to read: models/unet.py, models/patchgan.py, models/vgg.py, train/gan.py, functional/conv.py,
functional/norm.py. Tests that prove it: python -m pytest -m lesson5
"""
from __future__ import annotations

import argparse
import json
from typing import Dict, Optional, Sequence

import numpy as np

import minitorch_deblur.functional as F
from minitorch_deblur import Generator, Tensor, nn, no_grad
from minitorch_deblur.lesson import lesson_args
from minitorch_deblur.models import MultiScalePatchGAN, UNet
from minitorch_deblur.train import cli


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    return lesson_args(__doc__, "05", full=(0, 100), quick=(0, 2), smoke=(4, 1), argv=argv)


def show_transposed_convolution(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((1, 2, 6, 6)), rng.standard_normal((3, 2, 4, 4))
    y = rng.standard_normal((1, 3, 3, 3))
    left = float((F.conv2d(Tensor(x), Tensor(w), stride=2, padding=1).data * y).sum())
    right = float((x * F.conv_transpose2d(Tensor(y), Tensor(w), stride=2, padding=1).data).sum())
    print(f"1. <conv(x), y> = {left:.6f} and <x, conv_transpose(y)> = {right:.6f}: the same number, so the "
          "transposed convolution is the convolution's backward pass, used forwards")
    for k in (4, 3):
        ones = Tensor(np.ones((1, 1, 4, 4)))
        hits = F.conv_transpose2d(ones, Tensor(np.ones((1, 1, k, k))), stride=2, padding=1).data[0, 0]
        print(f"   kernel {k}x{k}, stride 2: how many input pixels land on each output pixel (row 3): "
              f"{hits[3].astype(int).tolist()}{'  <- uneven: a checkerboard' if k == 3 else ''}")


def show_instance_norm(seed: int) -> None:
    norm = nn.InstanceNorm2d(2)
    g = Generator(seed)
    a, b = g.normal(5, 3, (1, 2, 8, 8)), g.normal(-1, 1, (1, 2, 8, 8))
    alone = norm(Tensor(a)).data
    paired = norm(Tensor(np.concatenate([a, b]))).data[:1]
    print(f"2. instance norm: image a alone vs in a batch with b: max difference {np.abs(alone - paired).max():.1e}; "
          f"per-image mean {alone.mean(axis=(2, 3)).round(6).ravel().tolist()}, std "
          f"{alone.std(axis=(2, 3)).round(3).ravel().tolist()}")


def show_networks(seed: int) -> None:
    g = UNet(generator=Generator(seed))
    print(f"3. U-Net: {sum(p.numel() for p in g.parameters()):,} parameters")
    x = Tensor(np.zeros((1, 3, 96, 96), dtype=np.float32))
    with no_grad():
        shapes = [tuple(d.data.shape) for d in MultiScalePatchGAN()(x, x)]
    field = 1
    for k, s in reversed([(4, 2), (4, 2), (4, 2), (4, 1)]):
        field = (field - 1) * s + k
    print(f"   PatchGAN on a 96x96 pair: score maps {shapes}; each score sees a {field}x{field} patch "
          "((r - 1) * stride + kernel, from the last layer back)")


def show_losses() -> None:
    print("4. LSGAN: D pushes D(x, sharp) to 0.9 and D(x, G(x)) to 0.1 (soft targets), each a mean square, halved "
          "and summed over the scales;\n   G: 1 * MSE(D(x, G(x)), 0.9) + 0.01 * MSE(VGG(G(x)), VGG(sharp)) + "
          "100 * |G(x) - sharp|: L1 keeps the colours, VGG the textures, D the sharpness")


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    show_transposed_convolution(args.seed)
    show_instance_norm(args.seed)
    show_networks(args.seed)
    show_losses()
    run_dir = args.out / "run"
    crops, size, batch = (8, 32, 4) if args.smoke else (256, 96, 8) if args.epochs <= 2 else (5000, 96, 32)
    command = ["deblurgan", "--epochs", str(args.epochs), "--crops-per-epoch", str(crops), "--crop-size", str(size),
               "--batch-size", str(batch), "--seed", str(args.seed), "--out", str(run_dir), "--no-progress"]
    command += ["--limit", str(args.limit)] if args.limit else []
    command += ["--data-dir", str(args.data_dir)] if args.data_dir else []
    print(f"5. training: python -m minitorch_deblur.train {' '.join(command)}")
    command += ["--resume", str(run_dir)] if (run_dir / "metrics.json").exists() else []
    cli.run(cli.parse_args(command))
    final = json.loads((run_dir / "metrics.json").read_text())["final"]
    gain = final["test_psnr"] - final["input_psnr"]
    print(f"   held-out crops: blurred {final['input_psnr']:.2f} dB -> restored {final['test_psnr']:.2f} dB "
          f"({gain:+.2f}); the course claimed +3-4 dB after 100 epochs{' (a smoke run means nothing)' if args.smoke else ''}")
    print(f"   wrote {run_dir / 'losses.png'} (each loss term) and {run_dir / 'samples'}/epoch_NNN.png")
    return {"gain_db": gain, "test_psnr": final["test_psnr"]}


if __name__ == "__main__":
    main()
