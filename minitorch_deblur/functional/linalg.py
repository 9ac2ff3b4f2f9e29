"""Matrix products: matmul and the fully connected layer's linear."""
from __future__ import annotations

from typing import Any, Optional

from ..autograd import Context, Function, Tensor
from ..backend import get_array_module, shape_str


class MatMul(Function):
    """y = a @ b for (..., n, k) @ (..., k, m);  da = g @ b^T, db = a^T @ g (batch dims summed by the engine)."""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: shapes {shape_str(a.shape)} and {shape_str(b.shape)} do not chain: need "
                             "(..., n, k) @ (..., k, m) with at least 2 dims each")
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)
        return a @ b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        a, b = ctx.saved
        xp = get_array_module(grad)
        ga = grad @ xp.swapaxes(b, -1, -2) if b is not None else None
        gb = xp.swapaxes(a, -1, -2) @ grad if a is not None else None
        return ga, gb


class Linear(Function):
    """y = x W^T + b for x (N, in), W (out, in), b (out,);  dx = g W, dW = g^T x, db = sum_N g."""

    float_inputs = (0, 1, 2)

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Optional[Any] = None) -> Any:
        if weight.ndim != 2 or x.ndim < 1 or x.shape[-1] != weight.shape[1]:
            raise ValueError(f"linear: input of shape {shape_str(x.shape)} does not match weight of shape "
                             f"{shape_str(weight.shape)}: the input's last dim must equal weight.shape[1] "
                             f"(in_features={weight.shape[1] if weight.ndim == 2 else '?'})")
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias of shape {shape_str(bias.shape)} should be ({weight.shape[0]},)")
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, weight)
        y = x @ weight.T
        return y + bias if bias is not None else y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        x, weight = ctx.saved
        gx = grad @ weight if ctx.needs_input_grad[0] else None
        gw = None
        if x is not None:
            g2, x2 = grad.reshape(-1, grad.shape[-1]), x.reshape(-1, x.shape[-1])
            gw = g2.T @ x2
        gb = grad.reshape(-1, grad.shape[-1]).sum(axis=0) if ctx.needs_input_grad[2] else None
        return gx, gw, gb


def matmul(a: Any, b: Any) -> Tensor:
    return MatMul.apply(a, b)


def linear(x: Any, weight: Any, bias: Optional[Any] = None) -> Tensor:
    """Fully connected layer: (N, in) -> (N, out) with weight (out, in), as torch.nn.functional.linear."""
    return Linear.apply(x, weight, bias)
