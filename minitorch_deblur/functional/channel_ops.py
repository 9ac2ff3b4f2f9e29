"""The operators of NAFNet-style restoration networks (models/nafnet.py): a layer norm over channels, a depthwise
3x3 convolution, the simple gate, global average pooling, and pixel shuffle / unshuffle.

``LayerNorm2d``, ``DepthwiseConv2d`` and ``SimpleGate`` are Functions with their own backward; global average
pooling and pixel (un)shuffle are compositions of differentiable ops (mean, reshape, permute), so their gradients
come for free.
"""
from __future__ import annotations

from typing import Any, Optional

from ..autograd import Context, Function, Tensor, array_of
from ..backend import get_array_module, shape_str
from .reduce import mean
from .shape import permute, reshape


class LayerNorm2d(Function):
    """Layer norm over the channels of each pixel of (N, C, H, W): statistics over C alone (biased variance).

    mu = mean_C(x), var = mean_C((x - mu)^2), x_hat = (x - mu) / sqrt(var + eps), y = w_c * x_hat + b_c.
    Backward, with g' = g * w_c and means over the C channels of one pixel:
    dx = (g' - mean_C(g') - x_hat * mean_C(g' * x_hat)) / sqrt(var + eps),
    dw = sum over (N, H, W) of g * x_hat, db = sum over (N, H, W) of g.
    """

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, eps: float = 1e-6) -> Any:
        xp = get_array_module(x)
        mu = x.mean(axis=1, keepdims=True)
        centred = x - mu
        var = (centred * centred).mean(axis=1, keepdims=True)
        inv_std = 1 / xp.sqrt(var + x.dtype.type(eps))
        x_hat = centred * inv_std
        ctx.save_for_backward(x_hat, inv_std, weight)
        return x_hat * weight.reshape(1, -1, 1, 1) + bias.reshape(1, -1, 1, 1)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        x_hat, inv_std, weight = ctx.saved
        dw = (grad * x_hat).sum(axis=(0, 2, 3)) if ctx.needs_input_grad[1] else None
        db = grad.sum(axis=(0, 2, 3)) if ctx.needs_input_grad[2] else None
        dx = None
        if ctx.needs_input_grad[0]:
            g = grad * weight.reshape(1, -1, 1, 1)
            dx = (g - g.mean(axis=1, keepdims=True)
                  - x_hat * (g * x_hat).mean(axis=1, keepdims=True)) * inv_std
        return dx, dw, db


def layer_norm2d(x: Any, weight: Any, bias: Any, eps: float = 1e-6) -> Tensor:
    """Channel layer norm of (N, C, H, W): each pixel's C values normalised, then scaled and shifted per channel
    (weight, bias of shape (C,)). NAFNet's LayerNorm2d (eps 1e-6)."""
    a = array_of(x)
    if a.ndim != 4:
        raise ValueError(f"layer_norm2d: expected a 4-D (N, C, H, W) input, got shape {shape_str(a.shape)}")
    for name, p in (("weight", weight), ("bias", bias)):
        if tuple(array_of(p).shape) != (a.shape[1],):
            raise ValueError(f"layer_norm2d: {name} of shape {shape_str(array_of(p).shape)} does not match the "
                             f"input's {a.shape[1]} channels (input shape {shape_str(a.shape)})")
    return LayerNorm2d.apply(x, weight, bias, eps=eps)


class DepthwiseConv2d(Function):
    """Depthwise 2-D convolution, stride 1: each channel convolved with its own (kh, kw) kernel (PyTorch's
    conv2d with groups = C and weight (C, 1, kh, kw)), zero padding ``padding`` on each side.

    y[n, c, i, j] = b[c] + sum_{u, v} w[c, 0, u, v] * xp[n, c, i + u, j + v]  (xp: x zero-padded).
    Backward: dxp[n, c, i + u, j + v] += w[c, 0, u, v] * g[n, c, i, j] (then the padding cut off),
    dw[c, 0, u, v] = sum_{n, i, j} g[n, c, i, j] * xp[n, c, i + u, j + v], db[c] = sum_{n, i, j} g[n, c, i, j].
    One shifted multiply-add per kernel tap: kh * kw passes over the image, no im2col.
    """

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Optional[Any], padding: int = 1) -> Any:
        xp = get_array_module(x)
        p = padding
        padded = xp.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
        kh, kw = weight.shape[2:]
        h, w = padded.shape[2] - kh + 1, padded.shape[3] - kw + 1
        y = xp.zeros((x.shape[0], x.shape[1], h, w), dtype=x.dtype)
        for u in range(kh):
            for v in range(kw):
                y += weight[:, 0, u, v].reshape(1, -1, 1, 1) * padded[:, :, u:u + h, v:v + w]
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        ctx.padding, ctx.x_shape = p, x.shape
        ctx.save_for_backward(padded, weight)
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        padded, weight = ctx.saved
        xp = get_array_module(grad)
        kh, kw = weight.shape[2:]
        h, w = grad.shape[2:]
        dx = dw = db = None
        if ctx.needs_input_grad[1]:
            dw = xp.zeros_like(weight)
            for u in range(kh):
                for v in range(kw):
                    dw[:, 0, u, v] = xp.einsum("nchw,nchw->c", grad, padded[:, :, u:u + h, v:v + w])
        if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]:
            db = grad.sum(axis=(0, 2, 3))
        if ctx.needs_input_grad[0]:
            dpad = xp.zeros_like(padded)
            for u in range(kh):
                for v in range(kw):
                    dpad[:, :, u:u + h, v:v + w] += weight[:, 0, u, v].reshape(1, -1, 1, 1) * grad
            p = ctx.padding
            dx = dpad[:, :, p:p + ctx.x_shape[2], p:p + ctx.x_shape[3]] if p else dpad
        return dx, dw, db


def depthwise_conv2d(x: Any, weight: Any, bias: Optional[Any] = None, padding: int = 1) -> Tensor:
    """conv2d(x, weight, bias, padding=padding, groups=C) of PyTorch for weight (C, 1, kh, kw), stride 1."""
    a, w = array_of(x), array_of(weight)
    if a.ndim != 4 or w.ndim != 4 or w.shape[:2] != (a.shape[1], 1):
        raise ValueError(f"depthwise_conv2d: input {shape_str(a.shape)} needs a weight of shape "
                         f"({a.shape[1] if a.ndim == 4 else 'C'}, 1, kh, kw), got {shape_str(w.shape)}")
    if a.shape[2] + 2 * padding < w.shape[2] or a.shape[3] + 2 * padding < w.shape[3]:
        raise ValueError(f"depthwise_conv2d: kernel {shape_str(w.shape[2:])} larger than the padded input "
                         f"{shape_str(a.shape)} (padding {padding})")
    return DepthwiseConv2d.apply(x, weight, bias, padding=int(padding))


class SimpleGate(Function):
    """NAFNet's gate: x = (a, b), two halves of the channels; y = a * b.  Backward: dx = (g * b, g * a).
    (A Function rather than two slices and a product: the slices' backward would scatter with ``add.at``.)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        c = x.shape[1] // 2
        ctx.save_for_backward(x)
        return x[:, :c] * x[:, c:]

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (x,) = ctx.saved
        xp = get_array_module(x)
        c = x.shape[1] // 2
        return (xp.concatenate([grad * x[:, c:], grad * x[:, :c]], axis=1),)


def simple_gate(x: Any) -> Tensor:
    """NAFNet's gate: (N, 2C, H, W) -> (N, C, H, W), the first C channels times the last C."""
    a = array_of(x)
    if a.ndim != 4 or a.shape[1] % 2:
        raise ValueError(f"simple_gate: expected (N, 2C, H, W) with an even channel count, got {shape_str(a.shape)}")
    return SimpleGate.apply(x)


def adaptive_avg_pool2d(x: Any, output_size: Any = 1) -> Tensor:
    """Global average pooling (N, C, H, W) -> (N, C, 1, 1): PyTorch's adaptive_avg_pool2d for output size 1 only."""
    if output_size not in (1, (1, 1), [1, 1]):
        raise ValueError(f"adaptive_avg_pool2d: only output_size 1 (global average pooling) is implemented, "
                         f"got {output_size!r}; use avg_pool2d for other sizes")
    a = array_of(x)
    if a.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d: expected a 4-D (N, C, H, W) input, got shape {shape_str(a.shape)}")
    return mean(x, dim=(2, 3), keepdim=True)


def pixel_shuffle(x: Any, upscale_factor: int) -> Tensor:
    """(N, C r^2, H, W) -> (N, C, H r, W r), PyTorch's order: out[n, c, h r + i, w r + j] = x[n, c r^2 + i r + j, h, w].
    A reshape to (N, C, r, r, H, W), a permute to (N, C, H, r, W, r), a reshape."""
    a, r = array_of(x), int(upscale_factor)
    if a.ndim != 4 or r < 1 or a.shape[1] % (r * r):
        raise ValueError(f"pixel_shuffle: input {shape_str(a.shape)} needs 4 dims and channels divisible by "
                         f"upscale_factor^2 = {r * r}")
    n, crr, h, w = a.shape
    c = crr // (r * r)
    y = permute(reshape(x, (n, c, r, r, h, w)), (0, 1, 4, 2, 5, 3))
    return reshape(y, (n, c, h * r, w * r))


def pixel_unshuffle(x: Any, downscale_factor: int) -> Tensor:
    """(N, C, H r, W r) -> (N, C r^2, H, W), the inverse of pixel_shuffle (PyTorch's order):
    out[n, c r^2 + i r + j, h, w] = x[n, c, h r + i, w r + j]."""
    a, r = array_of(x), int(downscale_factor)
    if a.ndim != 4 or r < 1 or a.shape[2] % r or a.shape[3] % r:
        raise ValueError(f"pixel_unshuffle: input {shape_str(a.shape)} needs 4 dims and a height and width "
                         f"divisible by downscale_factor {r}")
    n, c, hr, wr = a.shape
    h, w = hr // r, wr // r
    y = permute(reshape(x, (n, c, h, r, w, r)), (0, 1, 3, 5, 2, 4))
    return reshape(y, (n, c * r * r, h, w))
