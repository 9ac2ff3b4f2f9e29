"""Lesson 05: the course's week 4, a U-Net GAN that removes motion blur: transposed convolution, instance norm,
PatchGAN, and the adversarial and perceptual losses.

Run:  python lessons/05_unet_gan.py --quick    (3 runs of 256 crops per epoch, 2 epochs: about 10 minutes on 2 cores)
      python lessons/05_unet_gan.py            (the course recipe: 100 epochs of 5,000 crops; a GPU's job)
      --smoke: 8 crops of 32x32, 1 epoch, seconds.  --out DIR for the run and figures (default runs/lessons/05).

Lesson 04 restored blur with networks trained on MSE alone. Here the generator also answers to a discriminator that
looks at patches of (blurred, image) pairs, and to a VGG network's view of the image.
What it shows (figures in --out)
1. Motion blur: the course's line kernels (7-15 px, any angle), an anti-aliased one and a camera-shake trajectory
   (kernels.png), and what one does to a photo crop.
2. Transposed convolution is the adjoint of convolution: <conv(x), y> = <x, conv_transpose(y)>. A 3x3 kernel at
   stride 2 covers output pixels unevenly, and even a 4x4 one makes a 2x2 checkerboard when its four phases hold
   different weights; nearest x2 + a 3x3 convolution (resize-conv) cannot (checkerboard.png).
3. Instance norm normalises each image by its own statistics: an image's output does not depend on its batch.
4. The U-Net: four stride-2 convolutions down, four transposed ones up, and a skip connection at each level that
   hands the decoder the encoder's map of the same size (6,170,627 parameters).
5. The PatchGAN's two scales: each of the 11x11 scores of the first judges a 46x46 patch of a 96x96 pair; the
   second sees the pair at half size, so each of its 5x5 scores judges 93x93 pixels: local texture and whole layout.
6. The perceptual loss: VGG16's relu3_3 maps of a sharp crop and its blurred copy (perceptual.png); blur changes
   them more than it changes the pixels.
7. The losses: LSGAN with soft targets 0.9 / 0.1, the perceptual term on relu3_3, 100 * L1.
8. Training with python -m minitorch_deblur.train deblurgan's loop (train/gan.py): the loss terms per epoch, and the
   run's samples/epoch_NNN.png (blurred | restored | sharp); then the ablation: the same short run with L1 alone
   and with L1 + perceptual, all three on the same held-out crops (ablation.png). The README's ablation table has
   the full-length numbers.
Next: lesson 06 trains on several processes at once (lessons/06_data_parallel.py); the exercises: python -m
minitorch_deblur.exercise list (this one's: exercise start --lesson 5).
Files to read: models/unet.py, models/patchgan.py, models/vgg.py, train/gan.py, functional/conv.py,
functional/norm.py, data/degrade.py. Tests that prove it: python -m pytest -m lesson5
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

import minitorch_deblur.functional as F
from minitorch_deblur import Generator, Tensor, nn, no_grad
from minitorch_deblur.lesson import lesson_args
from minitorch_deblur.models import MultiScalePatchGAN, UNet
from minitorch_deblur.train import cli


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    return lesson_args(__doc__, "05", full=(0, 100), quick=(0, 2), smoke=(4, 1), argv=argv)


def show_motion_kernels(args: argparse.Namespace) -> None:
    from minitorch_deblur.data.degrade import convolve2d, motion_blur_kernel, trajectory_kernel
    from minitorch_deblur.data.natural import natural_image_crops
    from minitorch_deblur.metrics import psnr
    from minitorch_deblur.imaging.plots import pyplot, save_figure

    kernels = [(f"line {n} px, {a} deg", motion_blur_kernel(n, a)) for n, a in ((7, 0), (11, 45), (15, 100))]
    kernels += [("line 15 px, 100 deg, anti-aliased", motion_blur_kernel(15, 100, anti_alias=True)),
                ("camera-shake trajectory", trajectory_kernel(np.random.default_rng(args.seed)))]
    size = 32 if args.smoke else 96
    sharp = natural_image_crops(1, size, "train", seed=args.seed, data_dir=args.data_dir).images[0] / 255.0
    blurred = np.clip(convolve2d(sharp[None], kernels[2][1])[0], 0, 1)
    plt = pyplot()
    fig, axes = plt.subplots(1, len(kernels) + 2, figsize=(2.3 * (len(kernels) + 2), 3.2))   # room for two-line titles
    for ax, (name, k) in zip(axes, kernels):
        ax.imshow(k, cmap="gray")
        ax.set_title(f"{name}\n{k.shape[0]}x{k.shape[1]}, sum {k.sum():.2f}", fontsize=7)
        ax.axis("off")
    for ax, image, name in ((axes[-2], sharp, "a TRAIN crop"), (axes[-1], blurred, "with the 15 px line")):
        ax.imshow(image.transpose(1, 2, 0))
        ax.set_title(name, fontsize=7)
        ax.axis("off")
    save_figure(fig, args.out / "kernels.png")
    print(f"1. motion blur: a line kernel of n px spreads each pixel over n pixels along its angle (weights sum to "
          f"1: brightness kept); the 15 px one takes a crop from sharp to {psnr(blurred, sharp):.2f} dB. "
          f"Real camera shake follows a curved trajectory. Figure: {args.out / 'kernels.png'}")


def show_transposed_convolution(args: argparse.Namespace) -> None:
    from minitorch_deblur.imaging.plots import pyplot, save_figure

    rng = np.random.default_rng(args.seed)
    x, w = rng.standard_normal((1, 2, 6, 6)), rng.standard_normal((3, 2, 4, 4))
    y = rng.standard_normal((1, 3, 3, 3))
    left = float((F.conv2d(Tensor(x), Tensor(w), stride=2, padding=1).data * y).sum())
    right = float((x * F.conv_transpose2d(Tensor(y), Tensor(w), stride=2, padding=1).data).sum())
    print(f"2. <conv(x), y> = {left:.6f} and <x, conv_transpose(y)> = {right:.6f}: the same number, so the "
          "transposed convolution is the convolution's backward pass, used forwards")
    for k in (4, 3):
        ones = Tensor(np.ones((1, 1, 4, 4)))
        hits = F.conv_transpose2d(ones, Tensor(np.ones((1, 1, k, k))), stride=2, padding=1).data[0, 0]
        print(f"   kernel {k}x{k}, stride 2: how many input pixels land on each output pixel (row 3): "
              f"{hits[3].astype(int).tolist()}{'  <- uneven: a checkerboard' if k == 3 else ''}")
    flat = Tensor(np.ones((1, 8, 8, 8), dtype=np.float32))     # a flat feature map: any pattern comes from the layer
    g = Generator(args.seed)
    layers = {"transposed 4x4 s2": nn.ConvTranspose2d(8, 1, 4, stride=2, padding=1, generator=g),
              "resize-conv (nearest x2, 3x3)": nn.Sequential(nn.Upsample(scale_factor=2),
                                                             nn.Conv2d(8, 1, 3, padding=1, generator=g))}
    with no_grad():
        outs = {name: layer(flat).data[0, 0, 2:-2, 2:-2] for name, layer in layers.items()}   # inside the border
    low, high = min(o.min() for o in outs.values()), max(o.max() for o in outs.values())
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(6.5, 3.2))
    for ax, (name, out) in zip(axes, outs.items()):
        phases = [float(out[i::2, j::2].mean()) for i in (0, 1) for j in (0, 1)]
        print(f"   {name} of a flat map, a random init: the four 2x2 phases average "
              f"{', '.join(f'{p:+.3f}' for p in phases)}{'  <- a checkerboard' if np.ptp(phases) > 1e-4 else ''}")
        ax.imshow(out, cmap="gray", vmin=low, vmax=high)     # one grey scale for both
        ax.set_title(f"{name}\nof a flat map", fontsize=8)
        ax.axis("off")
    save_figure(fig, args.out / "checkerboard.png")


def show_instance_norm(seed: int) -> None:
    norm = nn.InstanceNorm2d(2)
    g = Generator(seed)
    a, b = g.normal(5, 3, (1, 2, 8, 8)), g.normal(-1, 1, (1, 2, 8, 8))
    alone = norm(Tensor(a)).data
    paired = norm(Tensor(np.concatenate([a, b]))).data[:1]
    print(f"3. instance norm: image a alone vs in a batch with b: max difference {np.abs(alone - paired).max():.1e}; "
          f"per-image mean {alone.mean(axis=(2, 3)).round(6).ravel().tolist()}, std "
          f"{alone.std(axis=(2, 3)).round(3).ravel().tolist()}")


def show_networks(seed: int) -> None:
    g = UNet(generator=Generator(seed))
    print(f"4. U-Net: {sum(p.numel() for p in g.parameters()):,} parameters")
    x = Tensor(np.zeros((1, 3, 96, 96), dtype=np.float32))
    with no_grad():
        e1 = g.enc1(x)
        e2 = g.enc2(e1)
        e3 = g.enc3(e2)
        e4 = g.enc4(e3)
        d1 = g.dec1(e4)
        d2 = g.dec2(F.cat([d1, e3], dim=1))
        d3 = g.dec3(F.cat([d2, e2], dim=1))
    shape = lambda t: "x".join(map(str, t.data.shape[1:]))  # noqa: E731
    print(f"   down: {shape(x)} -> {shape(e1)} -> {shape(e2)} -> {shape(e3)} -> {shape(e4)}")
    print(f"   up:   dec1 {shape(d1)} + skip {shape(e3)} -> dec2 {shape(d2)} + skip {shape(e2)} -> dec3 {shape(d3)} "
          f"+ skip {shape(e1)} -> dec4 3x96x96: each skip hands the decoder the fine detail the bottleneck "
          "(6x6) cannot carry")
    with no_grad():
        shapes = [tuple(d.data.shape) for d in MultiScalePatchGAN()(x, x)]
    field = 1
    for k, s in reversed([(4, 2), (4, 2), (4, 2), (4, 1)]):
        field = (field - 1) * s + k
    coarse = (field - 1) * 2 + 3         # the second scale's AvgPool 3x3 stride 2 in front
    print(f"5. PatchGAN on a 96x96 pair: score maps {shapes}; each score of the first sees a {field}x{field} patch "
          f"((r - 1) * stride + kernel, from the last layer back); the second runs on the pair average-pooled to "
          f"48x48, so each of its scores sees {coarse}x{coarse} pixels of the original: local texture and whole "
          "layout")


def show_perceptual(args: argparse.Namespace) -> None:
    from minitorch_deblur.data.degrade import convolve2d, motion_blur_kernel
    from minitorch_deblur.data.natural import natural_image_crops
    from minitorch_deblur.models import VGG16Features
    from minitorch_deblur.imaging.plots import pyplot, save_figure

    size = 32 if args.smoke else 96
    sharp = natural_image_crops(1, size, "train", seed=args.seed, data_dir=args.data_dir).images / 255.0
    blurred = np.clip(convolve2d(sharp.astype(np.float32), motion_blur_kernel(15, 100)), 0, 1)
    vgg = VGG16Features()
    with no_grad():
        fs, fb = (vgg(Tensor(im.astype(np.float32))).data[0] for im in (sharp, blurred))
    pixel = float(((sharp - blurred) ** 2).mean() / (sharp ** 2).mean())
    feature = float(((fs - fb) ** 2).mean() / (fs ** 2).mean())
    print(f"6. VGG16 relu3_3 of a {size}x{size} crop: {fs.shape[0]} maps of {fs.shape[1]}x{fs.shape[2]}; blur changes "
          f"the pixels by {100 * pixel:.1f}% of their energy and the features by {100 * feature:.1f}%: edges and "
          "textures are what those maps respond to")
    top = np.argsort(-fs.reshape(len(fs), -1).mean(axis=1))[:4]
    plt = pyplot()
    fig, axes = plt.subplots(2, 5, figsize=(11, 4.6))
    for row, (image, maps, name) in enumerate(((sharp[0], fs, "sharp"), (blurred[0], fb, "blurred"))):
        axes[row, 0].imshow(image.transpose(1, 2, 0))
        axes[row, 0].set_title(name, fontsize=8)
        for ax, c in zip(axes[row, 1:], top):
            ax.imshow(maps[c], cmap="magma", vmin=0, vmax=fs[c].max())
            ax.set_title(f"relu3_3 map {c}", fontsize=8)
        for ax in axes[row]:
            ax.axis("off")
    save_figure(fig, args.out / "perceptual.png")


def show_losses() -> None:
    print("7. LSGAN: D pushes D(x, sharp) to 0.9 and D(x, G(x)) to 0.1 (soft targets), each a mean square, halved "
          "and summed over the scales;\n   G: 1 * MSE(D(x, G(x)), 0.9) + 0.01 * MSE(VGG(G(x)), VGG(sharp)) + "
          "100 * |G(x) - sharp|: L1 keeps the colours, VGG the textures, D the sharpness")


def run_folder(args: argparse.Namespace, losses: str) -> Path:
    """Where the run with these loss terms goes: run/ for all three, run-l1/ and run-l1-perceptual/ for the others."""
    return args.out / ("run" if losses == "l1+perceptual+adv" else f"run-{losses.replace('+', '-')}")


def train_run(args: argparse.Namespace, losses: str) -> Dict[str, float]:
    """One short run of train deblurgan with these loss terms (resumed if it is already there)."""
    run_dir = run_folder(args, losses)
    crops, size, batch = (8, 32, 4) if args.smoke else (256, 96, 8) if args.epochs <= 2 else (5000, 96, 32)
    command = ["deblurgan", "--epochs", str(args.epochs), "--crops-per-epoch", str(crops), "--crop-size", str(size),
               "--batch-size", str(batch), "--seed", str(args.seed), "--out", str(run_dir), "--no-progress",
               "--losses", losses]
    command += ["--limit", str(args.limit)] if args.limit else []
    command += ["--data-dir", str(args.data_dir)] if args.data_dir else []
    print(f"   python -m minitorch_deblur.train {' '.join(command)}")
    command += ["--resume", str(run_dir)] if (run_dir / "metrics.json").exists() else []
    cli.run(cli.parse_args(command))
    return json.loads((run_dir / "metrics.json").read_text())["final"]


def show_ablation(args: argparse.Namespace) -> Dict[str, float]:
    from minitorch_deblur.checkpoint import load_model
    from minitorch_deblur.imaging.plots import plot_side_by_side
    from minitorch_deblur.imaging.restoration import load_test_set, restore_batches

    print("8. training (the course's three terms), then the same run with fewer terms:")
    finals = {losses: train_run(args, losses) for losses in ("l1+perceptual+adv", "l1", "l1+perceptual")}
    run = run_folder(args, "l1+perceptual+adv")
    print(f"   wrote {run / 'losses.png'} (each loss term) and {run / 'samples'}/epoch_NNN.png")
    size = 32 if args.smoke else 96
    test = load_test_set("motion", args.data_dir, dataset="natural-images", size=size, count=args.limit or 240)
    pick = list(range(min(4, len(test.sharp))))
    columns = [("blurred", test.degraded[pick])]
    for losses, final in finals.items():
        restored, _ = restore_batches(load_model(run_folder(args, losses) / "model.npz"), test.degraded[pick])
        columns.append((losses, restored))
        print(f"   {losses:18s} held-out crops: blurred {final['input_psnr']:.2f} dB -> restored "
              f"{final['test_psnr']:.2f} dB ({final['test_psnr'] - final['input_psnr']:+.2f}), SSIM "
              f"{final['input_ssim']:.3f} -> {final['test_ssim']:.3f}")
    plot_side_by_side(columns, test.sharp[pick], args.out / "ablation.png", "the same held-out crops, by loss terms")
    print(f"   the course claimed +3-4 dB after 100 epochs{' (a smoke run means nothing)' if args.smoke else ''}; "
          f"the README's ablation table has the full-length runs. Figure: {args.out / 'ablation.png'}")
    final = finals["l1+perceptual+adv"]
    return {"gain_db": final["test_psnr"] - final["input_psnr"], "test_psnr": final["test_psnr"]}


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    show_motion_kernels(args)
    show_transposed_convolution(args)
    show_instance_norm(args.seed)
    show_networks(args.seed)
    show_perceptual(args)
    show_losses()
    result = show_ablation(args)
    print("Next: lesson 06 trains on several processes at once (python lessons/06_data_parallel.py), and the "
          "exercises of every lesson: python -m minitorch_deblur.exercise list (this one's: exercise start --lesson 5)")
    return result


if __name__ == "__main__":
    main()
