"""The course's models, layer for layer as ../shared/REFERENCE.md gives them."""
from .cnn import CNN
from .mlp import MLP

MODELS = {"mlp": MLP, "cnn": CNN}

__all__ = ["CNN", "MLP", "MODELS"]
