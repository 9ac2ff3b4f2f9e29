"""The fast paths, behind one dispatch point (dispatch.py). The textbook operators in ../conv.py, ../pool.py and
../norm.py never branch on algorithm or device; what is faster for a shape or a device sits here, one file each:

    dispatch.py        the choice and its state: use_conv_path, choose_conv2d, and F.conv2d / F.conv_transpose2d /
                       F.im2col / F.col2im / F.max_pool2d / F.batch_norm / F.instance_norm
    conv2d_fast.py     Conv2dFast: conv2d forward and backward on the chosen algorithm
    conv_im2col.py     conv.py's im2col lines with CUDA gathers on a GPU; ConvTranspose2dFast
    conv_pointwise.py  1x1 kernels: one batched GEMM
    conv_shifted.py    stride 1 on contiguous runs of a row-padded image
    conv_fft.py        big kernels through the DFT
    conv_strided.py    strides > 1 as a stride-1 conv of the space-to-depth phases
    pool_cuda.py       MaxPool2dCuda: max pooling as two CUDA kernels (CuPy arrays)
    norm_cuda.py       NormalizeCuda: Normalize with one-pass CUDA statistics (CuPy arrays)
    cuda_kernels.py    CuPy kernels (only ever called on CuPy arrays)
    fusion.py          a conv's bias add + ReLU / LeakyReLU in one kernel on a GPU (nn/fusion.py applies it)

Each file says when it is chosen, and each is tested equal to the textbook operator (tests/test_conv_paths.py,
tests/test_cuda_kernels.py). The textbook files import nothing from here.
"""
from .dispatch import PATHS, choose_conv2d, col2im, conv2d, conv_path, conv_transpose2d, im2col, use_conv_path
from .fusion import bias_activation

__all__ = ["PATHS", "bias_activation", "choose_conv2d", "col2im", "conv2d", "conv_path", "conv_transpose2d",
           "im2col", "use_conv_path"]
