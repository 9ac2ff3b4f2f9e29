"""Optimisers, learning-rate schedules, gradient clipping and weight averaging with PyTorch's names and update rules.

    opt = optim.Adam(model.parameters(), lr=1e-3)
    sched = optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .clip_grad import clip_grad_norm_, clip_grad_value_
from .ema import ExponentialMovingAverage
from .lr_scheduler import CosineAnnealingLR, ExponentialLR, MultiStepLR, StepLR
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "CosineAnnealingLR", "ExponentialLR", "ExponentialMovingAverage", "MultiStepLR",
           "Optimizer", "StepLR", "clip_grad_norm_", "clip_grad_value_", "lr_scheduler"]


def __getattr__(name: str) -> object:
    from ..hints import missing
    raise missing("optim", name, __all__)
