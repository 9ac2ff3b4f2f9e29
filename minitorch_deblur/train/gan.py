"""The GAN task (course A, week 4): a U-Net generator against a multi-scale PatchGAN, with a VGG perceptual loss.

Data: random ``--crop-size`` crops of the natural-images TRAIN photographs, drawn afresh every epoch
(``--crops-per-epoch``), blurred on the fly with ``--degradation`` (the course: line motion blur 7-15 px); the test
set is fixed, seeded crops of the HELD-OUT photographs, blurred once (imaging/restoration.py). Never the two mixed.
Losses (``--losses``): 'l1', 'l1+perceptual' or the course's 'l1+perceptual+adv':
    D: 0.5 * (MSE(D(x, y), 0.9) + MSE(D(x, G(x)), 0.1)), summed over the scales (LSGAN, soft targets)
    G: 1 * sum over scales MSE(D(x, G(x)), 0.9) + 0.01 * MSE(VGG(G(x)), VGG(y)) + 100 * mean |G(x) - y|
    (the VGG term in the scale of the course's torchvision VGG: PERCEPTUAL_SCALE below)
Each batch: one D step, then one G step, each with gradient-norm clipping at 1.0; Adam with betas (0.5, 0.999).
``--l1-warmup N``: the first N epochs train G on the L1 term alone (D rests), so it first learns to copy its input.
Divergence: a non-finite term, D's loss stuck near 0 or G's loss exploding for ``PATIENCE`` steps stops training
with a message naming the term; the last good epoch stays saved.
"""
from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .. import functional as F
from ..autograd import Tensor, no_grad
from ..backend import Generator
from ..checkpoint import checkpoint_meta, load_checkpoint
from ..imaging.restoration import load_test_set
from ..models.vgg import VGG16Features
from ..nn import Module
from ..optim import Adam, clip_grad_norm_
from .restore import RestoreTask
from .task import Diverged, Update

REAL, FAKE = 0.9, 0.1               # LSGAN targets of the course
WEIGHTS = {"adversarial": 1.0, "perceptual": 0.01, "l1": 100.0}
# The course's VGG was torchvision's: it sees (x - mean) / std, std ~0.226. These Caffe weights see x * 255 - mean,
# so their relu3_3 features are ~255 * 0.226 = 58x larger and their MSE ~3,300x: scaled back, the course's weight
# 0.01 weighs the perceptual term as it did there.
PERCEPTUAL_SCALE = 1.0 / (255.0 * 0.226) ** 2
PATIENCE = 200                      # steps of a stuck D or an exploding G before training stops
D_STUCK, G_EXPLODES = 1e-4, 50.0    # D loss below this; G loss above this times its running median


def _lsgan(outputs: List[Tensor], target: float) -> Tensor:
    """sum over scales of mean((D - target)^2)."""
    total = None
    for out in outputs:
        term = ((out - target) ** 2).mean()
        total = term if total is None else total + term
    return total


class GANTask(RestoreTask):
    """The deblurring GAN: G, D and an optimiser for each; ``update`` does the D step then the G step."""

    example_shape = (1, 3, 96, 96)
    options = ("degradation", "losses", "crop_size", "crops_per_epoch", "l1_warmup")
    shown = ("d_loss",)

    def model_options(self) -> Dict[str, Any]:
        return {"upsample": self.config.upsample, "residual": bool(self.config.residual),
                "dropout": float(self.config.dropout), "discriminator": True}

    def optimizers(self, model: Any) -> Dict[str, Any]:
        return {name: Adam(net.parameters(), lr=self.config.lr, betas=(0.5, 0.999))
                for name, net in (("g", model.generator), ("d", model.discriminator))}

    def init_from(self, path: str, model: Any) -> str:
        """A file of the generator alone (the shipped one, ``strip --drop discriminator``) loads into G; D starts
        afresh."""
        if checkpoint_meta(path).get("model_options", {}).get("discriminator") is not False:
            return super().init_from(path, model)
        target = Module()
        target.generator = model.generator
        meta = load_checkpoint(path, target)
        return (f"initialised from {path} (its weights after {meta.get('epoch', '?')} epochs; a fresh optimiser and "
                "lr schedule; the discriminator starts afresh: the file holds the generator only)")

    def load(self, device: str, run_dir: Path) -> str:
        from ..data.degrade import Degrader
        from ..data.natural import NaturalImages

        config, self.device, self.val, self.run_dir = self.config, device, None, run_dir
        self.photos = NaturalImages("train", config.data_dir)
        count = config.limit or 240
        self.test = load_test_set(config.degradation, config.data_dir, dataset="natural-images", size=config.crop_size,
                                  count=count)
        self.degrader = Degrader(config.degradation, seed=config.seed)
        self.vgg = VGG16Features().to(device) if "perceptual" in config.losses else None
        self.terms = config.losses.split("+")
        self.counts = {"train": config.crops_per_epoch, "validation": 0, "test": len(self.test.sharp)}
        self._history: Dict[str, deque] = {"g": deque(maxlen=PATIENCE), "d_low": deque(maxlen=PATIENCE)}
        return (f"natural-images TRAIN: {len(self.photos.files)} photos, {config.crops_per_epoch:,} new "
                f"{config.crop_size}x{config.crop_size} crops per epoch / {self.test.source} (HELD-OUT photos); "
                f"degradation {config.degradation}; losses {config.losses}")

    def batches(self, epoch: int) -> Any:
        from ..data import DataLoader

        self.epoch = epoch
        crops = self.photos.crops(self.config.crops_per_epoch, self.config.crop_size, (self.config.seed, epoch))
        loader = DataLoader(crops, batch_size=self.config.batch_size, shuffle=True, transform=self.degrader,
                            device=self.device, generator=Generator([self.config.seed, epoch]))
        self.degrader.calls = (epoch - 1) * len(loader)
        return loader

    def update(self, model: Any, optimizer: Dict[str, Any], batch: Tuple[Any, Any], index: int,
               last_finite: Optional[float], check_now: bool) -> Update:
        """One D step then one G step. Returns the G loss and each term times n as device scalars: nothing here
        waits for a GPU; ``check`` reads them when the loop does."""
        blurred, sharp = batch
        x, y = Tensor(blurred * 2 - 1), Tensor(sharp * 2 - 1)
        g, d = model.generator, model.discriminator
        warm = self.epoch <= self.config.l1_warmup
        fake = g(x)
        sums: Dict[str, Any] = {}
        n = len(sharp)
        adversarial = "adv" in self.terms and not warm
        if adversarial:                                    # D step: real pairs towards 0.9, restored ones towards 0.1
            optimizer["d"].zero_grad()
            d_loss = 0.5 * (_lsgan(d(x, y), REAL) + _lsgan(d(x, fake.detach()), FAKE))
            sums["d_loss"] = d_loss.data * n
            d_loss.backward()
            if self.sync is not None:                      # --distributed: D's gradients summed across ranks
                self.sync(d.parameters())
            clip_grad_norm_(d.parameters(), 1.0)
            optimizer["d"].step()
        optimizer["g"].zero_grad()                         # G step
        terms = {"l1": F.l1_loss(fake, y)}
        if "perceptual" in self.terms and not warm:
            with no_grad():
                target = self.vgg((y + 1) * 0.5)
            terms["perceptual"] = F.mse_loss(self.vgg((fake + 1) * 0.5), target) * PERCEPTUAL_SCALE
        if adversarial:
            terms["adversarial"] = _lsgan(d(x, fake), REAL)
        g_loss = None
        for name, term in terms.items():
            sums[name] = term.data * n
            weighted = term * WEIGHTS[name]
            g_loss = weighted if g_loss is None else g_loss + weighted
        g_loss.backward()
        if self.sync is not None:
            self.sync(g.parameters())
        clip_grad_norm_(g.parameters(), 1.0)
        optimizer["g"].step()
        return g_loss.data, True, n, sums

    def check(self, index: int, value: float, n: int, sums: Dict[str, float], last: Optional[float]) -> None:
        """A non-finite term, a discriminator stuck near 0 or a generator far above its running median for
        PATIENCE steps raises ``Diverged`` naming it."""
        names = {"d_loss": "discriminator", "l1": "l1", "perceptual": "perceptual", "adversarial": "adversarial"}
        for key, total in sums.items():
            if not np.isfinite(total):
                raise Diverged(index, f"the {names[key]} loss is {total / n}", last)
        if not np.isfinite(value):
            raise Diverged(index, f"the generator loss is {value}", last)
        history = self._history["g"]
        high = self._history.setdefault("g_high", deque(maxlen=PATIENCE))
        if len(history) == PATIENCE and value > G_EXPLODES * float(np.median(history)):
            high.append(1)
        else:
            high.clear()
        history.append(value)
        if len(high) == PATIENCE:
            raise Diverged(index, f"the generator loss has stayed above {G_EXPLODES:g}x its running median for "
                                  f"{PATIENCE} steps", last)
        if "d_loss" in sums:
            low = self._history["d_low"]
            low.append(sums["d_loss"] / n < D_STUCK)
            if len(low) == PATIENCE and all(low):
                raise Diverged(index, f"the discriminator loss has stayed below {D_STUCK:g} for {PATIENCE} steps "
                                      "(D wins; G gets no useful gradient): lower D's lr or warm up with L1", last)

    def describe(self, record: Dict[str, float]) -> str:
        terms = " ".join(f"{k[6:]} {record[k]:.4g}" for k in ("train_l1", "train_perceptual", "train_adversarial",
                                                              "train_d_loss") if k in record)
        gain = record["test_psnr"] - record["input_psnr"]
        return (f"G {record['train_loss']:.4g} ({terms}) | test psnr {record['input_psnr']:.2f} -> "
                f"{record['test_psnr']:.2f} dB ({gain:+.2f}) ssim {record['input_ssim']:.3f} -> "
                f"{record['test_ssim']:.3f}")

    def evaluate(self, model: Any) -> Dict[str, float]:
        """The restoration metrics, and a sample grid of this epoch in samples/."""
        from ..imaging.plots import plot_restoration_grid

        record = super().evaluate(model)
        n = min(6, len(self.test.sharp))
        plot_restoration_grid(self.test.degraded[:n], self.restored[:n], self.test.sharp[:n],
                              self.test.baselines["input"].psnr[:n], self.scores.psnr[:n],
                              self.run_dir / "samples" / f"epoch_{self.epoch:03d}.png",
                              f"epoch {self.epoch}: blurred | restored | sharp (PSNR, MAX 1)")
        return record

    @staticmethod
    def plot_curves(history: Dict[str, List[float]], run_dir: Path, title: str) -> None:
        """curves.png: test MSE and PSNR (the G loss is no MSE, so it is left out); losses.png: each loss term."""
        from ..imaging.plots import plot_loss_terms, plot_restoration_curves

        plot_restoration_curves({k: v for k, v in history.items() if k != "train_loss"}, run_dir / "curves.png",
                                title)
        plot_loss_terms(history, run_dir / "losses.png", title)

    def meta(self) -> Dict[str, Any]:
        return {**super().meta(), "test_set": "natural-images", "crop_size": self.config.crop_size,
                "losses": self.config.losses}
