"""Restoration test sets and scoring, shared by ``train`` (every epoch), ``evaluate`` and the lessons.

The rule (../shared/REFERENCE.md): a fixed test set, degraded once with a fixed seed (``TEST_SEED``) and cached;
PSNR on RGB in [0, 1] with MAX = 1 as the mean of per-image PSNR, the model's output clipped to [0, 1], SSIM beside
it, and the degraded input's own scores beside the model's. ``test_mse`` is the mean squared error of the
unclipped output, the number course B printed (Keras's ``model.evaluate``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from ..autograd import Tensor, no_grad
from ..backend import to_device
from ..metrics import psnr, ssim

TEST_SEED = 10_000          # degradations of every test set; training draws from the run's own --seed
SUPER_RESOLUTION = ("bilinear", "bicubic")


@dataclass
class Scores:
    """Per-image numbers of one pass over a test set (arrays of shape (N,))."""

    mse: np.ndarray          # unclipped output vs sharp
    psnr: np.ndarray         # clipped output, dB, MAX = 1
    ssim: np.ndarray
    seconds: float           # wall time of the model's forward passes

    def summary(self, prefix: str) -> Dict[str, float]:
        return {f"{prefix}_mse": float(self.mse.mean()), f"{prefix}_psnr": float(self.psnr.mean()),
                f"{prefix}_ssim": float(self.ssim.mean())}


def score_images(images: np.ndarray, sharp: np.ndarray, seconds: float = 0.0) -> Scores:
    """Per-image MSE (as given), PSNR and SSIM (of ``images`` clipped to [0, 1]) against ``sharp``."""
    clipped = np.clip(images, 0.0, 1.0)
    mse = ((images.astype(np.float64) - sharp) ** 2).reshape(len(sharp), -1).mean(axis=1)
    return Scores(mse, psnr(clipped, sharp, reduction="none"), ssim(clipped, sharp, reduction="none"), seconds)


def dihedral(images: np.ndarray, k: int, inverse: bool = False) -> np.ndarray:
    """The k-th of the 8 flips/rotations (k = 0..7) of images (..., H, W), or its inverse (a view)."""
    if not inverse:
        images = np.rot90(images, k % 4, axes=(-2, -1))
        return images[..., ::-1] if k >= 4 else images
    images = images[..., ::-1] if k >= 4 else images
    return np.rot90(images, -(k % 4), axes=(-2, -1))


def self_ensemble(restore: Callable[[np.ndarray], np.ndarray], images: np.ndarray, turns: int = 8) -> np.ndarray:
    """The mean of ``restore`` on the first ``turns`` flips/rotations of images (..., H, W), each output turned
    back (geometric self-ensemble: errors that depend on orientation average out). ``turns`` 1: restore(images)."""
    if turns == 1:
        return restore(images)
    total = 0.0
    for k in range(turns):
        total = total + dihedral(restore(np.ascontiguousarray(dihedral(images, k))), k, inverse=True)
    return total / turns


def restore_batches(model: Any, degraded: np.ndarray, device: str = "cpu", batch_size: int = 100,
                    ensemble: bool = False) -> Tuple[np.ndarray, float]:
    """The model's output (N, C, H, W) float32 on the CPU, unclipped, for a degraded set (eval mode, no graph);
    and the seconds its forward passes took (including the transfers on a GPU).

    ``ensemble``: the mean of the outputs on the 8 flips/rotations of each image (``self_ensemble``, 8 passes)."""
    model.eval()
    out = np.empty(degraded.shape, dtype=np.float32)
    seconds = 0.0

    def forward(batch: np.ndarray) -> np.ndarray:
        return to_device(model(Tensor(to_device(batch, device))).data, "cpu")

    with no_grad():
        for start in range(0, len(degraded), batch_size):
            tick = time.perf_counter()
            out[start:start + batch_size] = self_ensemble(forward, degraded[start:start + batch_size],
                                                          8 if ensemble else 1)
            seconds += time.perf_counter() - tick
    return out, seconds


def score_model(model: Any, degraded: np.ndarray, sharp: np.ndarray, device: str = "cpu",
                batch_size: int = 100, ensemble: bool = False) -> Tuple[Scores, np.ndarray]:
    """Scores of the model's output on a degraded test set, and the output itself (unclipped)."""
    restored, seconds = restore_batches(model, degraded, device, batch_size, ensemble)
    return score_images(restored, sharp, seconds), restored


@dataclass
class TestSet:
    """A fixed, degraded test set: sharp (N, C, H, W) float32, degraded ditto, baselines by name, and a source line."""

    sharp: np.ndarray
    degraded: np.ndarray
    baselines: Dict[str, Scores]
    source: str


def load_test_set(kind: str, data_dir: Optional[str] = None, limit: int = 0, allow_partial: bool = False,
                  dataset: str = "cifar10", size: int = 96, count: int = 240) -> TestSet:
    """A fixed test set degraded with ``kind`` (seed ``TEST_SEED``), cached under the cache folder.

    ``dataset``: 'cifar10' (its test split) or 'natural-images' (``count`` seeded ``size`` x ``size`` crops of the
    HELD-OUT photographs, never the training ones). Baselines: 'input' (the degraded image itself, clipped for
    PSNR/SSIM) and, for the x4 degradations, 'bicubic' (the same low-resolution image upscaled bicubic: the classic
    super-resolution baseline).
    """
    from ..data import load_cifar10
    from ..data.degrade import degrade_test_set, resize_down_up
    from ..data.images import from_uint8
    from ..data.root import cache_dir

    if dataset == "cifar10":
        test = load_cifar10("test", data_dir, allow_partial=allow_partial)
    elif dataset == "natural-images":
        from ..data.natural import natural_image_crops

        test = natural_image_crops(count, size, "held-out", seed=TEST_SEED, data_dir=data_dir)
    else:
        raise ValueError(f"load_test_set: dataset must be 'cifar10' or 'natural-images', got {dataset!r}")
    images = test.images[:limit] if limit else test.images
    cache = cache_dir() / "degraded" / f"{dataset}-test-{len(images)}x{images.shape[-1]}-{kind}-seed{TEST_SEED}.npz"
    degraded = degrade_test_set(images, kind, seed=TEST_SEED, cache=cache)
    sharp = from_uint8(images)
    name = f"{test.name}: {len(images):,} test images, {kind}, seed {TEST_SEED}"
    changed = (degraded != sharp).reshape(len(sharp), -1).any(axis=1)
    if not changed.all():   # 'shake' draws some crops unblurred: their input PSNR is infinite, so they are left out
        degraded, sharp = degraded[changed], sharp[changed]
        name += f" ({int((~changed).sum())} drawn unblurred left out: {len(sharp):,} scored)"
    baselines = {"input": score_images(degraded, sharp)}
    if kind in SUPER_RESOLUTION and kind != "bicubic":
        baselines["bicubic"] = score_images(resize_down_up(sharp, 4, kind, up="bicubic"), sharp)
    return TestSet(sharp, degraded, baselines, name)
