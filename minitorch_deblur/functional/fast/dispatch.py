"""The one dispatch point of the fast paths: which algorithm a convolution runs, and the state that forces one.

    F.conv2d            conv2d here: the algorithm per shape (``choose_conv2d``), run by conv2d_fast.Conv2dFast
    F.conv_transpose2d  conv_transpose2d here: conv.py's lines with CUDA gathers on a GPU (conv_im2col.py)
    F.im2col, F.col2im  conv_im2col.py: conv.py's on NumPy, cuda_kernels.py's on CuPy
    F.max_pool2d        max_pool2d here: pool.py's MaxPool2d on NumPy, pool_cuda.MaxPool2dCuda on CuPy
    F.batch_norm,       batch_norm / instance_norm here: norm.py's, applying the Function ``normalize_function``
    F.instance_norm     picks: Normalize on NumPy, norm_cuda.NormalizeCuda (fused kernels) on CuPy
    nn.ReLU, LeakyReLU, relu / leaky_relu / dropout here: activation.py's and dropout.py's on NumPy, one kernel each
    nn.Dropout          way on CuPy (fusion.Activation, fusion.DropoutCuda)

The automatic choice on NumPy: stride 1: a 1x1 kernel without padding -> 'pointwise'; a kernel of 5x5 or more
between 16+ channels on a small image -> 'fft'; else 'shifted'. Stride > 1 with few input channels -> the
space-to-depth phases (conv_strided.py), a stride-1 conv that takes the stride-1 choice; else 'im2col'.
On CuPy every conv but the pointwise ones takes 'im2col': one gather kernel and one cuBLAS GEMM per product, where
the shifted, DFT and space-to-depth paths issue tens of small array operations, each a kernel launch
(tests/test_gpu_launch_budget.py counts them); the DFT path stays available to ``use_conv_path('fft')``.
``use_conv_path(path)`` forces one path inside a block (the tests that prove the paths equal, the benchmarks).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Iterator, Literal, Optional, Tuple, Type, get_args

import numpy as np

from ...autograd import Function, Tensor, array_of, as_tensor
from ...backend import Generator, get_array_module
from .. import norm
from ..activation import leaky_relu as textbook_leaky_relu
from ..activation import relu as textbook_relu
from ..dropout import dropout as textbook_dropout
from ..conv import IntPair, conv_args
from ..norm import Normalize
from ..pool import MaxPool2d
from . import conv_fft, conv_pointwise, conv_shifted, conv_strided, cuda_kernels
from .conv2d_fast import Algorithm, Conv2dFast
from .conv_im2col import ConvTranspose2dFast, col2im, im2col
from .fusion import Activation, DropoutCuda
from . import norm_cuda
from .norm_cuda import NormalizeCuda
from .pool_cuda import MaxPool2dCuda

__all__ = ["ConvPath", "PATHS", "use_conv_path", "conv_path", "choose_conv2d", "conv2d", "conv_transpose2d",
           "im2col", "col2im", "cuda_kernels_for", "max_pool2d", "max_pool2d_function", "batch_norm",
           "instance_norm", "normalize_function", "relu", "leaky_relu", "dropout", "norm_activation"]

ConvPath = Literal["auto", "im2col", "fft", "unfold", "fold"]
PATHS: Tuple[str, ...] = get_args(ConvPath)


@dataclass
class DispatchState:
    """What ``use_conv_path`` set: 'auto' (choose per shape) or the one path every conv2d takes."""

    conv_path: ConvPath = "auto"


STATE = DispatchState()


@contextmanager
def use_conv_path(path: ConvPath) -> Iterator[None]:
    """Force conv2d's path inside the block: 'im2col' (the reference, every stride), or 'fft', 'unfold' or 'fold'
    for the stride-1 convolutions, including those that strided convs of few channels become (conv_strided.py);
    strided convs of many channels take im2col. 'auto' is the default. A forward pass and its backward use the
    same path."""
    if path not in PATHS:
        raise ValueError(f"use_conv_path: unknown path {path!r}; choose one of {', '.join(PATHS)}")
    previous, STATE.conv_path = STATE.conv_path, path
    try:
        yield
    finally:
        STATE.conv_path = previous


def conv_path() -> ConvPath:
    """The path ``use_conv_path`` forces now ('auto' outside any block)."""
    return STATE.conv_path


def choose_conv2d(stride: Tuple[int, int], weight_shape: Tuple[int, ...], x_shape: Tuple[int, ...],
                  padding: Tuple[int, int], on_gpu: bool = False) -> Algorithm:
    """The algorithm of one conv2d (see the module docstring); strided convs of few channels are decided before."""
    forced = STATE.conv_path
    if stride != (1, 1) or forced == "im2col":
        return "im2col"
    if forced != "auto":
        return forced
    o, c, kh, kw = weight_shape
    if conv_pointwise.worthwhile((kh, kw), padding):
        return "pointwise"
    if on_gpu:
        return "im2col"
    grid = (x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1])
    return "fft" if conv_fft.worthwhile(c, o, (kh, kw), grid) else "shifted"


def conv2d(x: Any, weight: Any, bias: Optional[Any] = None, stride: IntPair = 1, padding: IntPair = 0) -> Tensor:
    """PyTorch's ``F.conv2d`` (conv.conv2d's contract) on the fastest path for its shape."""
    x, weight = as_tensor(x), as_tensor(weight)
    _, stride, padding, _ = conv_args(x.data, weight.data, array_of(bias), stride, padding)
    on_gpu, forced = get_array_module(x.data) is not np, STATE.conv_path
    if forced != "im2col" and not (on_gpu and forced == "auto") and conv_strided.worthwhile(x.shape[1], stride):
        return conv_strided.conv2d_space_to_depth(x, weight, bias, stride, padding, _conv2d_stride1)
    return Conv2dFast.apply(x, weight, bias, stride=stride, padding=padding,
                            algorithm=choose_conv2d(stride, weight.shape, x.shape, padding, on_gpu))


def _conv2d_stride1(x: Tensor, weight: Tensor, bias: Optional[Any]) -> Tensor:
    """An unpadded stride-1 conv2d on the stride-1 choice (what space-to-depth hands over)."""
    return Conv2dFast.apply(x, weight, bias, algorithm=choose_conv2d((1, 1), weight.shape, x.shape, (0, 0)))


def conv_transpose2d(x: Any, weight: Any, bias: Optional[Any] = None, stride: IntPair = 1, padding: IntPair = 0,
                     output_padding: IntPair = 0) -> Tensor:
    """PyTorch's ``F.conv_transpose2d`` (conv.conv_transpose2d's contract), with CUDA gathers on a GPU."""
    return ConvTranspose2dFast.apply(x, weight, bias, stride=stride, padding=padding, output_padding=output_padding)


def cuda_kernels_for(x: Any) -> Optional[ModuleType]:
    """cuda_kernels.py when x is a CuPy array, else None (NumPy: the operator's own lines)."""
    return None if get_array_module(x) is np else cuda_kernels


def max_pool2d_function(x: Any) -> Type[Function]:
    """The max-pooling Function for x's arrays: MaxPool2dCuda on CuPy, the textbook MaxPool2d on NumPy."""
    return MaxPool2d if cuda_kernels_for(array_of(x)) is None else MaxPool2dCuda


def max_pool2d(x: Any, kernel_size: IntPair = 2, stride: Optional[IntPair] = None, padding: IntPair = 0) -> Tensor:
    """PyTorch's ``F.max_pool2d`` (pool.max_pool2d's contract) on the Function ``max_pool2d_function`` picks."""
    return max_pool2d_function(x).apply(x, kernel_size=kernel_size, stride=stride, padding=padding)


def norm_activation(kind: str, input: Any, running_mean: Optional[Any], running_var: Optional[Any],  # noqa: A002
                    weight: Optional[Any], bias: Optional[Any], batch_stats: bool, momentum: float, eps: float,
                    negative_slope: float, num_batches_tracked: Optional[Any] = None) -> Tensor:
    """LeakyReLU (ReLU for slope 0) of F.batch_norm (kind 'batch', ``batch_stats`` = training) or F.instance_norm
    (kind 'instance', ``batch_stats`` = use_input_stats). On CuPy, where NormalizeCuda's kernels cover the call, the
    activation runs inside them (no pass of its own either way); else the two operators one after the other.
    ``num_batches_tracked`` (a layer's counter buffer) gets += 1: inside the statistics kernel where it can."""
    x = array_of(input)
    axes = (0, 2, 3) if kind == "batch" else (2, 3)
    running = (running_mean, running_var) if kind == "batch" else (None, None)
    if cuda_kernels_for(x) is not None and batch_stats and negative_slope >= 0 and x.ndim == 4 \
            and (kind == "batch" or running_mean is None) and x.size // x.shape[1] > 1 \
            and norm_cuda.fusable(x, array_of(weight), array_of(bias), axes, *running):
        inside = num_batches_tracked is not None and running[0] is not None
        if num_batches_tracked is not None and not inside:
            num_batches_tracked += 1
        return NormalizeCuda.apply(input, weight, bias, axes=axes, eps=eps, running_mean=running[0],
                                   running_var=running[1], momentum=momentum, slope=negative_slope,
                                   tracked=num_batches_tracked if inside else None)
    if num_batches_tracked is not None:
        num_batches_tracked += 1
    if kind == "batch":
        y = batch_norm(input, running_mean, running_var, weight, bias, training=batch_stats, momentum=momentum,
                       eps=eps)
    else:
        y = instance_norm(input, running_mean, running_var, weight, bias, use_input_stats=batch_stats,
                          momentum=momentum, eps=eps)
    return relu(y) if negative_slope == 0 else leaky_relu(y, negative_slope)


def relu(x: Any) -> Tensor:
    """F.relu; on CuPy one kernel each way (fusion.Activation)."""
    return textbook_relu(x) if cuda_kernels_for(array_of(x)) is None else Activation.apply(x, negative_slope=0.0)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """F.leaky_relu; on CuPy one kernel each way (fusion.Activation) for 0 <= negative_slope."""
    if cuda_kernels_for(array_of(x)) is None or negative_slope < 0:
        return textbook_leaky_relu(x, negative_slope)
    return Activation.apply(x, negative_slope=negative_slope)


def dropout(x: Any, p: float = 0.5, training: bool = True, generator: Optional[Generator] = None) -> Tensor:
    """F.dropout; on CuPy, in training with 0 < p < 1, one kernel each way (fusion.DropoutCuda), same draws."""
    if cuda_kernels_for(array_of(x)) is None or not training or not 0.0 < p < 1.0:
        return textbook_dropout(x, p, training, generator)
    return DropoutCuda.apply(x, p=p, generator=generator)


def normalize_function(x: Any) -> Type[Normalize]:
    """The normalisation Function for x's arrays: NormalizeCuda on CuPy, the textbook Normalize on NumPy."""
    return Normalize if cuda_kernels_for(array_of(x)) is None else NormalizeCuda


def batch_norm(input: Any, running_mean: Optional[Any], running_var: Optional[Any],  # noqa: A002
               weight: Optional[Any] = None, bias: Optional[Any] = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """PyTorch's ``F.batch_norm`` (norm.batch_norm's contract) on the Function ``normalize_function`` picks."""
    return norm.batch_norm(input, running_mean, running_var, weight, bias, training=training, momentum=momentum,
                           eps=eps, normalize=normalize_function(input))


def instance_norm(input: Any, running_mean: Optional[Any] = None, running_var: Optional[Any] = None,  # noqa: A002
                  weight: Optional[Any] = None, bias: Optional[Any] = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """PyTorch's ``F.instance_norm`` (norm.instance_norm's contract) on the Function ``normalize_function`` picks."""
    return norm.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats=use_input_stats,
                              momentum=momentum, eps=eps, normalize=normalize_function(input))
