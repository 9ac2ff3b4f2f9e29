"""``Adam`` (L2 weight decay added to the gradient, as torch.optim.Adam) and ``AdamW`` (decoupled decay)."""
from __future__ import annotations

import math
from typing import Any, Dict, Iterable, Tuple

from ..autograd import Tensor
from ..backend import get_array_module
from ..functional.fast import cuda_optim
from .multi_tensor import flat_group, fusable
from .optimizer import Optimizer


class Adam(Optimizer):
    """Per parameter, at step t = 1, 2, ... with g the gradient (torch.optim.Adam's exact arithmetic):

        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g            v = beta2 * v + (1 - beta2) * g^2
        p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    On a GPU a group whose parameters all have gradients takes one fused kernel for all of them
    (``_fused_step``: multi_tensor.py, cuda_optim.ADAM), the same arithmetic.
    """

    decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        if lr < 0 or eps < 0 or weight_decay < 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"{type(self).__name__}: invalid lr={lr}, betas={betas}, eps={eps} or "
                             f"weight_decay={weight_decay} (need lr, eps, weight_decay >= 0 and 0 <= beta < 1)")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        xp = get_array_module(p.data)
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if wd != 0:
            if self.decoupled:
                p.data *= 1 - lr * wd
            else:
                grad = grad + wd * p.data
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        step_size = lr / (1 - beta1 ** t)
        denom = xp.sqrt(v) / math.sqrt(1 - beta2 ** t) + eps
        p.data -= step_size * m / denom

    def _fused_step(self, index: int, group: Dict[str, Any]) -> bool:
        params = group["params"]
        xp = fusable(params)
        states = [self.state_of(p) for p in params] if xp is not None else []
        if xp is None or len({s.get("step", 0) for s in states}) != 1:
            return False
        layout = flat_group(self._flat_layouts(), index, xp, params, states, ("exp_avg", "exp_avg_sq"))
        t = states[0].get("step", 0) + 1
        for state in states:
            state["step"] = t
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        l2, decay = (0.0, 1 - lr * wd) if self.decoupled else (wd, 1.0)
        cuda_optim.adam(layout.gather_grads(params), layout.flat["param"], layout.flat["exp_avg"],
                        layout.flat["exp_avg_sq"], l2, decay, beta1, 1 - beta1, beta2, 1 - beta2,
                        lr / (1 - beta1 ** t), math.sqrt(1 - beta2 ** t), eps)
        return True


class AdamW(Adam):
    """Adam with decoupled weight decay (torch.optim.AdamW): p = p * (1 - lr * weight_decay) before the Adam step."""

    decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)
