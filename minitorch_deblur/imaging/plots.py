"""Training figures as PNG files: loss and accuracy curves, a confusion matrix (matplotlib, imported here only)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np


def pyplot():  # noqa: ANN202
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, works on a machine without a screen
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, dpi: int = 100, tight: bool = True) -> Path:  # noqa: ANN001
    """tight_layout (unless a colour bar spans several axes, or the figure lays itself out: constrained layout),
    save to ``path`` (its folder made), close."""
    if tight and not fig.get_constrained_layout():
        fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return Path(path)


def wrapped(title: str, width: int) -> str:
    """Each line of ``title`` wrapped to ``width`` characters, so a long data source stays inside the figure."""
    import textwrap

    return "\n".join(textwrap.fill(line, width) for line in title.splitlines())


def integer_epochs(*axes: object) -> None:
    """Epoch axes tick whole epochs only (no 1.5, 2.5)."""
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_curves(history: Dict[str, List[float]], path: Path, title: str) -> None:
    """Two panels: train/test loss and train/test accuracy per epoch, under one title (constrained layout: the
    titles stay inside the canvas and apart); whole-epoch ticks."""
    plt = pyplot()
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    loss_ax.plot(epochs, history["train_loss"], "o-", label="train")
    loss_ax.plot(epochs, history["test_loss"], "s-", label="test")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    acc_ax.plot(epochs, 100 * np.asarray(history["train_acc"]), "o-", label="train")
    acc_ax.plot(epochs, 100 * np.asarray(history["test_acc"]), "s-", label="test")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    integer_epochs(loss_ax, acc_ax)
    fig.suptitle(wrapped(title, 110))
    save_figure(fig, path)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """counts[true, predicted]."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (labels, predictions), 1)
    return counts


def plot_confusion(counts: np.ndarray, path: Path, title: str, names: Sequence[str] = ()) -> None:
    plt = pyplot()
    names = list(names) or [str(i) for i in range(len(counts))]
    fig, ax = plt.subplots(figsize=(6, 5.5), layout="constrained")
    image = ax.imshow(np.log1p(counts), cmap="Blues")
    for (i, j), c in np.ndenumerate(counts):
        if c:
            ax.text(j, i, str(c), ha="center", va="center", fontsize=7,
                    color="white" if c > counts.max() / 2 else "black")
    ax.set(xticks=range(len(names)), yticks=range(len(names)), xticklabels=names, yticklabels=names,
           xlabel="predicted", ylabel="true")
    fig.suptitle(wrapped(title, 60), fontsize=10)   # over the whole figure, wrapped: never clipped
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    save_figure(fig, path)


def plot_restoration_curves(history: Dict[str, List[float]], path: Path, title: str) -> None:
    """Two panels: train / validation / test MSE per epoch (log scale), and test PSNR beside the input's."""
    plt = pyplot()
    epochs = np.arange(1, len(history["test_psnr"]) + 1)
    fig, (loss_ax, psnr_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for key, label, style in (("train_loss", "train", "o-"), ("val_loss", "validation", "s-"),
                              ("test_mse", "test", "^-")):
        if key in history:
            loss_ax.plot(epochs, history[key], style, label=label, markersize=3)
    loss_ax.axhline(history["input_mse"][-1], color="grey", ls="--", label="degraded input (test)")
    loss_ax.set(xlabel="epoch", ylabel="MSE", yscale="log", title="loss")
    psnr_ax.plot(epochs, history["test_psnr"], "^-", label="restored", markersize=3)
    psnr_ax.axhline(history["input_psnr"][-1], color="grey", ls="--", label="degraded input")
    if "bicubic_psnr" in history:
        psnr_ax.axhline(history["bicubic_psnr"][-1], color="tab:orange", ls=":", label="bicubic x4")
    psnr_ax.set(xlabel="epoch", ylabel="PSNR (dB, MAX 1)", title="test PSNR")
    for ax in (loss_ax, psnr_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    integer_epochs(loss_ax, psnr_ax)
    fig.suptitle(title, fontsize=9)
    save_figure(fig, path)


def plot_restoration_grid(degraded: np.ndarray, restored: np.ndarray, sharp: np.ndarray, degraded_psnr: Sequence[float],
                          restored_psnr: Sequence[float], path: Path, title: str) -> None:
    """Three rows (degraded | restored | sharp) of N images (N, C, H, W) in [0, 1], labelled with their PSNR."""
    plt = pyplot()
    n = len(sharp)
    fig, axes = plt.subplots(3, n, figsize=(1.6 * n, 5.2), squeeze=False)
    rows = ((degraded, "degraded", degraded_psnr), (restored, "restored", restored_psnr), (sharp, "sharp", None))
    for r, (images, label, scores) in enumerate(rows):
        for i in range(n):
            ax = axes[r, i]
            image = np.clip(images[i], 0, 1).transpose(1, 2, 0)
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if scores is not None:
                ax.set_title(f"{scores[i]:.2f} dB", fontsize=8)
            if i == 0:
                ax.set_ylabel(label)
    fig.suptitle(title, fontsize=9)
    save_figure(fig, path)


def plot_loss_terms(history: Dict[str, List[float]], path: Path, title: str) -> None:
    """One panel per training loss term (history keys 'train_<term>'), per epoch."""
    plt = pyplot()
    keys = [k for k in history if k.startswith("train_")]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 3), squeeze=False)
    for ax, key in zip(axes[0], keys):
        ax.plot(np.arange(1, len(history[key]) + 1), history[key], "o-", markersize=3)
        ax.set(xlabel="epoch", title=key[len("train_"):].replace("_", " "))
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    save_figure(fig, path)


def plot_side_by_side(columns: Sequence[Tuple[str, np.ndarray]], sharp: np.ndarray, path: Path, title: str,
                      dpi: int = 90) -> None:
    """One row per image, one column per method (name, (N, 3, H, W) in [0, 1]) and the sharp image last, each
    titled with its PSNR against ``sharp``: the same crops through every method (the GAN's loss ablation)."""
    from ..metrics import psnr

    plt = pyplot()
    columns = list(columns) + [("sharp", sharp)]
    n = len(sharp)
    fig, axes = plt.subplots(n, len(columns), figsize=(2.2 * len(columns), 2.4 * n), squeeze=False)
    for i in range(n):
        for ax, (name, images) in zip(axes[i], columns):
            image = np.clip(images[i], 0, 1)
            ax.imshow(image.transpose(1, 2, 0))
            label = name if name == "sharp" else f"{name}\n{psnr(image, sharp[i]):.2f} dB"
            ax.set_title(label, fontsize=8)
            ax.axis("off")
    fig.suptitle(title, fontsize=9)
    save_figure(fig, path, dpi=dpi)


def most_changed_window(before: np.ndarray, after: np.ndarray, size: int = 256) -> Tuple[int, int, int]:
    """(top, left, side) of the ``size`` x ``size`` window (at most the image) where (C, H, W) ``after`` differs
    most from ``before`` (sum of |after - before| over the window: an integral image, every position tried)."""
    diff = np.abs(np.asarray(after, np.float64) - np.asarray(before, np.float64)).sum(axis=0)
    h, w = diff.shape
    side = min(size, h, w)
    table = np.pad(diff.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = table[side:, side:] - table[:-side, side:] - table[side:, :-side] + table[:-side, :-side]
    top, left = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(top), int(left), side
