"""The course's models, layer for layer as ../shared/REFERENCE.md gives them.

``MODELS`` maps the names the commands take (``train``, ``evaluate``, ``deblur``, checkpoints) to the classes;
``CLASSIFIERS`` and ``RESTORATION`` say which task each one belongs to.
"""
from .cae import CAE
from .cnn import CNN
from .deblurgan import DeblurGAN
from .mlp import MLP
from .patchgan import MultiScalePatchGAN, PatchGAN
from .srcnn import SRCNN
from .unet import UNet
from .vgg import VGG16Features
from .win5rb import Win5RB

CLASSIFIERS = {"mlp": MLP, "cnn": CNN}
RESTORATION = {"srcnn": SRCNN, "cae": CAE, "win5rb": Win5RB, "deblurgan": DeblurGAN}
MODELS = {**CLASSIFIERS, **RESTORATION}
# constructor options that change a model, by model name: train takes them as flags, checkpoints record them
MODEL_OPTIONS = {"srcnn": ("residual", "padding_mode", "mapping_kernel", "mapping_layers"),
                 "win5rb": ("paper", "zero_init_residual"),
                 "deblurgan": ("residual", "upsample", "dropout")}

__all__ = ["CAE", "CLASSIFIERS", "CNN", "DeblurGAN", "MLP", "MODELS", "MODEL_OPTIONS", "MultiScalePatchGAN", "PatchGAN",
           "RESTORATION", "SRCNN", "UNet", "VGG16Features", "Win5RB"]
