"""``Parameter``: a tensor that a ``Module`` registers as learnable (it always requires a gradient)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor


class Parameter(Tensor):
    """A leaf tensor with ``requires_grad=True``, found by ``Module.parameters()``.

    Integer data becomes float32 (only floating-point tensors can have gradients); float64 stays float64 (used
    by gradient checks). The optimiser updates ``.data`` in place, so the object identity never changes.
    """

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        if isinstance(data, Tensor):
            data = data.data
        if not hasattr(data, "dtype"):
            data = np.asarray(data, dtype=np.float32)
        if data.dtype.kind != "f":
            data = data.astype(np.float32)
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
