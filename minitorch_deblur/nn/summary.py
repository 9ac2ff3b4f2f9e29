"""``summary(model, input_shape)``: every layer with its output shape, parameters, FLOPs and, for convolutions, the
memory of its im2col matrix: where a model's time and memory go (Win5-RB's 7x7 convolutions on 128 channels)."""
from __future__ import annotations

from typing import Any, List, Sequence, Tuple

import numpy as np

from ..autograd import Tensor, no_grad


def layer_cost(module: Any, x_shape: Tuple[int, ...], out_shape: Tuple[int, ...], itemsize: int = 4) -> Tuple[int, int]:
    """(FLOPs of one forward pass, bytes of its im2col matrix): 2 per multiply-add of a conv, transposed conv or
    linear layer; the unfolded (C kh kw, N Ho Wo) columns of the reference convolution path."""
    from .. import nn

    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        macs = int(np.prod(out_shape)) * module.in_channels * kh * kw
        return 2 * macs, module.in_channels * kh * kw * out_shape[0] * out_shape[2] * out_shape[3] * itemsize
    if isinstance(module, nn.ConvTranspose2d):
        kh, kw = module.kernel_size
        macs = int(np.prod(x_shape)) * module.out_channels * kh * kw
        return 2 * macs, module.out_channels * kh * kw * x_shape[0] * x_shape[2] * x_shape[3] * itemsize
    if isinstance(module, nn.Linear):
        return 2 * int(np.prod(out_shape)) * module.in_features, 0
    return 0, 0


def summary(model: Any, input_shape: Sequence[int], dtype: Any = np.float32) -> str:
    """Run a zero batch of ``input_shape`` through ``model`` (eval mode, no graph) and tabulate the leaf layers."""
    rows: List[Tuple[str, str, str, int, int, int]] = []
    leaves = [(name, m) for name, m in model.named_modules() if not list(m.children())]
    originals = []
    for name, module in leaves:
        def recording(*args: Any, _m: Any = module, _name: str = name, _forward: Any = module.forward) -> Any:
            out = _forward(*args)
            count = sum(p.numel() for p in _m.parameters())
            flops, cols = layer_cost(_m, tuple(args[0].shape), tuple(out.shape), np.dtype(dtype).itemsize)
            rows.append((_name, type(_m).__name__, str(tuple(out.shape)), count, flops, cols))
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
    lines = [f"{'layer':{width}s}  {'type':16s} {'output shape':20s} {'params':>10s} {'MFLOPs':>10s} {'im2col MB':>9s}"]
    lines += [f"{n:{width}s}  {t:16s} {s:20s} {c:>10,d} {f / 1e6:>10,.1f} {m / 1e6:>9.1f}" if f else
              f"{n:{width}s}  {t:16s} {s:20s} {c:>10,d}" for n, t, s, c, f, m in rows]
    flops = sum(r[4] for r in rows)
    lines.append(f"{'total':{width}s}  {'':16s} {'':20s} {total:>10,d} {flops / 1e6:>10,.1f} "
                 f"{max([r[5] for r in rows] + [0]) / 1e6:>9.1f} (largest)")
    ran = {r[0] for r in rows}
    idle = [(name, sum(p.numel() for p in m.parameters())) for name, m in leaves if name not in ran]
    if sum(n for _, n in idle):   # e.g. a GAN's discriminator: in the total, not in the rows
        owners = ", ".join(dict.fromkeys(name.split(".")[0] for name, n in idle if n))
        lines.append(f"(the total includes {sum(n for _, n in idle):,} parameters of layers this forward pass does "
                     f"not run: {owners})")
    return "\n".join(lines)
