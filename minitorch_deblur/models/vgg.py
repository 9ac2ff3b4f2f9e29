"""``VGG16Features()``: VGG16 (Simonyan & Zisserman 2014, configuration D) up to relu3_3, with the ImageNet weights
shipped in ``pretrained/vgg16_conv1_1-conv3_3_imagenet_bgr.npz`` (Oxford VGG, CC BY 4.0), for the perceptual loss.

Contract: called on RGB in [0, 1], shape (N, 3, H, W), it returns the relu3_3 features (N, 256, H/4, W/4).
The weights follow the Caffe/Keras convention (BGR, pixels 0..255 minus the mean [103.939, 116.779, 123.68]); the
input is converted here: x * 255, channels flipped to BGR, mean subtracted. The network is frozen: its weights
store no gradients, but gradients flow through it to the input (the generator's output).
Layers: conv1_1, conv1_2, pool, conv2_1, conv2_2, pool, conv3_1, conv3_2, conv3_3, each 3x3 pad 1 and ReLU.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional, Tuple

import numpy as np

from .. import nn
from ..autograd import Tensor

WEIGHTS = Path(__file__).resolve().parent.parent / "pretrained" / "vgg16_conv1_1-conv3_3_imagenet_bgr.npz"
SHA256 = "ef93e790b9d151e4cbfc03ff7d5118053250eac1ea46524700ffc8509121b852"
LAYERS: Tuple[Tuple[str, int, int], ...] = (
    ("conv1_1", 3, 64), ("conv1_2", 64, 64), ("pool1", 0, 0), ("conv2_1", 64, 128), ("conv2_2", 128, 128),
    ("pool2", 0, 0), ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256))
BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def load_vgg_weights(path: Optional[Path] = None) -> dict:
    """{layer: (W, b)} from the .npz, by layer name; a missing file, key or a wrong shape is a clear error."""
    path = Path(path or WEIGHTS)
    if not path.is_file():
        raise FileNotFoundError(f"VGG16 weights {path} are missing; they ship with the package (reinstall it) or "
                                f"copy ../shared/data/vgg16/{WEIGHTS.name} there (sha256 {SHA256[:16]}...)")
    out = {}
    with np.load(path) as f:
        for name, c_in, c_out in LAYERS:
            if not c_in:
                continue
            for key, shape in ((f"{name}_W", (c_out, c_in, 3, 3)), (f"{name}_b", (c_out,))):
                if key not in f.files:
                    raise KeyError(f"{path}: no array {key!r}; expected keys conv1_1_W ... conv3_3_b (VGG16 up to "
                                   f"conv3_3, sha256 {SHA256[:16]}...)")
                if f[key].shape != shape:
                    raise ValueError(f"{path}: {key} has shape {f[key].shape}, expected {shape} (OIHW float32)")
            out[name] = (f[f"{name}_W"].astype(np.float32), f[f"{name}_b"].astype(np.float32))
    return out


class VGG16Features(nn.Module):
    """RGB (N, 3, H, W) in [0, 1] -> relu3_3 (N, 256, H // 4, W // 4); frozen ImageNet weights."""

    def __init__(self, weights: Optional[Path] = None) -> None:
        super().__init__()
        loaded = load_vgg_weights(weights)
        layers: List[nn.Module] = []
        for name, c_in, c_out in LAYERS:
            if not c_in:
                layers.append(nn.MaxPool2d(2))
                continue
            conv = nn.Conv2d(c_in, c_out, 3, padding=1)
            w, b = loaded[name]
            conv.weight.data[...] = w[:, ::-1] if name == "conv1_1" else w   # BGR weights, fed RGB: flip inputs
            conv.bias.data[...] = b
            layers += [conv, nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", (BGR_MEAN[::-1] / 255.0).reshape(1, 3, 1, 1).copy())   # RGB order, [0, 1]
        for p in self.parameters():
            p.requires_grad = False

    def forward(self, x: Any) -> Tensor:
        return self.features((x - Tensor(self.mean)) * 255.0)


__all__ = ["VGG16Features", "load_vgg_weights"]
