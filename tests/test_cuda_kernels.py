"""The CuPy kernels (functional/fast/cuda_kernels.py): their gather arithmetic, written out in NumPy one output element
at a time exactly as each CUDA thread does it, equals the NumPy path on the CPU; on a GPU the kernels themselves
are compared with the NumPy path (skipped without CuPy and a device)."""
import numpy as np
import pytest

import minitorch_deblur.functional as F
from minitorch_deblur import Tensor
from minitorch_deblur.backend import gpu_available, to_device
from minitorch_deblur.functional.conv import out_size
from minitorch_deblur.functional.fast import cuda_kernels as K
from minitorch_deblur.functional.fast import dispatch
from minitorch_deblur.functional.fast.conv_im2col import col2im, im2col   # conv.py's on NumPy, the kernels on CuPy
from minitorch_deblur.functional.fast.norm_cuda import NormalizeCuda
from minitorch_deblur.functional.fast.pool_cuda import MaxPool2dCuda
from minitorch_deblur.functional.norm import Normalize, batch_norm, instance_norm
from minitorch_deblur.functional.pool import MaxPool2d, max_pool2d

pytestmark = pytest.mark.lesson2
CASES = [((2, 3, 5, 6), (3, 3), (1, 1), (1, 1)), ((1, 2, 7, 5), (2, 3), (2, 1), (0, 1)),
         ((2, 1, 6, 6), (4, 4), (2, 2), (1, 1)), ((1, 2, 4, 4), (2, 2), (2, 2), (0, 0))]


def _threads(shape):
    return np.arange(int(np.prod(shape)))


def im2col_gather(x, kernel, stride, padding, out, pad=0.0):
    """IM2COL, thread i of the (C kh kw, N Ho Wo) output."""
    n_, c_, h_, w_ = x.shape
    (kh, kw), (sh, sw), (ph, pw), (ho_, wo_) = kernel, stride, padding, out
    length = n_ * ho_ * wo_
    i = _threads((c_ * kh * kw, length))
    row, column = i // length, i % length
    c, offset = row // (kh * kw), row % (kh * kw)
    ki, kj = offset // kw, offset % kw
    n, rest = column // (ho_ * wo_), column % (ho_ * wo_)
    h, w = (rest // wo_) * sh - ph + ki, (rest % wo_) * sw - pw + kj
    inside = (h >= 0) & (h < h_) & (w >= 0) & (w < w_)
    flat = x.reshape(-1)[np.where(inside, ((n * c_ + c) * h_ + np.clip(h, 0, h_ - 1)) * w_ + np.clip(w, 0, w_ - 1), 0)]
    return np.where(inside, flat, pad).reshape(c_ * kh * kw, length)


def col2im_gather(cols, x_shape, kernel, stride, padding, out):
    """COL2IM, thread i of the (N, C, H, W) image, looping over the kernel offsets."""
    n_, c_, h_, w_ = x_shape
    (kh, kw), (sh, sw), (ph, pw), (ho_, wo_) = kernel, stride, padding, out
    length = n_ * ho_ * wo_
    i = _threads(x_shape)
    w, h, c, n = i % w_, (i // w_) % h_, (i // (h_ * w_)) % c_, i // (c_ * h_ * w_)
    acc = np.zeros(i.shape)
    flat = cols.reshape(-1)
    for ki in range(kh):
        hp = h + ph - ki
        for kj in range(kw):
            wp = w + pw - kj
            ok = (hp >= 0) & (hp % sh == 0) & (hp // sh < ho_) & (wp >= 0) & (wp % sw == 0) & (wp // sw < wo_)
            index = ((c * kh + ki) * kw + kj) * length + (n * ho_ + hp // sh) * wo_ + wp // sw
            acc += np.where(ok, flat[np.where(ok, index, 0)], 0.0)
    return acc.reshape(x_shape)


def maxpool_gather(x, grad, kernel, stride, padding, out):
    """MAXPOOL_FORWARD (thread per window: max and first argmax) then MAXPOOL_BACKWARD (thread per pixel)."""
    n_, c_, h_, w_ = x.shape
    (kh, kw), (sh, sw), (ph, pw), (ho_, wo_) = kernel, stride, padding, out
    i = _threads((n_, c_, ho_, wo_))
    wo, ho, nc = i % wo_, (i // wo_) % ho_, i // (ho_ * wo_)
    best, winner = np.full(i.shape, -np.inf), np.zeros(i.shape, dtype=np.int64)
    for ki in range(kh):
        for kj in range(kw):
            h, w = ho * sh - ph + ki, wo * sw - pw + kj
            ok = (h >= 0) & (h < h_) & (w >= 0) & (w < w_)
            v = np.where(ok, x.reshape(-1)[np.where(ok, (nc * h_ + h) * w_ + w, 0)], -np.inf)
            take = (v > best) | (ki == 0 and kj == 0)
            best, winner = np.where(take, v, best), np.where(take, ki * kw + kj, winner)
    j = _threads(x.shape)
    w, h, nc = j % w_, (j // w_) % h_, j // (h_ * w_)
    dx = np.zeros(j.shape)
    for ki in range(kh):
        hp = h + ph - ki
        for kj in range(kw):
            wp = w + pw - kj
            ok = (hp >= 0) & (hp % sh == 0) & (hp // sh < ho_) & (wp >= 0) & (wp % sw == 0) & (wp // sw < wo_)
            o = np.where(ok, (nc * ho_ + hp // sh) * wo_ + wp // sw, 0)
            dx += np.where(ok & (winner[o] == ki * kw + kj), grad.reshape(-1)[o], 0.0)
    return best.reshape(n_, c_, ho_, wo_), dx.reshape(x.shape)


@pytest.mark.parametrize("shape, kernel, stride, padding", CASES)
def test_the_kernels_gather_arithmetic_equals_the_numpy_path(shape, kernel, stride, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    out = out_size("test", shape, kernel, stride, padding)
    np.testing.assert_array_equal(im2col_gather(x, kernel, stride, padding, out), im2col(x, kernel, stride, padding))
    cols = rng.standard_normal((shape[1] * kernel[0] * kernel[1], shape[0] * out[0] * out[1]))
    np.testing.assert_allclose(col2im_gather(cols, shape, kernel, stride, padding, out),
                               col2im(cols, shape, kernel, stride, padding), rtol=1e-12, atol=1e-12)
    t = Tensor(x, requires_grad=True)
    y = F.max_pool2d(t, kernel, stride, padding if max(padding) * 2 <= min(kernel) else 0)
    pad = padding if max(padding) * 2 <= min(kernel) else (0, 0)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    mine_y, mine_dx = maxpool_gather(x, g, kernel, stride, pad, out_size("test", shape, kernel, stride, pad))
    np.testing.assert_array_equal(mine_y, y.data)
    np.testing.assert_allclose(mine_dx, t.grad, rtol=1e-12, atol=1e-12)


def test_numpy_arrays_take_the_textbook_functions():
    x = np.zeros((2, 3, 4, 4), dtype=np.float32)
    for given in (x, Tensor(x)):
        assert dispatch.max_pool2d_function(given) is MaxPool2d
        assert dispatch.normalize_function(given) is Normalize
    assert issubclass(NormalizeCuda, Normalize) and NormalizeCuda.moments is not Normalize.moments
    t = Tensor(np.random.default_rng(8).standard_normal((2, 3, 4, 4)), requires_grad=True)
    assert F.max_pool2d(t, 2).grad_fn.function is MaxPool2d
    assert F.batch_norm(t, None, None, training=True).grad_fn.function is Normalize
    assert F.instance_norm(t).grad_fn.function is Normalize


def test_the_module_imports_without_cupy_and_holds_each_kernel():
    for source in (K.IM2COL, K.COL2IM, K.MAXPOOL_FORWARD, K.MAXPOOL_BACKWARD, K.NORM_STATS):
        assert source.count("{") == source.count("}") and ";" in source
    assert {"im2col", "col2im", "maxpool_forward", "maxpool_backward", "norm_stats"} <= set(K.SOURCES)


def test_no_kernel_uses_a_c_library_constant():
    """NVRTC has no C library headers, so INFINITY (which broke max pooling on the H200), NAN, HUGE_VAL, FLT_MAX
    and friends do not compile; tests/test_nvrtc_compile.py compiles the sources where the NVRTC wheels are."""
    import re

    banned = re.compile(r"\b(INFINITY|NAN|HUGE_VALF?|FLT_MAX|FLT_MIN|DBL_MAX|DBL_MIN)\b|#include\s*<c?math")
    for key, source in K.SOURCES.items():
        text = re.sub(r"//[^\n]*|/\*.*?\*/", " ", " ".join(str(v) for v in vars(source).values()), flags=re.S)
        assert not banned.search(text), f"kernel {key} uses {banned.search(text).group(0)}: write it from its bits, " \
                                        "e.g. -inf as __int_as_float(0xff800000)"


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA device")
@pytest.mark.parametrize("shape, kernel, stride, padding", CASES)
def test_the_cuda_kernels_equal_the_numpy_path(shape, kernel, stride, padding):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    xg = to_device(x, "cuda")
    np.testing.assert_allclose(to_device(im2col(xg, kernel, stride, padding), "cpu"), im2col(x, kernel, stride, padding))
    out = out_size("test", shape, kernel, stride, padding)
    cols = np.random.default_rng(2).standard_normal((shape[1] * kernel[0] * kernel[1],
                                                      shape[0] * out[0] * out[1])).astype(np.float32)
    np.testing.assert_allclose(to_device(col2im(to_device(cols, "cuda"), shape, kernel, stride, padding), "cpu"),
                               col2im(cols, shape, kernel, stride, padding), rtol=1e-5, atol=1e-5)


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA device")
@pytest.mark.parametrize("shape, kernel, stride, padding", CASES)
def test_max_pool2d_cuda_equals_the_textbook_max_pool2d(shape, kernel, stride, padding):
    pad = padding if max(padding) * 2 <= min(kernel) else (0, 0)
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    t, tg = Tensor(x, requires_grad=True), Tensor(to_device(x, "cuda"), requires_grad=True)
    y, yg = max_pool2d(t, kernel, stride, pad), F.max_pool2d(tg, kernel, stride, pad)
    assert yg.grad_fn.function is MaxPool2dCuda
    g = np.random.default_rng(6).standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    yg.backward(to_device(g, "cuda"))
    np.testing.assert_array_equal(to_device(yg.data, "cpu"), y.data)
    np.testing.assert_allclose(to_device(tg.grad, "cpu"), t.grad, rtol=1e-6, atol=1e-6)
    textbook = MaxPool2d.apply(Tensor(to_device(x, "cuda")), kernel_size=kernel, stride=stride, padding=pad)
    np.testing.assert_array_equal(to_device(textbook.data, "cpu"), y.data)   # the textbook lines run on CuPy


def norm_stats_gather(x):
    """NORM_STATS, one thread per (n, c) row: Welford's update over the row's pixels, in float64."""
    n_, c_ = x.shape[:2]
    rows = x.reshape(n_ * c_, -1).astype(np.float64)
    m, s = np.zeros(len(rows)), np.zeros(len(rows))
    for j in range(rows.shape[1]):
        v = rows[:, j]
        d = v - m
        m += d / (j + 1)
        s += d * (v - m)
    return m.reshape(n_, c_), s.reshape(n_, c_)


@pytest.mark.parametrize("per_sample", [True, False])
def test_the_norm_statistics_kernels_arithmetic_equals_the_two_pass_path(per_sample):
    from minitorch_deblur.functional.norm import _sum_over

    x = np.random.default_rng(3).normal(4.0, 2.0, (3, 5, 6, 7))
    mean, m2 = norm_stats_gather(x)
    got_mean, got_var = K.merge_row_stats(mean, m2, 6 * 7, per_sample)
    axes = (2, 3) if per_sample else (0, 2, 3)
    count = x.size // (x.shape[0] * x.shape[1] if per_sample else x.shape[1])
    want_mean = _sum_over(x, axes) / count
    np.testing.assert_allclose(got_mean, want_mean, rtol=1e-12)
    np.testing.assert_allclose(got_var, _sum_over(x - want_mean, axes, x - want_mean) / count, rtol=1e-10)


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA device")
@pytest.mark.parametrize("per_sample", [True, False])
def test_the_cuda_norm_statistics_equal_the_numpy_path(per_sample):
    x = np.random.default_rng(4).normal(3.0, 2.0, (4, 6, 9, 11)).astype(np.float32)
    mean, var = K.norm_stats(to_device(x, "cuda"), per_sample)
    axes = (2, 3) if per_sample else (0, 2, 3)
    np.testing.assert_allclose(to_device(mean, "cpu"), x.mean(axis=axes, keepdims=True), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_device(var, "cpu"), x.var(axis=axes, keepdims=True), rtol=1e-4, atol=1e-6)


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA device")
@pytest.mark.parametrize("op", ["batch_norm", "instance_norm"])
def test_normalize_cuda_equals_the_textbook_normalize(op):
    rng = np.random.default_rng(9)
    x = rng.normal(3.0, 2.0, (4, 6, 9, 11)).astype(np.float32)
    w, b = rng.standard_normal(6).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    textbook = {"batch_norm": lambda *a: batch_norm(*a[:1], None, None, *a[1:], training=True),
                "instance_norm": lambda *a: instance_norm(*a[:1], None, None, *a[1:])}[op]
    fast = {"batch_norm": lambda *a: F.batch_norm(*a[:1], None, None, *a[1:], training=True),
            "instance_norm": lambda *a: F.instance_norm(*a[:1], None, None, *a[1:])}[op]
    cpu = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    gpu = [Tensor(to_device(a, "cuda"), requires_grad=True) for a in (x, w, b)]
    y, yg = textbook(*cpu), fast(*gpu)
    assert yg.grad_fn.function is NormalizeCuda
    y.backward(g)
    yg.backward(to_device(g, "cuda"))
    np.testing.assert_allclose(to_device(yg.data, "cpu"), y.data, rtol=1e-4, atol=1e-4)
    for mine, want in zip(gpu, cpu):
        np.testing.assert_allclose(to_device(mine.grad, "cpu"), want.grad, rtol=1e-3, atol=1e-3)


def test_the_bias_activation_kernels_hold_their_arithmetic():
    assert "b[(i / HW) % C]" in K.BIAS_ACTIVATION and "slope" in K.ACTIVATION_BACKWARD


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA device")
def test_the_cuda_bias_activation_equals_the_numpy_path():
    x = np.random.default_rng(6).standard_normal((2, 5, 4, 3)).astype(np.float32)
    b = np.random.default_rng(7).standard_normal(5).astype(np.float32)
    for slope in (0.0, 0.2):
        want = F.bias_activation(Tensor(x), Tensor(b), slope).data
        got = to_device(F.bias_activation(Tensor(to_device(x, "cuda")), Tensor(to_device(b, "cuda")), slope).data, "cpu")
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
