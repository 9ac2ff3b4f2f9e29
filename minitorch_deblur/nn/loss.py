"""Loss modules, PyTorch's ``nn.MSELoss()`` and friends: thin Modules around the functional losses."""
from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from ..functional.loss import binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """mean((input - target)^2) (``reduction`` 'mean', 'sum' or 'none')."""

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """mean(|input - target|)."""

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return l1_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits (N, K) against class indices (N,)."""

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return cross_entropy(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits against targets in [0, 1] (the sigmoid is folded in, stably)."""

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return binary_cross_entropy_with_logits(input, target, reduction=self.reduction)
