"""Lesson 02: the course's week 2, a CNN on MNIST: im2col, output sizes, batch norm, and the gap to the MLP.

Run:  python lessons/02_cnn_mnist.py --quick    (up to 10k train / 10k test images, 2 epochs: a few minutes on 2
                                                cores; it prints how many the data it found really had)
      python lessons/02_cnn_mnist.py            (the course recipe: Adam 1e-3, batch 64, 5 epochs on all of MNIST)
      --smoke: 256 images, 1 epoch, seconds.  --out DIR for the figures (default runs/lessons/02), --data-dir.

What it shows
1. im2col on a 4x4 toy image: its four 3x3 windows become the columns of a 9x4 matrix, and a convolution is one
   matrix product, weight (1x9) @ columns, equal to F.conv2d's output; max pooling of the same image.
2. Output sizes: (H + 2p - k) // s + 1 through the CNN's conv and pooling layers (28 -> 14 -> 7 -> 3), checked
   against the shapes the layers really produce; then the layer table (422,474 parameters).
3. Batch norm: train mode normalises each channel with the batch's own statistics and moves the running ones;
   eval mode uses the running statistics, so the same input gives a different output until they have converged.
4. The CNN and the MLP trained the same way: test accuracies and the gap, beside the course's 99.21% vs 97.81%;
   the first conv layer's learned filters (filters.png) and its feature maps of one digit (feature_maps.png).
Lesson 01's MLP saw each pixel as an unrelated input; a convolution shares one small filter across the image.
Next: lesson 03 predicts an image instead of a label. Exercises: python -m minitorch_deblur.exercise start --lesson 2.
Files to read: functional/conv.py (im2col, conv2d), functional/pool.py, functional/norm.py, nn/norm.py,
models/cnn.py. Tests that prove it: python -m pytest -m lesson2
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np
from tqdm import tqdm

import minitorch_deblur.functional as F
from minitorch_deblur import Generator, Tensor, nn, no_grad
from minitorch_deblur.data import DataLoader
from minitorch_deblur.models import CNN, MLP
from minitorch_deblur.optim import Adam
from minitorch_deblur.nn.summary import summary
from minitorch_deblur.train import evaluate, load_data, train_epoch
from minitorch_deblur.lesson import beside_course, lesson_args
from minitorch_deblur.imaging.plots import pyplot, save_figure

COURSE = {"CNN": 0.9921, "MLP": 0.9781}  # printed by the course's notebooks after 5 epochs


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    return lesson_args(__doc__, "02", full=(0, 5), quick=(10_000, 2), smoke=(256, 1), argv=argv)


def show_im2col() -> None:
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    kernel = np.eye(3, dtype=np.float32).reshape(1, 1, 3, 3)  # sums the diagonal of each window
    columns = F.im2col(x, kernel_size=3)
    by_matmul = (kernel.reshape(1, 9) @ columns).reshape(2, 2)
    by_conv2d = F.conv2d(Tensor(x), Tensor(kernel)).data[0, 0]
    print(f"1. im2col: a 4x4 image\n{x[0, 0]}\n   has (4 + 0 - 3) // 1 + 1 = 2, so 2x2 = 4 windows of 3x3; im2col "
          f"makes each one a column, shape {columns.shape}; row (i, j) holds pixel (i, j) of every window:\n{columns}")
    print(f"   the diagonal kernel as a 1x9 row @ columns = {by_matmul.ravel()}, reshaped to 2x2:\n{by_matmul}")
    print(f"   F.conv2d gives the same: {np.array_equal(by_matmul, by_conv2d)}  (with padding=1 the matrix is "
          f"{F.im2col(x, 3, padding=1).shape}: 16 windows, a 4x4 output)")
    pooled = F.max_pool2d(Tensor(x), 2).data[0, 0]
    print(f"   max_pool2d(2) keeps the largest pixel of each 2x2 window: {pooled.tolist()}")


def show_output_sizes(model: CNN) -> None:
    print("2. output sizes, (H + 2p - k) // s + 1, against the real shapes:")
    x = Tensor(np.zeros((1, 1, 28, 28), dtype=np.float32))
    model.eval()
    with no_grad():
        for layer in (layer for block in model.features for layer in block):
            h, x = x.shape[-1], layer(x)
            if isinstance(layer, (nn.Conv2d, nn.MaxPool2d)):
                k, s, p = (int(np.ravel(v)[0]) for v in (layer.kernel_size, layer.stride, layer.padding))
                size = (h + 2 * p - k) // s + 1
                print(f"   {type(layer).__name__:9s} ({h:2d} + 2*{p} - {k}) // {s} + 1 = {size:2d}   real {x.shape}")
                assert size == x.shape[-1]
    print(f"   flatten: {x.shape[1]} x {x.shape[2]} x {x.shape[3]} = {x[0].numel()} inputs to the first Linear\n"
          f"{summary(model, (1, 1, 28, 28))}")


def show_batch_norm(seed: int) -> None:
    norm = nn.BatchNorm2d(2)
    x = Tensor(Generator(seed).normal(5.0, 3.0, (16, 2, 4, 4), dtype=np.float32))  # mean ~5, std ~3 per channel

    def stats(y: Tensor) -> str:
        return f"mean {y.data.mean(axis=(0, 2, 3)).round(2)}, std {y.data.std(axis=(0, 2, 3)).round(2)}"

    print(f"3. batch norm of a batch with {stats(x)}")
    y_train = norm(x)  # train mode (the default): the batch's statistics
    print(f"   train mode: output {stats(y_train)}; running_mean 0 -> {norm.running_mean.round(3)} "
          f"(= 0.9 * 0 + 0.1 * batch mean)")
    y_eval = norm.eval()(x)
    print(f"   eval mode, same input: output {stats(y_eval)} (normalised by the running stats, "
          f"max difference {np.abs(y_eval.data - y_train.data).max():.2f})")
    for _ in range(100):
        norm.train()(x)
    y_eval = norm.eval()(x)
    print(f"   after 100 more training batches: running_mean {norm.running_mean.round(3)}, eval output "
          f"{stats(y_eval)}, max difference {np.abs(y_eval.data - y_train.data).max():.3f}")


def train_and_test(name: str, model: Any, train: Any, test: Any, args: argparse.Namespace) -> float:
    optimizer = Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(train, batch_size=64, shuffle=True, seed=args.seed)
    for epoch in range(1, args.epochs + 1):
        with tqdm(total=len(loader), desc=f"   {name} epoch {epoch}", leave=False, file=sys.stdout,
                  disable=args.smoke) as bar:
            train_loss, _ = train_epoch(model, optimizer, loader, bar)
        _, accuracy, _, _ = evaluate(model, test, "cpu")
        print(f"   {name} epoch {epoch}: train loss {train_loss:.4f}, test accuracy {accuracy:.2%}")
    return accuracy


def save_grid(maps: np.ndarray, path: Path, title: str, rows: int = 4, weights: bool = False) -> None:
    """Tile (n, h, w) maps framed by a gap into one image of ``rows`` rows. ``weights``: one shared, symmetric
    colour scale with a colour bar (a filter's sign and size matter); otherwise each map is scaled to [0, 1]."""
    plt = pyplot()
    if weights:
        limit = float(np.abs(maps).max())
        shown, options = maps, dict(cmap="RdBu_r", vmin=-limit, vmax=limit)
    else:
        low, high = maps.min(axis=(1, 2), keepdims=True), maps.max(axis=(1, 2), keepdims=True)
        shown, options = (maps - low) / np.maximum(high - low, 1e-8), dict(cmap="gray", vmin=0, vmax=1)
    shown = np.pad(shown, ((0, 0), (1, 1), (1, 1)), constant_values=np.nan)   # NaN frames: drawn blank
    n, h, w = shown.shape
    fig, ax = plt.subplots(figsize=(8, 4.4))
    image = ax.imshow(shown.reshape(rows, n // rows, h, w).transpose(0, 2, 1, 3).reshape(rows * h, -1), **options)
    if weights:
        fig.colorbar(image, ax=ax, label="weight", shrink=0.8)
    ax.set_title(title)
    ax.axis("off")
    save_figure(fig, path)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    out = args.out
    show_im2col()
    cnn = CNN(generator=Generator(args.seed))
    show_output_sizes(cnn)
    show_batch_norm(args.seed)

    train, test, source = load_data(args)
    print(f"data: {source}")
    print(f"4. the CNN and the MLP, each trained on {len(train):,} images and tested on {len(test):,}: "
          f"Adam 1e-3, batch 64, epochs: {args.epochs}")
    accuracy = {"CNN": train_and_test("CNN", cnn, train, test, args),
                "MLP": train_and_test("MLP", MLP(generator=Generator(args.seed)), train, test, args)}
    ran = argparse.Namespace(**{**vars(args), "limit": len(train)})   # what this run really trained on
    for name, acc in accuracy.items():
        print(f"   {name}: {acc:.2%}   {beside_course(ran, f'{COURSE[name]:.2%}')}")
    gap = accuracy["CNN"] - accuracy["MLP"]
    print(f"   the CNN's gain over the MLP: {100 * gap:+.2f} points (course: "
          f"{100 * (COURSE['CNN'] - COURSE['MLP']):+.2f}){'; too few images to mean much' if args.smoke else ''}")

    digit, label = test[np.arange(1)]
    cnn.eval()
    with no_grad():
        maps = cnn.features[0][:3](Tensor(digit)).data[0]  # conv, batch norm, ReLU
    save_grid(cnn.features[0][0].weight.data[:, 0], out / "filters.png", "CNN: the 32 learned 3x3 filters of conv 1",
              weights=True)
    save_grid(maps, out / "feature_maps.png", f"CNN: conv 1 -> BN -> ReLU feature maps of a {label[0]}")
    print(f"   wrote {out / 'filters.png'} and {out / 'feature_maps.png'}")
    print("Next: lesson 03 predicts an image instead of a label (python lessons/03_srcnn.py --quick). Exercises: "
          "python -m minitorch_deblur.exercise start --lesson 2")
    return {"cnn_accuracy": accuracy["CNN"], "mlp_accuracy": accuracy["MLP"]}


if __name__ == "__main__":
    main()
