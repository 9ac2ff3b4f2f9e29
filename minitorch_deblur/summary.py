"""``summary(model, input_shape)``: a table of every layer, its output shape and its parameter count."""
from __future__ import annotations

from typing import Any, List, Sequence, Tuple

import numpy as np

from .autograd import Tensor, no_grad


def summary(model: Any, input_shape: Sequence[int], dtype: Any = np.float32) -> str:
    """Run a zero batch of ``input_shape`` through ``model`` (eval mode, no graph) and tabulate the leaf layers."""
    rows: List[Tuple[str, str, str, int]] = []
    leaves = [(name, m) for name, m in model.named_modules() if not list(m.children())]
    originals = []
    for name, module in leaves:
        def recording(*args: Any, _m: Any = module, _name: str = name, _forward: Any = module.forward) -> Any:
            out = _forward(*args)
            count = sum(p.numel() for p in _m.parameters())
            rows.append((_name, type(_m).__name__, str(tuple(out.shape)), count))
            return out
        originals.append((module, "forward" in module.__dict__))
        module.forward = recording
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(Tensor(np.zeros(tuple(input_shape), dtype=dtype)))
    finally:
        for module, had_own in originals:
            if not had_own:
                del module.forward
        model.train(was_training)
    total = sum(p.numel() for p in model.parameters())
    width = max([len(r[0]) for r in rows] + [5])
    lines = [f"{'layer':{width}s}  {'type':16s} {'output shape':20s} {'params':>10s}"]
    lines += [f"{n:{width}s}  {t:16s} {s:20s} {c:>10,d}" for n, t, s, c in rows]
    lines.append(f"{'total':{width}s}  {'':16s} {'':20s} {total:>10,d}")
    return "\n".join(lines)
