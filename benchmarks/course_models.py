"""Every course model and its training step, written once against a PyTorch-shaped namespace.

Our ``nn``/``functional``/``optim`` use PyTorch's names, so one definition builds both sides of the speed
benchmark: ``Lib.ours()`` or ``Lib.torch()`` supplies nn, F, cat, Adam, clip_grad_norm_ and a tensor maker.
Layers follow ../shared/REFERENCE.md. Models not yet in ``minitorch_deblur.models`` (SRCNN, CAE, Win5-RB, U-Net,
PatchGAN, VGG16 to relu3_3) are built here from ``nn`` layers; later issues swap in the real ones.

``make_step(name, lib, batch)`` returns (step, inputs_description): ``step()`` runs forward, loss, backward and
the optimiser update(s) once on a fixed random batch. ``Lib.ours("cuda")`` / ``Lib.torch("cuda")`` put the models
and the batch on the GPU (CuPy / torch.cuda); the default is the CPU.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Tuple

import numpy as np

# model -> (course batch size, input shape without the batch axis)
COURSE = {
    "mlp": (64, (1, 28, 28)),
    "cnn": (64, (1, 28, 28)),
    "srcnn": (64, (3, 32, 32)),
    "cae": (32, (3, 32, 32)),
    "win5rb": (32, (3, 32, 32)),
    "gan": (32, (3, 96, 96)),
}


@dataclass
class Lib:
    """What a model definition needs from a framework."""
    name: str
    nn: Any
    F: Any
    cat: Callable[..., Any]
    Adam: Any
    clip_grad_norm_: Callable[..., Any]
    tensor: Callable[[np.ndarray], Any]
    device: str = "cpu"

    def place(self, model: Any) -> Any:
        """The model on this library's device (the same object, untouched, on the CPU)."""
        return model if self.device == "cpu" else model.to(self.device)

    @staticmethod
    def ours(device: str = "cpu") -> "Lib":
        import minitorch_deblur as mt
        import minitorch_deblur.functional as F
        import minitorch_deblur.nn as nn
        from minitorch_deblur.optim import Adam, clip_grad_norm_
        mt.manual_seed(0)
        tensor = mt.tensor if device == "cpu" else (lambda a: mt.tensor(a, device=device))
        return Lib("ours", nn, F, F.cat, Adam, clip_grad_norm_, tensor, device)

    @staticmethod
    def torch(device: str = "cpu") -> "Lib":
        import torch
        torch.manual_seed(0)
        tensor = torch.from_numpy if device == "cpu" else (
            lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(device))
        return Lib("torch", torch.nn, torch.nn.functional, torch.cat, torch.optim.Adam,
                   torch.nn.utils.clip_grad_norm_, tensor, device)


# ------------------------------------------------------------------------------------------------- models
def mlp(nn: Any) -> Any:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, 128),
                         nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))


def cnn(nn: Any) -> Any:
    def block(c_in: int, c_out: int) -> List[Any]:
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2),
                nn.Dropout(0.3)]
    return nn.Sequential(*block(1, 32), *block(32, 64), *block(64, 128), nn.Flatten(), nn.Linear(1152, 256),
                         nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(128, 10))


def srcnn(nn: Any) -> Any:
    return nn.Sequential(nn.Conv2d(3, 64, 9, padding=4), nn.ReLU(), nn.Conv2d(64, 32, 1), nn.ReLU(),
                         nn.Conv2d(32, 3, 5, padding=2))


def cae(nn: Any) -> Any:
    def cbr(c_in: int, c_out: int) -> List[Any]:
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.01), nn.ReLU()]
    return nn.Sequential(*cbr(3, 32), *cbr(32, 64), *cbr(64, 128), nn.MaxPool2d(2), *cbr(128, 256),
                         nn.MaxPool2d(2), *cbr(256, 128), nn.Upsample(scale_factor=2), *cbr(128, 64),
                         nn.Upsample(scale_factor=2), *cbr(64, 32), nn.Conv2d(32, 3, 3, padding=1), nn.Sigmoid())


def win5rb(nn: Any) -> Any:
    def block(c_in: int, c_out: int, k: int, relu: bool = True) -> List[Any]:
        return [nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.01)] + \
            ([nn.ReLU()] if relu else [])

    class Win5RB(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(*block(3, 32, 3), *block(32, 64, 5), *block(64, 128, 7),
                                      *block(128, 128, 7), *block(128, 3, 7, relu=False))

        def forward(self, x: Any) -> Any:
            return x + self.body(x)
    return Win5RB()


def unet(nn: Any, cat: Callable[..., Any]) -> Any:
    def down(c_in: int, c_out: int, norm: bool) -> Any:
        layers = [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=not norm)]
        return nn.Sequential(*layers, *([nn.InstanceNorm2d(c_out)] if norm else []), nn.LeakyReLU(0.2))

    def up(c_in: int, c_out: int, dropout: bool) -> Any:
        return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), nn.InstanceNorm2d(c_out),
                             *([nn.Dropout(0.5)] if dropout else []), nn.ReLU())

    class UNet(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.enc1, self.enc2 = down(3, 64, False), down(64, 128, True)
            self.enc3, self.enc4 = down(128, 256, True), down(256, 512, False)
            self.dec1, self.dec2, self.dec3 = up(512, 256, True), up(512, 128, True), up(256, 64, False)
            self.dec4 = nn.Sequential(nn.ConvTranspose2d(128, 3, 4, stride=2, padding=1), nn.Tanh())

        def forward(self, x: Any) -> Any:
            e1 = self.enc1(x)
            e2 = self.enc2(e1)
            e3 = self.enc3(e2)
            d = self.dec1(self.enc4(e3))
            d = self.dec2(cat([d, e3], 1))
            d = self.dec3(cat([d, e2], 1))
            return self.dec4(cat([d, e1], 1))
    return UNet()


def patchgan(nn: Any) -> Any:
    return nn.Sequential(
        nn.Conv2d(6, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, stride=2, padding=1), nn.InstanceNorm2d(128), nn.LeakyReLU(0.2),
        nn.Conv2d(128, 256, 4, stride=2, padding=1), nn.InstanceNorm2d(256), nn.LeakyReLU(0.2),
        nn.Conv2d(256, 1, 4, stride=1, padding=1))


def vgg16_relu3_3(nn: Any) -> Any:
    """VGG16's first 16 layers (to relu3_3), frozen: the perceptual loss's feature extractor."""
    layers: List[Any] = []
    c_in = 3
    for stage, (c_out, convs) in enumerate(((64, 2), (128, 2), (256, 3))):
        for _ in range(convs):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU()]
            c_in = c_out
        if stage < 2:
            layers.append(nn.MaxPool2d(2))
    model = nn.Sequential(*layers)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


# -------------------------------------------------------------------------------------------------- steps
def make_step(name: str, lib: Lib, batch: int) -> Tuple[Callable[[], None], Any]:
    """One training step of ``name`` on a fixed random batch; returns (step, the models in it)."""
    rng = np.random.default_rng(0)
    shape = (batch,) + COURSE[name][1]
    nn, F = lib.nn, lib.F
    if name in ("mlp", "cnn"):
        model = lib.place({"mlp": mlp, "cnn": cnn}[name](nn))
        x = lib.tensor(rng.random(shape, dtype=np.float32))
        y = lib.tensor(rng.integers(0, 10, batch))
        return _supervised(model, lib, x, y, F.cross_entropy), model
    if name in ("srcnn", "cae", "win5rb"):
        model = lib.place({"srcnn": srcnn, "cae": cae, "win5rb": win5rb}[name](nn))
        x = lib.tensor(rng.random(shape, dtype=np.float32))
        y = lib.tensor(rng.random(shape, dtype=np.float32))
        return _supervised(model, lib, x, y, F.mse_loss), model
    if name == "gan":
        return _gan_step(lib, rng, shape)
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(COURSE)}")


def _supervised(model: Any, lib: Lib, x: Any, y: Any, loss_fn: Callable[..., Any]) -> Callable[[], None]:
    model.train()
    optimizer = lib.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    return step


def _gan_step(lib: Lib, rng: np.random.Generator, shape: Tuple[int, ...]) -> Tuple[Callable[[], None], Any]:
    """The course's week-4 step: one D update (2-scale LSGAN, targets 0.9/0.1), then one G update
    (adversarial + 0.01 VGG relu3_3 MSE + 100 L1), Adam(1e-4, (0.5, 0.999)), grad-norm clip 1.0."""
    nn, F, cat = lib.nn, lib.F, lib.cat
    generator, discriminators, vgg = unet(nn, cat), [patchgan(nn), patchgan(nn)], vgg16_relu3_3(nn)
    generator, vgg, discriminators = lib.place(generator), lib.place(vgg), [lib.place(d) for d in discriminators]
    d_params = [p for d in discriminators for p in d.parameters()]
    opt_g = lib.Adam(generator.parameters(), lr=1e-4, betas=(0.5, 0.999))
    opt_d = lib.Adam(d_params, lr=1e-4, betas=(0.5, 0.999))
    blurred = lib.tensor((rng.random(shape, dtype=np.float32) * 2 - 1))
    sharp = lib.tensor((rng.random(shape, dtype=np.float32) * 2 - 1))

    def scores(pair: Any) -> List[Any]:
        out = [discriminators[0](pair)]
        out.append(discriminators[1](F.avg_pool2d(pair, 3, stride=2, padding=1, count_include_pad=False)))
        return out

    def lsgan(outputs: List[Any], target: float) -> Any:
        total = None
        for o in outputs:
            term = ((o - target) ** 2).mean()
            total = term if total is None else total + term
        return total

    def step() -> None:
        fake = generator(blurred)
        opt_d.zero_grad()
        d_loss = 0.5 * (lsgan(scores(cat([blurred, sharp], 1)), 0.9) +
                        lsgan(scores(cat([blurred, fake.detach()], 1)), 0.1))
        d_loss.backward()
        lib.clip_grad_norm_(d_params, 1.0)
        opt_d.step()
        opt_g.zero_grad()
        adversarial = lsgan(scores(cat([blurred, fake], 1)), 0.9)
        perceptual = F.mse_loss(vgg((fake + 1) * 0.5), vgg((sharp + 1) * 0.5))
        g_loss = adversarial + 0.01 * perceptual + 100 * F.l1_loss(fake, sharp)
        g_loss.backward()
        lib.clip_grad_norm_(generator.parameters(), 1.0)
        opt_g.step()
    return step, [generator] + discriminators
