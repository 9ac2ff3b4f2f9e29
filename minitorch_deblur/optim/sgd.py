"""``SGD`` with momentum, dampening, Nesterov and L2 weight decay, exactly torch.optim.SGD's update."""
from __future__ import annotations

from typing import Any, Dict, Iterable

from ..autograd import Tensor
from ..functional.fast import cuda_optim
from .multi_tensor import flat_group, fusable
from .optimizer import Optimizer


class SGD(Optimizer):
    """Per parameter, with g the gradient:

        d = g + weight_decay * p
        buf = d  (first step)   else   buf = momentum * buf + (1 - dampening) * d
        d = d + momentum * buf  (nesterov)   else   d = buf          (only when momentum != 0)
        p = p - lr * d

    On a GPU a group whose parameters all have gradients takes one fused kernel for all of them
    (``_fused_step``: multi_tensor.py, cuda_optim.SGD / SGD_MOMENTUM), the same arithmetic.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: lr={lr}, momentum={momentum}, weight_decay={weight_decay} must be >= 0")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov))

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        d = grad + group["weight_decay"] * p.data if group["weight_decay"] != 0 else grad
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = d.copy()
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * d
            d = d + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * d

    def _fused_step(self, index: int, group: Dict[str, Any]) -> bool:
        params = group["params"]
        xp = fusable(params)
        if xp is None:
            return False
        states = [self.state_of(p) for p in params]
        momentum, wd, lr = group["momentum"], group["weight_decay"], group["lr"]
        if momentum == 0:
            layout = flat_group(self._flat_layouts(), index, xp, params, states, ())
            cuda_optim.sgd(layout.gather_grads(params), layout.flat["param"], wd, lr)
            return True
        first = {"momentum_buffer" not in s for s in states}
        if len(first) != 1:
            return False
        layout = flat_group(self._flat_layouts(), index, xp, params, states, ("momentum_buffer",))
        cuda_optim.sgd_momentum(layout.gather_grads(params), layout.flat["param"], layout.flat["momentum_buffer"],
                                wd, momentum, 1 - group["dampening"], lr, first.pop(), group["nesterov"])
        return True
