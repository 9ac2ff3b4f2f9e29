"""The course's models, layer for layer as ../shared/REFERENCE.md gives them."""
from .cae import CAE
from .cnn import CNN
from .mlp import MLP
from .srcnn import SRCNN
from .win5rb import Win5RB

MODELS = {"mlp": MLP, "cnn": CNN}   # what `train` trains today; the restoration models join with their task
RESTORATION = {"srcnn": SRCNN, "cae": CAE, "win5rb": Win5RB}

__all__ = ["CAE", "CNN", "MLP", "MODELS", "RESTORATION", "SRCNN", "Win5RB"]
