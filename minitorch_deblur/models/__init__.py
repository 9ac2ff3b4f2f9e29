"""The course's models, layer for layer as ../shared/REFERENCE.md gives them.

``REGISTRY`` (registry.py) maps the names the commands take (``train``, ``evaluate``, ``deblur``, checkpoints) to
one ``ModelRecord`` each: class, task, options, recipes and the commands that made the shipped weights.
"""
from .cae import CAE
from .cnn import CNN
from .deblurgan import DeblurGAN
from .mlp import MLP
from .patchgan import MultiScalePatchGAN, PatchGAN
from .registry import REGISTRY, ModelRecord
from .srcnn import SRCNN
from .unet import UNet
from .vgg import VGG16Features
from .win5rb import Win5RB

__all__ = ["CAE", "CNN", "DeblurGAN", "MLP", "ModelRecord", "MultiScalePatchGAN", "PatchGAN", "REGISTRY", "SRCNN",
           "UNet", "VGG16Features", "Win5RB"]
