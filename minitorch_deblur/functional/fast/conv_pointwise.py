"""1x1 convolution without padding as one batched matrix product: the fast path for pointwise kernels.

Chosen by the dispatcher (dispatch.py) for every stride-1 conv with a 1x1 kernel and no padding (``worthwhile``:
SRCNN's 64 -> 32 mapping layer); tested equal to the im2col reference in tests/test_conv_paths.py.

**Why.** A 1x1 kernel has no window: y[n] = W (O, C) @ x[n] (C, H*W) is already NCHW, so neither im2col's copy nor a
layout transpose is needed. Gradients: dx[n] = W.T @ dy[n], dW = sum_n dy[n] @ x[n].T.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple


def worthwhile(kernel: Tuple[int, int], padding: Tuple[int, int]) -> bool:
    """A 1x1 kernel without padding: a plain matrix product per image, no layout copy at all."""
    return kernel == (1, 1) and padding == (0, 0)


def conv2d_pointwise(x: Any, weight: Any, bias: Optional[Any]) -> Any:
    """y[n] = W (O, C) @ x[n] (C, H*W): (N, C, H, W) -> (N, O, H, W) as one batched GEMM, already NCHW."""
    n, c, h, w = x.shape
    y = (weight.reshape(weight.shape[0], c) @ x.reshape(n, c, h * w)).reshape(n, -1, h, w)
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


def conv2d_pointwise_grads(x: Optional[Any], weight: Optional[Any], grad: Any) -> Tuple[Optional[Any], Optional[Any]]:
    """dx[n] = W.T @ dy[n] (when weight is given); dW = sum_n dy[n] @ x[n].T (when x is given)."""
    n, o, h, w = grad.shape
    g = grad.reshape(n, o, h * w)
    dx = None if weight is None else (weight.reshape(o, -1).T @ g).reshape(n, -1, h, w)
    dw = None
    if x is not None:
        c = x.shape[1]
        dw = (g @ x.reshape(n, c, h * w).transpose(0, 2, 1)).sum(axis=0).reshape(o, c, 1, 1)
    return dx, dw
