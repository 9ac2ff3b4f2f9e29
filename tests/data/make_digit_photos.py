"""Write tests/data/digits/: photo-like images of real handwritten digits, for tests/test_predict.py.

    python tests/data/make_digit_photos.py        # re-runnable; the same seed gives the same files

Each image is one digit of the package's embedded MNIST test subset (real handwriting), upscaled with smoothing,
its stroke made thin (pen) or thick (marker), and drawn as dark ink on light, noisy, unevenly lit paper (a
gradient or a shadow's edge, some ruled, some tinted), off-centre on a larger canvas of 80 to 1000 px; plus one
RGBA on a transparent ground and one chalk-on-board (light on dark). File names start with the label
(``3_thin_lined.jpg``); ``sources.json`` maps each file to its label and index in the embedded test subset.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from minitorch_deblur.data import load_embedded_mnist

OUT = Path(__file__).parent / "digits"
SHAPE_SIDE = 280  # strokes are shaped at 10x MNIST, then scaled to the photo's digit size
# (label, pen, ground, canvas (width, height), file type)
PHOTOS = [
    (0, "thin", "lined", (420, 360), "jpg"), (0, "marker", "shadow", (300, 300), "png"),
    (1, "thin", "plain", (80, 80), "png"), (1, "marker", "gradient", (640, 480), "jpg"),
    (2, "pen", "darklines", (500, 400), "jpg"), (2, "marker", "rgba", (240, 260), "png"),
    (3, "thin", "lined", (360, 480), "jpg"), (3, "marker", "gradient", (1000, 800), "jpg"),
    (4, "pen", "shadow", (560, 420), "jpg"), (4, "thin", "tinted", (300, 400), "jpg"),
    (5, "marker", "lined", (480, 480), "jpg"), (5, "pen", "chalk", (200, 160), "png"),
    (6, "thin", "shadow", (400, 300), "jpg"), (6, "marker", "tinted", (160, 200), "png"),
    (7, "pen", "gradient", (320, 320), "jpg"), (7, "thin", "plain", (720, 900), "jpg"),
    (8, "marker", "shadow", (600, 600), "jpg"), (8, "pen", "lined", (260, 220), "png"),
    (9, "thin", "gradient", (120, 140), "png"), (9, "pen", "darklines", (460, 520), "jpg"),
]


def stroke_mask(digit: np.ndarray, pen: str) -> Image.Image:
    """uint8 (28, 28) MNIST digit -> 'L' mask (SHAPE_SIDE^2), white ink, with a thin, pen or marker stroke."""
    up = digit.astype(np.float32) / 255
    big = np.asarray(Image.fromarray(up).resize((SHAPE_SIDE, SHAPE_SIDE), Image.BICUBIC))
    level, shape = {"thin": (0.55, ImageFilter.MinFilter(9)), "pencil": (0.55, ImageFilter.MinFilter(9)),
                    "pen": (0.5, None),
                    "marker": (0.4, ImageFilter.MaxFilter(11))}[pen]
    mask = Image.fromarray(np.uint8(big >= level) * 255)
    return mask.filter(shape) if shape else mask


def illumination(rng: np.random.Generator, w: int, h: int, ground: str) -> np.ndarray:
    """float (h, w) light falling on the paper: a tilted gradient and a vignette, plus a soft shadow edge."""
    y, x = np.mgrid[0:h, 0:w] / max(w, h)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * x + np.sin(angle) * y
    light = 1 - rng.uniform(0.15, 0.4 if ground == "gradient" else 0.2) * (ramp - ramp.min()) / np.ptp(ramp)
    light *= 1 - 0.15 * ((x - x.mean()) ** 2 + (y - y.mean()) ** 2) / 0.25
    if ground == "shadow":  # a hand's or phone's shadow: a dark half-plane with a soft edge crossing the digit
        angle = rng.uniform(0, 2 * np.pi)
        side = np.cos(angle) * (x - x.mean()) + np.sin(angle) * (y - y.mean()) - rng.uniform(-0.1, 0.1)
        light *= 1 - rng.uniform(0.35, 0.55) / (1 + np.exp(-side / rng.uniform(0.01, 0.04)))
    return light


def ruled_lines(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """float (h, w) in [0, 1]: slightly tilted horizontal lines every ~1/6 of the height, 1-3 px thick."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    spacing = rng.uniform(0.13, 0.2) * h
    pos = (y + np.tan(np.radians(rng.uniform(-2, 2))) * x - rng.uniform(0, spacing)) % spacing
    thick = max(1.0, h / 250)
    return np.clip(thick / 2 + 0.5 - np.minimum(pos, spacing - pos), 0, 1)


def render(rng: np.random.Generator, digit: np.ndarray, pen: str, ground: str, w: int, h: int,
           fill: tuple = (0.45, 0.7)) -> Image.Image:
    """Draw one digit as a photo of ink on paper (or chalk on a board, or ink on transparency).

    The digit's side is a random fraction ``fill`` of the canvas's shorter side.
    """
    side = int(min(w, h) * rng.uniform(*fill))
    shape = stroke_mask(digit, pen).rotate(rng.uniform(-4, 4), resample=Image.BILINEAR)
    shape = shape.resize((side, side), Image.BILINEAR).filter(ImageFilter.GaussianBlur(0.6 + side / 300))
    left, top = (int(rng.uniform(0.04, 0.96) * (n - side)) for n in (w, h))
    ink = np.zeros((h, w), np.float32)
    ink[top:top + side, left:left + side] = np.asarray(shape, np.float32) / 255
    noise = rng.normal(0, 0.02 if max(w, h) < 600 else 0.01, (h, w, 1))
    if ground == "rgba":
        rgba = np.dstack([np.full((h, w, 3), (20, 25, 60), np.uint8), np.uint8(ink * 255)])
        return Image.fromarray(rgba, "RGBA")
    if ground == "chalk":
        board = 0.18 + 0.08 * illumination(rng, w, h, "gradient")[..., None]
        return _rgb(board + ink[..., None] * (0.85 - board) + noise)
    paper = np.array((1.0, 0.96, 0.82) if ground == "tinted" else (0.93, 0.93, 0.92))
    ink_colour = np.array((0.2, 0.22, 0.55) if ground == "tinted" or pen == "thin" else (0.12, 0.12, 0.14))
    ink_colour = np.full(3, 0.5) if pen == "pencil" else ink_colour
    surface = np.ones((h, w, 3)) * paper
    if ground in ("lined", "darklines"):
        line_colour = np.array((0.55, 0.7, 0.9) if ground == "lined" else (0.35, 0.35, 0.45))
        surface = surface + ruled_lines(rng, w, h)[..., None] * (line_colour - surface)
    surface = surface + ink[..., None] * (ink_colour - surface)
    return _rgb(surface * illumination(rng, w, h, ground)[..., None] + noise)


def _rgb(a: np.ndarray) -> Image.Image:
    return Image.fromarray(np.uint8(np.clip(a, 0, 1) * 255 + 0.5).repeat(3 // a.shape[-1], -1), "RGB")


def main() -> None:
    test = load_embedded_mnist("test")
    images, labels = test.arrays[0][:, 0], test.arrays[1]
    rng = np.random.default_rng(2024)
    OUT.mkdir(exist_ok=True)
    sources = {}
    for label, pen, ground, (w, h), ext in PHOTOS:
        index = int(rng.choice(np.flatnonzero(labels == label)))
        name = f"{label}_{pen}_{ground}.{ext}"
        photo = render(rng, images[index], pen, ground, w, h)
        if ext == "png" and ground not in ("tinted", "rgba"):
            photo = photo.convert("L")  # gray paper: a third of the bytes
        photo.save(OUT / name, **({"quality": 80} if ext == "jpg" else {"optimize": True}))
        sources[name] = {"label": label, "mnist_test_index": index}
    (OUT / "sources.json").write_text(json.dumps(sources, indent=1) + "\n")
    total = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"wrote {len(sources)} photos to {OUT} ({total / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
