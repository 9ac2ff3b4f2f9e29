"""Every conv2d path of the dispatcher (functional/fast/), forced in turn: im2col, the shifted-run paths (unfold,
fold) and the DFT path, and the automatic choice.

Each runs the op table's conv2d row through F.conv2d (forward against the naive loops in float32 and float64, and a float64
gradient check), bigger kernels than the table draws, several batch chunks, and a bound on its memory. The
automatic choice is checked on the course's layer shapes.
"""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

import dataclasses

import minitorch_deblur as mt
from minitorch_deblur.functional.fast import conv_fft, conv_pointwise, conv_shifted, conv_strided
from minitorch_deblur.functional.fast.conv2d_fast import Conv2dFast
from minitorch_deblur.functional.fast.conv_im2col import ConvTranspose2dFast
from minitorch_deblur.functional.fast.dispatch import choose_conv2d, conv2d, conv_transpose2d, use_conv_path
from minitorch_deblur.gradcheck import assert_gradcheck
from minitorch_deblur.testing import op_table as T
from minitorch_deblur.testing import reference as ref

PATHS = ["auto", "im2col", "unfold", "fold", "fft"]
CONV_ROW = dataclasses.replace(   # the op table's row (it grades conv.py's textbook conv2d) through the dispatcher
    T.get("conv2d"), call=lambda c, x, w, b: conv2d(x, w, b, stride=c["stride"], padding=c["padding"]))
pytestmark = pytest.mark.lesson2


def _draw(data: st.DataObject) -> tuple:
    cfg = CONV_ROW.config(lambda lo, hi: data.draw(st.integers(lo, hi)),
                          lambda lo, hi: data.draw(st.floats(lo, hi, allow_nan=False)))
    note(f"conv2d config {T.describe(cfg)}")
    return cfg, CONV_ROW.make_inputs(np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))), cfg)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("path", PATHS)
def test_op_table_forward_on_every_path(path: str, dtype: type) -> None:
    @settings(max_examples=10, deadline=None)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        cfg, arrays = _draw(data)
        with use_conv_path(path):
            err = T.forward_error(CONV_ROW, cfg, arrays, dtype)
        assert err <= (2e-5 if dtype == np.float32 else 1e-10), f"{path}: off by {err:.3g}, {T.describe(cfg)}"
    check()


@pytest.mark.parametrize("path", PATHS)
def test_op_table_gradients_on_every_path(path: str) -> None:
    @settings(max_examples=10, deadline=None)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        cfg, arrays = _draw(data)
        seed = data.draw(st.integers(0, 2**16))
        with use_conv_path(path):
            assert_gradcheck(CONV_ROW.bind(cfg), arrays, wrt=CONV_ROW.wrt, seed=seed, name=f"conv2d[{path}]")
    check()


@pytest.mark.parametrize("path", PATHS[1:])
@pytest.mark.parametrize("shape", [
    # n, c, o, h, w, kernel, padding: big kernels, 'same' and 'valid', non-square, padding >= kernel
    (2, 3, 5, 9, 8, (5, 5), (2, 2)), (2, 4, 2, 11, 11, (7, 7), (3, 3)), (1, 2, 3, 8, 10, (5, 3), (0, 1)),
    (3, 5, 4, 6, 7, (2, 4), (3, 2)),
], ids=lambda s: "x".join(map(str, s[5])) if isinstance(s, tuple) else str(s))
def test_big_kernels_match_the_loops_with_several_chunks(path: str, shape: tuple, monkeypatch) -> None:
    """Tiny CHUNK_BYTES: one image (or one output channel's spectra) per chunk, and a partial last chunk."""
    monkeypatch.setattr(conv_shifted, "CHUNK_BYTES", 1)
    monkeypatch.setattr(conv_fft, "CHUNK_BYTES", 1)
    n, c, o, h, w, kernel, padding = shape
    rng = np.random.default_rng(0)
    x, wt, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, *kernel)), rng.standard_normal(o)
    with use_conv_path(path):
        y = conv2d(x, wt, b, padding=padding)
        np.testing.assert_allclose(y.numpy(), ref.conv2d(x, wt, b, 1, padding), rtol=1e-10, atol=1e-10)
        assert_gradcheck(lambda *t: conv2d(*t, padding=padding), [x, wt, b], name=f"conv2d[{path}] {shape}")


def _peak_bytes(path: str, x: mt.Tensor, w: mt.Tensor) -> int:
    """Peak NumPy memory of one forward + backward of a 'same' conv on the given path."""
    with use_conv_path(path):
        conv2d(x, w, padding=3).sum().backward()        # warm the DFT matrices' cache
        tracemalloc.start()
        conv2d(x, w, padding=3).sum().backward()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("path", ["unfold", "fold", "fft"])
def test_fast_paths_hold_no_kernel_sized_copy_of_the_batch(path: str, monkeypatch) -> None:
    """A 7x7 conv's im2col matrix is 49x its input; the fast paths work a chunk of the batch at a time."""
    monkeypatch.setattr(conv_shifted, "CHUNK_BYTES", 256 << 10)
    monkeypatch.setattr(conv_fft, "CHUNK_BYTES", 256 << 10)
    rng = np.random.default_rng(0)
    x = mt.tensor(rng.standard_normal((8, 16, 24, 24)).astype(np.float32), requires_grad=True)
    w = mt.tensor(rng.standard_normal((16, 16, 7, 7)).astype(np.float32) * 0.05, requires_grad=True)
    reference, fast = _peak_bytes("im2col", x, w), _peak_bytes(path, x, w)
    assert reference > 16 * 49 * 8 * 24 * 24 * 4       # the reference holds the whole column matrix
    assert fast < reference / 2, f"{path}: peak {fast / 2**20:.1f} MB vs im2col {reference / 2**20:.1f} MB"


def test_automatic_choice_on_the_course_layers() -> None:
    def path(o: int, c: int, k: int, size: int, stride: int = 1) -> object:
        p = k // 2
        return choose_conv2d((stride, stride), (o, c, k, k), (32, c, size, size), (p, p))
    assert path(128, 128, 7, 32) == "fft"          # Win5-RB's wide 7x7 layers
    assert path(64, 32, 5, 32) == "fft"
    assert path(3, 128, 7, 32) == "shifted"        # few outputs: shifted runs, folded (choose -> 'fold')
    assert conv_shifted.choose(128, 3) == "fold" and conv_shifted.choose(3, 64) == "unfold"
    assert path(64, 3, 9, 32) == "shifted"         # SRCNN's 9x9 from RGB
    assert path(64, 64, 3, 96) == "shifted"        # 3x3s and big images: shifted runs
    assert path(128, 64, 4, 48, stride=2) == "im2col"   # strided: conv2d() first tries space-to-depth:
    assert conv_strided.worthwhile(64, (2, 2))     # few channels: space-to-depth phases (U-Net enc2, PatchGAN)
    assert not conv_strided.worthwhile(128, (2, 2)) and not conv_strided.worthwhile(3, (1, 1))
    with use_conv_path("im2col"):
        assert path(128, 128, 7, 32) == "im2col"


def test_unknown_path_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown path 'winograd'.*im2col"):
        with use_conv_path("winograd"):
            pass


def test_pointwise_1x1_path_matches_the_loops() -> None:
    """1x1 kernels without padding take the batched-GEMM path automatically (SRCNN's middle layer)."""
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((3, 5, 4, 6)), rng.standard_normal((7, 5, 1, 1)), rng.standard_normal(7)
    assert choose_conv2d((1, 1), w.shape, x.shape, (0, 0)) == "pointwise"
    assert choose_conv2d((1, 1), w.shape, x.shape, (1, 1)) == "shifted"   # padded: shifted runs
    assert conv_pointwise.worthwhile((1, 1), (0, 0)) and not conv_pointwise.worthwhile((1, 1), (1, 0))
    np.testing.assert_allclose(conv2d(x, w, b).numpy(), ref.conv2d(x, w, b, 1, 0), rtol=1e-10, atol=1e-10)
    assert_gradcheck(lambda *t: conv2d(*t), [x, w, b], name="conv2d[pointwise]")


@pytest.mark.parametrize("path", ["unfold", "fold", "fft"])
@pytest.mark.parametrize("shape", [
    # n, c, o, h, w, kernel, stride, padding: the GAN's 4x4 s2 p1, odd sizes, uneven strides, a window-free tail
    (2, 3, 4, 8, 8, (4, 4), (2, 2), (1, 1)), (2, 2, 3, 9, 7, (3, 3), (2, 2), (1, 1)),
    (1, 2, 3, 10, 11, (3, 2), (3, 2), (1, 0)), (2, 3, 2, 7, 6, (2, 3), (2, 3), (0, 1)),
], ids=lambda s: "s".join(map(str, s[5:7])) if isinstance(s, tuple) else str(s))
def test_strided_space_to_depth_matches_the_loops(path: str, shape: tuple) -> None:
    n, c, o, h, w, kernel, stride, padding = shape
    assert conv_strided.worthwhile(c, stride)
    rng = np.random.default_rng(2)
    x, wt, b = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, *kernel)), rng.standard_normal(o)
    with use_conv_path(path):
        y = conv2d(x, wt, b, stride=stride, padding=padding)
        np.testing.assert_allclose(y.numpy(), ref.conv2d(x, wt, b, stride, padding), rtol=1e-10, atol=1e-10)
        assert_gradcheck(lambda *t: conv2d(*t, stride=stride, padding=padding), [x, wt, b],
                         name=f"conv2d[space-to-depth, {path}] {shape}")


@pytest.mark.parametrize("algorithm", ["im2col", "pointwise", "fft", "shifted", "unfold", "fold"])
def test_conv2d_fast_equals_the_textbook_conv2d(algorithm: str) -> None:
    """Each algorithm of Conv2dFast, applied directly, against conv.py's Conv2d: values and every gradient."""
    from minitorch_deblur.functional import conv as textbook

    rng = np.random.default_rng(3)
    k, p = (1, 0) if algorithm == "pointwise" else (3, 1)
    x, w, b = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, k, k)), rng.standard_normal(4)
    grads = []
    for fn in (lambda *t: textbook.conv2d(*t, padding=p), lambda *t: Conv2dFast.apply(*t, padding=p,
                                                                                      algorithm=algorithm)):
        ts = [mt.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = fn(*ts)
        y.backward(np.cos(np.arange(y.numpy().size)).reshape(y.shape))
        grads.append([y.numpy()] + [t.grad for t in ts])
    for mine, want in zip(*grads):
        np.testing.assert_allclose(mine, want, rtol=1e-10, atol=1e-10)


def test_conv_transpose2d_fast_equals_the_textbook_one() -> None:
    from minitorch_deblur.functional import conv as textbook

    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((3, 2, 4, 4)), rng.standard_normal(2)
    y = conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1)
    assert y.shape == (2, 2, 9, 11)
    np.testing.assert_allclose(y.numpy(), textbook.conv_transpose2d(x, w, b, 2, 1, 1).numpy(), rtol=1e-12)
    assert_gradcheck(lambda *t: ConvTranspose2dFast.apply(*t, stride=2, padding=1), [x, w, b],
                     name="conv_transpose2d[fast]")
