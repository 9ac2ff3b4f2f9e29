"""``nn.utils``: PyTorch keeps gradient clipping here; the functions live in optim/clip_grad.py."""
from ..optim.clip_grad import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
