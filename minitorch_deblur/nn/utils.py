"""``nn.utils``: PyTorch keeps gradient clipping here (the functions live in optim/clip_grad.py), and
``update_bn`` (PyTorch's ``torch.optim.swa_utils.update_bn``; batchnorm_stats.py)."""
from ..optim.clip_grad import clip_grad_norm_, clip_grad_value_
from .batchnorm_stats import update_bn

__all__ = ["clip_grad_norm_", "clip_grad_value_", "update_bn"]
