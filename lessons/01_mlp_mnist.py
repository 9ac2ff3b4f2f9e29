"""Lesson 01: the course's week 1, an MLP on MNIST, trained by a five-line loop with dropout and Adam.

Run:  python lessons/01_mlp_mnist.py --quick    (10k train / 10k test images, 2 epochs: well under a minute)
      python lessons/01_mlp_mnist.py            (the course recipe: Adam 1e-3, batch 64, 5 epochs on all of MNIST)
      --smoke: 500 images, 1 epoch, seconds.  --out DIR for the figures (default runs/lessons/01), --data-dir.

What it shows
1. The model: Flatten, Linear 784->256->128->10 with ReLU and dropout 0.3; 235,146 parameters (the layer table).
2. Dropout: in train mode about 30% of the activations become 0 and the rest are scaled by 1/(1 - 0.3), so the
   mean is unchanged; in eval mode it is the identity.
3. Adam's first step moves (nearly) every weight by the learning rate, whatever the size of its gradient.
4. The training loop itself: zero_grad, forward, cross_entropy, backward, step. Test accuracy after every epoch,
   beside the course's 97.81% after 5 epochs.
5. One test digit of each class with the predicted label and its softmax confidence (predictions.png), and the
   training loss of every batch (loss.png).
Lesson 00 built the engine that computes these gradients; here it trains a whole network.
Next: lesson 02 replaces the linear layers by convolutions. Exercises: python -m minitorch_deblur.exercise start
--lesson 1. Files to read: models/mlp.py, functional/linalg.py, functional/dropout.py, functional/loss.py,
optim/adam.py. Tests that prove it: python -m pytest -m lesson1
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

import minitorch_deblur.functional as F
from minitorch_deblur import Generator, Tensor, nn, no_grad
from minitorch_deblur.data import DataLoader
from minitorch_deblur.models import MLP
from minitorch_deblur.optim import Adam
from minitorch_deblur.nn.summary import summary
from minitorch_deblur.train import evaluate, load_data
from minitorch_deblur.lesson import beside_course, lesson_args
from minitorch_deblur.imaging.plots import pyplot, save_figure

COURSE_ACCURACY = 0.9781  # printed by the course's notebook after 5 epochs


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    return lesson_args(__doc__, "01", full=(0, 5), quick=(10_000, 2), smoke=(500, 1), argv=argv)


def show_dropout(seed: int) -> None:
    layer = nn.Dropout(0.3, generator=Generator(seed))
    ones = Tensor(np.ones((1, 10_000), dtype=np.float32))
    y = layer(ones).data
    print(f"2. dropout(p=0.3) of 10,000 ones, train mode: {np.mean(y == 0):.1%} zeros, the rest "
          f"{y.max():.4f} = 1/0.7; mean {y.mean():.3f}")
    print(f"   eval mode: {'the identity' if np.array_equal(layer.eval()(ones).data, ones.data) else 'NOT identity'}")


def show_adam_first_step(images: np.ndarray, labels: np.ndarray, seed: int) -> None:
    """With m = (1-b1) g and v = (1-b2) g^2, bias correction turns step 1 into lr * g / |g| = lr * sign(g)."""
    probe = MLP(generator=Generator(seed))
    F.cross_entropy(probe(Tensor(images)), labels).backward()
    weight = probe.net[1].weight
    before, grad = weight.data.copy(), np.abs(weight.grad)
    Adam(probe.parameters(), lr=1e-3).step()
    moved = np.abs(weight.data - before)[grad > 0]
    print(f"3. Adam's first step on the first layer: gradients from {grad[grad > 0].min():.1e} to {grad.max():.1e}, "
          f"yet {np.mean(np.isclose(moved, 1e-3, rtol=0.01)):.1%} of the weights moved by lr = 1e-3 (+-1%)")


def save_figures(out: Path, images: np.ndarray, labels: np.ndarray, probs: np.ndarray, losses: List[float]) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(2, 5, figsize=(10, 4.6))
    for ax, image, label, p in zip(axes.flat, images, labels, probs):
        ax.imshow(image[0], cmap="gray")
        ax.set_title(f"true {label}, pred {p.argmax()} ({p.max():.1%})", fontsize=9,
                     color="green" if p.argmax() == label else "red")
        ax.axis("off")
    fig.suptitle("MLP: one test digit per class")
    save_figure(fig, out / "predictions.png")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(losses, lw=0.6)
    ax.set(xlabel="batch", ylabel="cross-entropy", yscale="log", title="MLP: training loss per batch")
    save_figure(fig, out / "loss.png")


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    out = args.out
    train, test, source = load_data(args)
    print(f"data: {source}")
    generator = Generator(args.seed)  # initial weights, then the dropout masks
    model = MLP(generator=generator)
    print(f"1. the MLP, {model.num_parameters():,} parameters (the course's: 235,146):\n"
          f"{summary(model, (1, 1, 28, 28))}")
    show_dropout(args.seed)
    show_adam_first_step(*train[np.arange(64)], args.seed)

    print(f"4. training on {len(train):,} images, testing on {len(test):,}: Adam 1e-3, batch 64, epochs: {args.epochs}")
    optimizer = Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(train, batch_size=64, shuffle=True, seed=args.seed)
    losses: List[float] = []
    ran = argparse.Namespace(**{**vars(args), "limit": len(train)})   # what this run really trained on
    for epoch in range(1, args.epochs + 1):
        model.train()  # dropout on
        for images, labels in loader:
            optimizer.zero_grad()                             # forget the last batch's gradients
            loss = F.cross_entropy(model(Tensor(images)), labels)
            loss.backward()                                   # d loss / d every parameter
            optimizer.step()                                  # Adam moves each parameter
            losses.append(loss.item())
        _, accuracy, _, _ = evaluate(model, test, "cpu")      # eval mode: dropout off
        print(f"   epoch {epoch}: mean train loss {np.mean(losses[-len(loader):]):.4f}, "
              f"test accuracy {accuracy:.2%}  {beside_course(ran, f'{COURSE_ACCURACY:.2%}')}")

    _, test_labels = test[np.arange(len(test))]
    first_of_each = np.array([np.flatnonzero(test_labels == digit)[0] for digit in range(10)])
    images, labels = test[first_of_each]
    model.eval()
    with no_grad():
        probs = F.softmax(model(Tensor(images)), dim=1).data
    correct = int((probs.argmax(axis=1) == labels).sum())
    print("5. one test digit per class: " + ", ".join(f"{l}->{p.argmax()} ({p.max():.0%})"
                                                      for l, p in zip(labels, probs)))
    print(f"   {correct}/10 correct (the course: 10/10)")
    save_figures(out, images, labels, probs, losses)
    print(f"   wrote {out / 'predictions.png'} and {out / 'loss.png'}")
    print("Next: lesson 02 replaces the linear layers by convolutions (python lessons/02_cnn_mnist.py --quick). "
          "Exercises: python -m minitorch_deblur.exercise start --lesson 1")
    return {"test_accuracy": accuracy, "digits_correct": correct}


if __name__ == "__main__":
    main()
