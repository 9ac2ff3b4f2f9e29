"""Neural-network layers with PyTorch's names and defaults.

    import minitorch_deblur.nn as nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))
    model.eval(); model.state_dict(); model.to('cuda')
"""
from .. import functional
from . import init, utils
from .activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .channel import (AdaptiveAvgPool2d, DepthwiseConv2d, LayerNorm2d, PixelShuffle, PixelUnshuffle,
                      SimpleGate)
from .container import ModuleList, Sequential
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout
from .linear import Linear
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss
from .module import Module
from .norm import BatchNorm1d, BatchNorm2d, InstanceNorm2d
from .parameter import Parameter
from .pooling import AvgPool2d, MaxPool2d
from .shape import Flatten, Identity
from .upsampling import Upsample

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "DepthwiseConv2d", "LayerNorm2d", "PixelShuffle", "PixelUnshuffle",
    "SimpleGate", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "Conv2d", "ConvTranspose2d", "CrossEntropyLoss",
    "Dropout", "Flatten", "Identity", "InstanceNorm2d", "L1Loss", "LeakyReLU", "Linear", "MSELoss", "MaxPool2d",
    "Module", "ModuleList", "Parameter", "ReLU", "Sequential", "Sigmoid", "Tanh", "Upsample", "functional", "init",
    "utils",
]


def __getattr__(name: str) -> object:
    from ..hints import missing
    raise missing("nn", name, __all__)
