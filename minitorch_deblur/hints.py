"""Helpful AttributeErrors: a name a PyTorch user types that this framework lacks gets a line saying what to use.

Each package's module-level ``__getattr__`` (PEP 562) calls ``missing(module, name, available)``.
"""
from __future__ import annotations

from typing import Dict, Iterable

# names PyTorch users reach for, and what this framework offers instead
INSTEAD: Dict[str, str] = {
    "gelu": "the activations are relu, leaky_relu, sigmoid, tanh",
    "silu": "the activations are relu, leaky_relu, sigmoid, tanh",
    "elu": "the activations are relu, leaky_relu, sigmoid, tanh",
    "softplus": "the activations are relu, leaky_relu, sigmoid, tanh",
    "GELU": "the activation layers are ReLU, LeakyReLU, Sigmoid, Tanh",
    "SiLU": "the activation layers are ReLU, LeakyReLU, Sigmoid, Tanh",
    "LayerNorm": "the normalisations are BatchNorm1d, BatchNorm2d, InstanceNorm2d",
    "GroupNorm": "the normalisations are BatchNorm1d, BatchNorm2d, InstanceNorm2d",
    "layer_norm": "the normalisations are batch_norm and instance_norm",
    "RMSprop": "the optimisers are SGD, Adam, AdamW",
    "Adagrad": "the optimisers are SGD, Adam, AdamW",
    "interpolate": "upsampling is upsample_nearest2d (nn.Upsample, nearest, integer factors)",
    "device": "devices are the strings 'cpu' and 'cuda' (tensor.to('cuda'))",
    "cuda": "ask for a GPU with tensor.to('cuda') or model.to('cuda'); minitorch_deblur.gpu_available() tells",
    "Tensor": "make tensors with minitorch_deblur.tensor(data) or from_numpy(array)",
}


def missing(module: str, name: str, available: Iterable[str]) -> AttributeError:
    """The AttributeError for ``module.name``: what to use instead, or the public names there are."""
    if name.startswith("__"):
        return AttributeError(f"module {module!r} has no attribute {name!r}")
    hint = INSTEAD.get(name) or "it has: " + ", ".join(sorted(n for n in available if not n.startswith("_")))
    return AttributeError(f"no {module}.{name} in this framework; {hint}")
