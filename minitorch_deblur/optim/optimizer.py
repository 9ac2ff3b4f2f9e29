"""``Optimizer``: the base class holding param_groups and per-parameter state, with PyTorch's interface.

    opt = Adam([{"params": enc.parameters()}, {"params": dec.parameters(), "lr": 1e-4}], lr=1e-3)
    opt.zero_grad(); loss.backward(); opt.step()

``step()`` updates ``p.data`` in place (the same array, on the CPU or the GPU), skips parameters whose ``grad`` is
None, and never writes into ``p.grad`` (a gradient array may be shared).
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List

import numpy as np

from ..autograd import Tensor, forget_grads, no_grad
from ..backend import device_of, get_array_module, to_device


class Optimizer:
    """Base class: subclasses implement ``_update(p, grad, state, group)`` for one parameter."""

    def __init__(self, params: Iterable[Any], defaults: Dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        #: per-parameter state, keyed by id(param) (see ``state_of``); state_dict() stores it by position
        self.state: Dict[int, Dict[str, Any]] = {}
        self.param_groups: List[Dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of tensors (or of dicts), got a "
                            "single Tensor; pass [tensor] or model.parameters()")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list (did the model build any layers? "
                             "a generator like model.parameters() can only be consumed once)")
        for group in (params if isinstance(params[0], dict) else [{"params": params}]):
            self.add_param_group(group)

    def add_param_group(self, group: Dict[str, Any]) -> None:
        """Add {'params': [...], 'lr': ...}; missing hyper-parameters come from the defaults."""
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(f"{type(self).__name__}: can only optimise tensors with requires_grad=True, got "
                                f"{type(p).__name__}")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: a parameter appears in more than one group")
            seen.add(id(p))
        new = dict(self.defaults)
        new.update(group)
        new["params"] = params
        self.param_groups.append(new)

    def state_of(self, p: Tensor) -> Dict[str, Any]:
        """The state dict of one parameter (empty until its first step)."""
        return self.state.setdefault(id(p), {})

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: grad = None (PyTorch's default), or zeros in place."""
        forget_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    @no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient: on a GPU one fused update per group where the
        subclass has one (``_fused_step``), else ``_update`` per parameter."""
        for index, group in enumerate(self.param_groups):
            if self._fused_step(index, group):
                continue
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, p.grad, self.state_of(p), group)

    def _update(self, p: Tensor, grad: Any, state: Dict[str, Any], group: Dict[str, Any]) -> None:
        raise NotImplementedError

    def _fused_step(self, index: int, group: Dict[str, Any]) -> bool:
        """The multi-tensor update of group ``index`` (optim/multi_tensor.py), where a subclass has one and the group
        allows it (on a GPU); False when not taken, and the per-parameter ``_update`` runs instead."""
        return False

    def _flat_layouts(self) -> Dict[int, Any]:
        """Per group index, the flat layout of the fused update (multi_tensor.FlatGroup); not part of the state."""
        if "_flat" not in self.__dict__:
            self._flat: Dict[int, Any] = {}
        return self._flat

    # ------------------------------------------------------------------------------------------ checkpoints
    def state_dict(self) -> Dict[str, Any]:
        """{'state': {index: {name: NumPy copy or number}}, 'param_groups': [hyper-parameters, 'params': indices]}.

        Parameters are numbered in group order, as in PyTorch, so the dict does not depend on object identity.
        """
        state: Dict[int, Dict[str, Any]] = {}
        groups = []
        index = 0
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                if self.state.get(id(p)):
                    state[index] = {k: (np.array(to_device(v, "cpu"), copy=True) if hasattr(v, "shape") else v)
                                    for k, v in self.state[id(p)].items()}
                ids.append(index)
                index += 1
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restore hyper-parameters and state (moved to each parameter's device) from ``state_dict()``."""
        groups = state_dict["param_groups"]
        if [len(g["params"]) for g in groups] != [len(g["params"]) for g in self.param_groups]:
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved groups have "
                             f"{[len(g['params']) for g in groups]} parameters, this optimiser has "
                             f"{[len(g['params']) for g in self.param_groups]}; build it over the same model")
        params = [p for g in self.param_groups for p in g["params"]]
        self.state = {}
        for index, saved in state_dict["state"].items():
            p = params[int(index)]
            xp = get_array_module(p.data)
            self.state[id(p)] = {k: (xp.array(to_device(v, device_of(p.data))) if hasattr(v, "shape") else v)
                                 for k, v in saved.items()}
        for group, saved in zip(self.param_groups, groups):
            group.update({k: v for k, v in saved.items() if k != "params"})

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines + [")"])
