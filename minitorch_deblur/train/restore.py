"""The restoration task (SRCNN, the CAE, Win5-RB): sharp CIFAR-10 images, degraded on the fly, MSE (or ``--loss
psnr``: each image's -PSNR).

Training batches are degraded afresh each time (``Degrader``: epoch e, batch b draws from (seed, call number)),
optionally flipped / rotated first (``--augment``) and mixed with natural-image crops (``--natural-crops``).
Validation (the last ``--val-fraction`` of the training images, as Keras's ``validation_split`` takes them) and the
test set are degraded once with fixed seeds, so every epoch and every model is scored on the same inputs.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

from .. import functional as F
from ..autograd import Tensor
from ..backend import Generator
from ..errors import UserError
from ..imaging.restoration import TEST_SEED, Scores, load_test_set, score_images, score_model
from .task import Task

VAL_SEED = TEST_SEED + 1


def augment(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image (C, H, W) of a square batch under one of the 8 flips/rotations, drawn from ``rng``."""
    out = np.empty_like(images)
    for i, d in enumerate(rng.integers(0, 8, len(images))):
        x = np.rot90(images[i], int(d) % 4, axes=(1, 2))
        out[i] = x[:, :, ::-1] if d >= 4 else x
    return out


class RestoreTask(Task):
    """MSE (or -PSNR) between the model's output and the sharp image; validation MSE, test MSE, PSNR and SSIM each
    epoch, beside the degraded input's; curves, a sample grid and a per-image CSV at the end."""

    example_shape = (2, 3, 32, 32)
    options = ("degradation", "allow_partial", "train_images", "val_fraction", "augment", "natural_crops", "loss",
               "ema")

    def load(self, device: str, run_dir: Path) -> str:
        from ..data import ArrayDataset, DataLoader, load_cifar10
        from ..data.degrade import Degrader, degrade_test_set
        from ..data.images import from_uint8

        config, self.device = self.config, device
        train = load_cifar10("train", config.data_dir, allow_partial=config.allow_partial)
        images = train.images[:config.train_images] if config.train_images else train.images
        if config.limit:
            images = images[:config.limit]
        n_val = int(round(config.val_fraction * len(images)))
        if len(images) - n_val < 1 or (config.val_fraction and n_val < 1):
            raise UserError(f"--val-fraction {config.val_fraction:g} of {len(images):,} images leaves "
                            f"{len(images) - n_val:,} for training and {n_val:,} for validation; each needs at least "
                            "1: change --val-fraction, or use more images (--limit, --train-images)")
        images, val = images[:len(images) - n_val], images[len(images) - n_val:]
        self.test = load_test_set(config.degradation, config.data_dir, config.limit, config.allow_partial)
        parts = [f"{train.name.split(' (')[0]}: {len(images):,} train"
                 + (f" + {n_val:,} validation" if n_val else "") + f" / {len(self.test.sharp):,} test images"
                 + (" (PARTIAL copy)" if "PARTIAL" in train.name else "")]
        if config.natural_crops:
            from ..data.natural import natural_image_crops

            crops = natural_image_crops(config.natural_crops, images.shape[-1], "train", config.seed, config.data_dir)
            images = np.concatenate([images, crops.images])
            parts.append(f"+ {config.natural_crops:,} natural-image crops (TRAIN folders)")
        if config.augment:
            parts.append("+ flips/rotations")
        self.val = None
        if n_val:
            self.val = (degrade_test_set(val, config.degradation, seed=VAL_SEED), from_uint8(val))
        self.degrader = Degrader(config.degradation, seed=config.seed)
        self.loader = DataLoader(ArrayDataset(images), batch_size=config.batch_size, shuffle=True,
                                 transform=self._degrade, device=device)
        self.counts = {"train": len(images), "validation": n_val, "test": len(self.test.sharp)}
        return f"{' '.join(parts)}; degradation {config.degradation}"

    def _degrade(self, sharp: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        if self.config.augment:
            sharp = augment(sharp, np.random.default_rng((self.config.seed, self.degrader.calls, 7)))
        return self.degrader(sharp)

    def batches(self, epoch: int) -> Any:
        self.loader.generator = Generator([self.config.seed, epoch])   # shuffling of this epoch
        self.degrader.calls = (epoch - 1) * len(self.loader)          # degradations of this epoch, on resume too
        return self.loader

    def step(self, model: Any, batch: Tuple[Any, Any]) -> Tuple[Tensor, int, Dict[str, Any]]:
        degraded, sharp = batch
        loss = F.psnr_loss if self.config.loss == "psnr" else F.mse_loss
        return loss(model(Tensor(degraded)), Tensor(sharp)), len(sharp), {}

    def evaluate(self, model: Any) -> Dict[str, float]:
        record: Dict[str, float] = {}
        if self.val is not None:
            val_scores, _ = score_model(model, *self.val, device=self.device)
            record["val_loss"] = float(val_scores.mse.mean())
        self.scores, self.restored = score_model(model, self.test.degraded, self.test.sharp, self.device)
        record.update(self.scores.summary("test"))
        for name, baseline in self.test.baselines.items():
            record.update({f"{name}_psnr": float(baseline.psnr.mean()), f"{name}_ssim": float(baseline.ssim.mean())})
        record["input_mse"] = float(self.test.baselines["input"].mse.mean())
        return record

    def describe(self, record: Dict[str, float]) -> str:
        val = f" val {record['val_loss']:.5f}" if "val_loss" in record else ""
        gain = record["test_psnr"] - record["input_psnr"]
        return (f"train loss {record['train_loss']:.5f}{val} | test mse {record['test_mse']:.5f} (input "
                f"{record['input_mse']:.5f}) psnr {record['input_psnr']:.2f} -> {record['test_psnr']:.2f} dB "
                f"({gain:+.2f}) ssim {record['input_ssim']:.3f} -> {record['test_ssim']:.3f}")

    def meta(self) -> Dict[str, Any]:
        return {"task": "restore", "degradation": self.config.degradation, "images": self.counts}

    def finish(self, model: Any, history: Dict[str, List[float]], run_dir: Path, data_source: str) -> str:
        from ..imaging.plots import plot_restoration_grid

        name = self.config.model.upper()
        self.plot_curves(history, run_dir, f"{name} on {data_source}")
        n = min(8, len(self.test.sharp))
        plot_restoration_grid(self.test.degraded[:n], self.restored[:n], self.test.sharp[:n],
                              self.test.baselines["input"].psnr[:n], self.scores.psnr[:n], run_dir / "samples.png",
                              f"{name}, {self.config.degradation}: degraded | restored | sharp (PSNR, MAX 1)")
        write_per_image_csv(run_dir / "per_image.csv", self.scores, self.test.baselines)
        final = {key: values[-1] for key, values in history.items()}
        return (f"test: psnr {final['input_psnr']:.2f} -> {final['test_psnr']:.2f} dB "
                f"({final['test_psnr'] - final['input_psnr']:+.2f}), ssim {final['input_ssim']:.3f} -> "
                f"{final['test_ssim']:.3f}, mse {final['test_mse']:.5f} (input {final['input_mse']:.5f}) over "
                f"{len(self.test.sharp):,} images; wrote {run_dir}/model.npz, metrics.json, curves.png, samples.png, "
                "per_image.csv")

    @staticmethod
    def plot_curves(history: Dict[str, List[float]], run_dir: Path, title: str) -> None:
        from ..imaging.plots import plot_restoration_curves

        plot_restoration_curves(history, run_dir / "curves.png", title)


def write_per_image_csv(path: Path, scores: Scores, baselines: Dict[str, Scores]) -> None:
    """One row per test image: index, then PSNR and SSIM of each baseline and of the model, and the model's MSE."""
    columns = ["index"] + [f"{name}_{m}" for name in list(baselines) + ["restored"] for m in ("psnr", "ssim")]
    rows = zip(range(len(scores.psnr)), *[getattr(s, m) for s in list(baselines.values()) + [scores]
                                           for m in ("psnr", "ssim")], scores.mse)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns + ["restored_mse"])
        for row in rows:
            writer.writerow([row[0]] + [f"{v:.6g}" for v in row[1:]])


__all__ = ["RestoreTask", "augment", "score_images", "write_per_image_csv"]
