"""Multi-tensor updates on a GPU: a param group's parameters and optimiser state as views of flat buffers.

On a GPU each array operation is a kernel launch, and the per-parameter Adam of adam.py issues about 13 per
parameter. Here the group is laid out once in flat buffers (one per kind: 'param', 'exp_avg', ...), every
``p.data`` and state array becoming a view of its slice; each step then copies the gradients into one flat gradient
(one copy per parameter) and runs one fused kernel (functional/fast/cuda_optim.py) over all of it.

When: ``Optimizer.step`` on a group whose parameters are all on the GPU, of one float dtype, and all have a
gradient; anything else (NumPy, a missing gradient) takes the per-parameter update, which reads and writes the same
views, so the two can alternate. Whoever replaces a ``p.data`` or a state array (``Module.to``,
``load_state_dict``) simply makes the next fused step lay the buffers out again from the new arrays.
"""
from __future__ import annotations

from itertools import accumulate
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..backend import get_array_module


class FlatGroup:
    """Flat buffers of one group: ``flat[kind]`` (total,) with ``views[kind][i]`` parameter i's slice, shaped like it;
    ``grad`` (total,) the gradients' buffer."""

    def __init__(self, xp: Any, params: Sequence[Any], states: Sequence[Dict[str, Any]], kinds: Sequence[str]):
        self.params, self.kinds = list(params), tuple(kinds)
        sizes = [int(p.data.size) for p in params]
        self.offsets = [0, *accumulate(sizes)]
        dtype, total = params[0].data.dtype, self.offsets[-1]
        self.grad = xp.empty(total, dtype=dtype)
        self.flat: Dict[str, Any] = {}
        self.views: Dict[str, List[Any]] = {}
        for kind in ("param",) + self.kinds:
            sources = [p.data if kind == "param" else s.get(kind) for p, s in zip(params, states)]
            self.flat[kind] = flat = (xp.zeros if any(a is None for a in sources) else xp.empty)(total, dtype=dtype)
            self.views[kind] = [flat[a:b].reshape(p.data.shape) for a, b, p in zip(self.offsets, self.offsets[1:],
                                                                                   params)]
            for view, source in zip(self.views[kind], sources):
                if source is not None:
                    view[...] = source
        for p, view in zip(params, self.views["param"]):
            p.data = view
        for i, state in enumerate(states):
            for kind in self.kinds:
                state[kind] = self.views[kind][i]

    def current(self, params: Sequence[Any], states: Sequence[Dict[str, Any]]) -> bool:
        """Whether every p.data and state array is still this layout's view (nobody replaced one)."""
        if len(params) != len(self.params) or any(p is not q or p.data is not v for p, q, v in
                                                   zip(params, self.params, self.views["param"])):
            return False
        return all(state.get(kind) is self.views[kind][i] for kind in self.kinds for i, state in enumerate(states))

    def gather_grads(self, params: Sequence[Any]) -> Any:
        """Copy every parameter's gradient into the flat gradient (one copy each); returns it."""
        for p, a, b in zip(params, self.offsets, self.offsets[1:]):
            self.grad[a:b] = p.grad.reshape(-1)
        return self.grad


def fusable(params: Sequence[Any]) -> Optional[Any]:
    """The array module when a group can take the fused update (all on the GPU, one float dtype, every gradient
    present and shaped like its parameter), else None."""
    if not params:
        return None
    xp = get_array_module(params[0].data)
    if xp is np:
        return None
    dtype = params[0].data.dtype
    for p in params:
        if p.grad is None or p.data.dtype != dtype or dtype.kind != "f" or get_array_module(p.data) is not xp \
                or get_array_module(p.grad) is not xp or p.grad.shape != p.data.shape:
            return None
    return xp


def flat_group(cache: Dict[int, FlatGroup], index: int, xp: Any, params: Sequence[Any],
               states: Sequence[Dict[str, Any]], kinds: Sequence[str]) -> FlatGroup:
    """The cached layout of group ``index``, laid out again when a view was replaced."""
    layout = cache.get(index)
    if layout is None or not layout.current(params, states):
        layout = cache[index] = FlatGroup(xp, params, states, kinds)
    return layout
