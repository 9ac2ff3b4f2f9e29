"""The real-blur task (``train nafnet``): the default ``deblur`` model, trained on realistic synthetic camera shake.

Data: ``--crop-size`` crops of the natural-images TRAIN photographs at their own resolution, ``--crops-per-epoch``
new ones every epoch, blurred on the fly by data/shake_pairs.py (camera-shake trajectories in linear light,
saturated highlights, sensor noise, JPEG; 10 % left sharp). One TRAIN photo in ``VAL_EVERY`` never gives a
training crop: its crops, blurred once, are the validation set that a recipe is chosen by. The test set is
fixed crops of the HELD-OUT photographs, blurred once: measured each epoch, never used to choose anything.
Loss (``--loss``): 'l1' (mean |f(x) - y|, the recipe's), 'mse' or 'psnr'.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

from .. import functional as F
from ..autograd import Tensor
from ..backend import Generator
from ..errors import UserError
from ..imaging.restoration import TEST_SEED, TestSet, score_images, score_model
from .restore import RestoreTask

VAL_EVERY = 20      # TRAIN photos 19, 39, 59, ... (every 20th, 27 of 543) are kept for validation
MARGIN = 32         # px of real photo around each crop, blurred with it and then cut off
EVAL_CROPS = 48     # validation and test crops
LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss, "psnr": F.psnr_loss}


class RealBlurTask(RestoreTask):
    """L1 between the model's output and the sharp crop; validation and test PSNR / SSIM each epoch."""

    example_shape = (1, 3, 64, 64)
    options = ("loss", "crop_size", "crops_per_epoch")

    def load(self, device: str, run_dir: Path) -> str:
        from ..data.natural import NaturalImages
        from ..data.shake_pairs import ShakePairs

        config, self.device = self.config, device
        self.photos = NaturalImages("train", config.data_dir)
        everyone = np.arange(len(self.photos.files))
        held = everyone % VAL_EVERY == VAL_EVERY - 1
        held[-1] |= not held.any()             # a small folder (tests) still keeps one photo out
        if held.all():
            raise UserError(f"natural-images has {len(everyone)} TRAIN photo(s): training needs at least 2 (one is "
                            "kept for validation)")
        self.train_photos, val_photos = everyone[~held], everyone[held]
        count = config.limit or EVAL_CROPS
        self.val = self._fixed(self.photos, count, TEST_SEED + 1, val_photos)
        held_out = NaturalImages("held-out", config.data_dir)
        test = self._fixed(held_out, count, TEST_SEED, None)
        self.test = TestSet(test[1], test[0], {"input": score_images(test[0], test[1])},
                            f"natural-images HELD-OUT: {count} crops {config.crop_size}x{config.crop_size}, "
                            f"realistic shake, seed {TEST_SEED}")
        self.val_input = score_images(*self.val)
        self.pairs = ShakePairs(MARGIN, seed=config.seed)
        self.counts = {"train": config.crops_per_epoch, "validation": count, "test": count}
        return (f"natural-images TRAIN: {len(self.train_photos)} photos, {config.crops_per_epoch:,} new "
                f"{config.crop_size}x{config.crop_size} crops per epoch, realistic shake (10 % sharp) / validation: "
                f"{count} crops of {len(val_photos)} other TRAIN photos / test: {count} crops of the HELD-OUT photos")

    def _fixed(self, photos: Any, count: int, seed: int, which: Any) -> Tuple[np.ndarray, np.ndarray]:
        """``count`` crops of the ``which`` photos, each blurred once (none left sharp): (blurred, sharp)."""
        from ..data.loader import to_float
        from ..data.shake_pairs import ShakeMix, shake_pairs

        size = self.config.crop_size + 2 * MARGIN
        crops = photos.crops(count, size, seed, photos=which)
        return shake_pairs(to_float(crops.images), MARGIN, (seed,), ShakeMix(identity=0.0))   # all blurred: finite PSNR

    def batches(self, epoch: int) -> Any:
        from ..data import DataLoader

        size = self.config.crop_size + 2 * MARGIN
        crops = self.photos.crops(self.config.crops_per_epoch, size, (self.config.seed, epoch), self.train_photos)
        loader = DataLoader(crops, batch_size=self.config.batch_size, shuffle=True, transform=self.pairs,
                            device=self.device, generator=Generator([self.config.seed, epoch]))
        self.pairs.calls = (epoch - 1) * len(loader)   # this epoch's blurs, on resume too
        return loader

    def step(self, model: Any, batch: Tuple[Any, Any]) -> Tuple[Tensor, int, Dict[str, Any]]:
        blurred, sharp = batch
        return LOSSES[self.config.loss](model(Tensor(blurred)), Tensor(sharp)), len(sharp), {}

    def evaluate(self, model: Any) -> Dict[str, float]:
        val, _ = score_model(model, *self.val, device=self.device, batch_size=8)
        record = {"val_loss": float(val.mse.mean()), "val_psnr": float(val.psnr.mean()),
                  "val_input_psnr": float(self.val_input.psnr.mean())}
        self.scores, self.restored = score_model(model, self.test.degraded, self.test.sharp, self.device,
                                                 batch_size=8)
        record.update(self.scores.summary("test"))
        base = self.test.baselines["input"]
        record.update(input_psnr=float(base.psnr.mean()), input_ssim=float(base.ssim.mean()),
                      input_mse=float(base.mse.mean()))
        return record

    def describe(self, record: Dict[str, float]) -> str:
        return (f"train {self.config.loss} {record['train_loss']:.5f} | validation psnr {record['val_input_psnr']:.2f}"
                f" -> {record['val_psnr']:.2f} dB ({record['val_psnr'] - record['val_input_psnr']:+.2f}) | test psnr "
                f"{record['input_psnr']:.2f} -> {record['test_psnr']:.2f} dB "
                f"({record['test_psnr'] - record['input_psnr']:+.2f}) ssim {record['input_ssim']:.3f} -> "
                f"{record['test_ssim']:.3f}")

    def meta(self) -> Dict[str, Any]:
        return {"task": "realblur", "degradation": "realistic", "images": self.counts,
                "crop_size": self.config.crop_size, "test_set": "natural-images"}

    def finish(self, model: Any, history: Dict[str, List[float]], run_dir: Path, data_source: str) -> str:
        from ..imaging.plots import plot_restoration_grid

        self.plot_curves(history, run_dir, f"NAFNet on {data_source}")
        n = min(6, len(self.test.sharp))
        plot_restoration_grid(self.test.degraded[:n], self.restored[:n], self.test.sharp[:n],
                              self.test.baselines["input"].psnr[:n], self.scores.psnr[:n], run_dir / "samples.png",
                              "realistic shake: blurred | restored | sharp (PSNR, MAX 1)")
        final = {key: values[-1] for key, values in history.items()}
        return (f"test: psnr {final['input_psnr']:.2f} -> {final['test_psnr']:.2f} dB "
                f"({final['test_psnr'] - final['input_psnr']:+.2f}), validation {final['val_input_psnr']:.2f} -> "
                f"{final['val_psnr']:.2f} dB; wrote {run_dir}/model.npz, metrics.json, curves.png, samples.png")
