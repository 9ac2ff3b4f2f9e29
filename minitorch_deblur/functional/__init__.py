"""Differentiable operators with PyTorch's names, argument order and layouts (NCHW, weights OIHW).

    import minitorch_deblur.functional as F
    y = F.relu(F.conv2d(x, w, b, stride=1, padding=1))
"""
from .activation import leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from .channel_ops import (adaptive_avg_pool2d, depthwise_conv2d, layer_norm2d, pixel_shuffle, pixel_unshuffle,
                          simple_gate)
from .dropout import dropout
from .elementwise import (abs, add, cast, clamp, div, exp, log, maximum, minimum, mul, neg, pow, sqrt,  # noqa: A004
                          sub, where)
from .linalg import linear, matmul
from .loss import binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss, nll_loss, psnr_loss
from .reduce import amax, amin, argmax, argmin, max, mean, min, std, sum, var  # noqa: A004
from .shape import (broadcast_to, cat, concat, expand, flatten, gather, getitem, pad, permute, repeat, reshape,
                    squeeze, stack, transpose, unsqueeze)

from .fast.dispatch import (batch_norm, col2im, conv2d, conv_transpose2d, im2col, instance_norm, max_pool2d,
                            use_conv_path)
from .fast.fusion import bias_activation
from .pool import avg_pool2d, upsample_nearest2d
from . import tensor_methods  # noqa: F401,E402  (attaches + - * / @ ** indexing sum ... to Tensor)


def __getattr__(name: str) -> object:
    from ..hints import missing
    raise missing("nn.functional", name, [n for n in globals() if not n.startswith("_")])
