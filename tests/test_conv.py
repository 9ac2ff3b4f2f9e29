"""conv2d and conv_transpose2d: naive-loop oracles, gradient checks, the adjoint property, shape errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch_deblur as mt
from minitorch_deblur.backend import shape_str
from minitorch_deblur.functional.conv import col2im, conv2d, conv_transpose2d, im2col
from minitorch_deblur.gradcheck import assert_gradcheck
from minitorch_deblur.testing import reference as ref

lesson2 = pytest.mark.lesson2
lesson5 = pytest.mark.lesson5
SETTINGS = settings(max_examples=12, deadline=None)


@st.composite
def conv_configs(draw: st.DrawFn) -> dict:
    """A valid (N, C, H, W, O, kernel, stride, padding, output_padding) combination, small enough for loops."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1))
    h = draw(st.integers(max(1, kh - 2 * ph), 7))           # the kernel fits the padded input
    w = draw(st.integers(max(1, kw - 2 * pw), 7))
    return dict(n=draw(st.integers(1, 2)), c=draw(st.integers(1, 3)), h=h, w=w, o=draw(st.integers(1, 3)),
                kernel=(kh, kw), stride=(sh, sw), padding=(ph, pw),
                output_padding=(draw(st.integers(0, sh - 1)), draw(st.integers(0, sw - 1))),
                bias=draw(st.booleans()), seed=draw(st.integers(0, 2**16)))


def _arrays(cfg: dict, dtype=np.float64) -> tuple:
    rng = np.random.default_rng(cfg["seed"])
    x = rng.standard_normal((cfg["n"], cfg["c"], cfg["h"], cfg["w"])).astype(dtype)
    w = rng.standard_normal((cfg["o"], cfg["c"], *cfg["kernel"])).astype(dtype)
    b = rng.standard_normal(cfg["o"]).astype(dtype) if cfg["bias"] else None
    return x, w, b


# ----------------------------------------------------------------------------------------------- conv2d
@lesson2
@SETTINGS
@given(conv_configs())
def test_conv2d_matches_naive_loops(cfg: dict) -> None:
    x, w, b = _arrays(cfg)
    y = conv2d(x, w, b, stride=cfg["stride"], padding=cfg["padding"])
    expected = ref.conv2d(x, w, b, stride=cfg["stride"], padding=cfg["padding"])
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-10)


@lesson2
@SETTINGS
@given(conv_configs())
def test_conv2d_float32_forward(cfg: dict) -> None:
    x, w, b = _arrays(cfg, np.float32)
    y = conv2d(x, w, b, stride=cfg["stride"], padding=cfg["padding"])
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), ref.conv2d(x, w, b, cfg["stride"], cfg["padding"]), rtol=1e-4, atol=1e-4)


@lesson2
@SETTINGS
@given(conv_configs())
def test_conv2d_gradients(cfg: dict) -> None:
    x, w, b = _arrays(cfg)
    inputs = [x, w] + ([b] if b is not None else [])
    assert_gradcheck(lambda *t: conv2d(*t, stride=cfg["stride"], padding=cfg["padding"]), inputs, name="conv2d")


@lesson2
def test_conv2d_pytorch_output_size_and_pairs() -> None:
    y = conv2d(np.zeros((2, 3, 10, 9)), np.zeros((5, 3, 3, 4)), stride=(2, 3), padding=(1, 2))
    assert y.shape == (2, 5, (10 + 2 - 3) // 2 + 1, (9 + 4 - 4) // 3 + 1)


@lesson2
def test_im2col_col2im_are_adjoint() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 6))
    cols = im2col(x, (3, 2), stride=(2, 1), padding=1)
    c = rng.standard_normal(cols.shape)
    assert np.isclose(np.sum(cols * c), np.sum(x * col2im(c, x.shape, (3, 2), stride=(2, 1), padding=1)))


@lesson2
def test_conv2d_skips_unneeded_gradients() -> None:
    x = mt.tensor(np.ones((1, 2, 4, 4)))
    w = mt.tensor(np.ones((3, 2, 3, 3)), requires_grad=True)
    conv2d(x, w, padding=1).sum().backward()
    assert x.grad is None and w.grad.shape == (3, 2, 3, 3)


# ------------------------------------------------------------------------------------- conv_transpose2d
def _transpose_arrays(cfg: dict, dtype=np.float64) -> tuple:
    """x with conv2d's *output* channels, weight (in=O, out=C, kh, kw), bias (C,)."""
    rng = np.random.default_rng(cfg["seed"])
    x = rng.standard_normal((cfg["n"], cfg["o"], cfg["h"], cfg["w"])).astype(dtype)
    w = rng.standard_normal((cfg["o"], cfg["c"], *cfg["kernel"])).astype(dtype)
    b = rng.standard_normal(cfg["c"]).astype(dtype) if cfg["bias"] else None
    return x, w, b


def _t_params(cfg: dict) -> dict:
    return dict(stride=cfg["stride"], padding=cfg["padding"], output_padding=cfg["output_padding"])


def _t_size_ok(cfg: dict) -> bool:
    return all((cfg[d] - 1) * s - 2 * p + k + op > 0 for d, s, p, k, op in
               zip("hw", cfg["stride"], cfg["padding"], cfg["kernel"], cfg["output_padding"]))


@lesson5
@SETTINGS
@given(conv_configs())
def test_conv_transpose2d_matches_scatter_loops(cfg: dict) -> None:
    if not _t_size_ok(cfg):
        return
    x, w, b = _transpose_arrays(cfg)
    y = conv_transpose2d(x, w, b, **_t_params(cfg))
    expected = ref.conv_transpose2d(x, w, b, **_t_params(cfg))
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-10)
    y32 = conv_transpose2d(x.astype(np.float32), w.astype(np.float32), None, **_t_params(cfg))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32.numpy(), ref.conv_transpose2d(x, w, None, **_t_params(cfg)), rtol=1e-4, atol=1e-4)


@lesson5
@SETTINGS
@given(conv_configs())
def test_conv_transpose2d_gradients(cfg: dict) -> None:
    if not _t_size_ok(cfg):
        return
    x, w, b = _transpose_arrays(cfg)
    inputs = [x, w] + ([b] if b is not None else [])
    assert_gradcheck(lambda *t: conv_transpose2d(*t, **_t_params(cfg)), inputs, name="conv_transpose2d")


@lesson5
@SETTINGS
@given(conv_configs())
def test_conv_and_transposed_conv_are_adjoint(cfg: dict) -> None:
    """<conv2d(x, W), y> = <x, conv_transpose2d(y, W)>, output_padding chosen so the shapes match."""
    x, w, _ = _arrays(cfg)
    y_conv = conv2d(x, w, stride=cfg["stride"], padding=cfg["padding"]).numpy()
    rng = np.random.default_rng(cfg["seed"] + 1)
    y = rng.standard_normal(y_conv.shape)
    output_padding = tuple(size + 2 * p - k - (o - 1) * s for size, p, k, o, s in
                           zip(x.shape[2:], cfg["padding"], cfg["kernel"], y.shape[2:], cfg["stride"]))
    back = conv_transpose2d(y, w, stride=cfg["stride"], padding=cfg["padding"], output_padding=output_padding)
    assert back.shape == x.shape
    assert np.isclose(np.sum(y_conv * y), np.sum(x * back.numpy()), rtol=1e-10, atol=1e-10)


@lesson5
def test_conv_transpose2d_unet_shape() -> None:
    y = conv_transpose2d(np.zeros((1, 8, 6, 6), np.float32), np.zeros((8, 4, 4, 4), np.float32), stride=2, padding=1)
    assert y.shape == (1, 4, 12, 12) and y.dtype == np.float32


# ----------------------------------------------------------------------------------------------- errors
def _raises(fn, *words: str) -> None:
    with pytest.raises(ValueError) as info:
        fn()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {str(info.value)!r}"


@lesson2
def test_conv2d_errors_name_the_op_and_shapes() -> None:
    x, w = np.zeros((2, 3, 8, 8)), np.zeros((4, 3, 3, 3))
    _raises(lambda: conv2d(np.zeros((3, 8, 8)), w), "conv2d", "(3, 8, 8)")
    _raises(lambda: conv2d(x, np.zeros((4, 3, 3))), "conv2d", "(4, 3, 3)")
    _raises(lambda: conv2d(x, np.zeros((4, 2, 3, 3))), "conv2d", "(2, 3, 8, 8)", "(4, 2, 3, 3)")
    _raises(lambda: conv2d(x, w, np.zeros(3)), "conv2d", shape_str((3,)), shape_str((4,)))
    _raises(lambda: conv2d(np.zeros((1, 3, 2, 2)), w), "conv2d", "(1, 3, 2, 2)", "larger")
    _raises(lambda: conv2d(x, w, stride=0), "conv2d", "stride")
    _raises(lambda: conv2d(x, w, padding=-1), "conv2d", "padding")
    _raises(lambda: conv2d(x, w, stride=(1, 2, 3)), "conv2d", "stride")


@lesson5
def test_conv_transpose2d_errors_name_the_op_and_shapes() -> None:
    x, w = np.zeros((2, 4, 5, 5)), np.zeros((4, 3, 3, 3))
    _raises(lambda: conv_transpose2d(np.zeros((4, 5, 5)), w), "conv_transpose2d", "(4, 5, 5)")
    _raises(lambda: conv_transpose2d(x, np.zeros((4, 3, 3))), "conv_transpose2d", "(4, 3, 3)")
    _raises(lambda: conv_transpose2d(x, np.zeros((3, 4, 3, 3))), "conv_transpose2d", "(2, 4, 5, 5)", "(3, 4, 3, 3)")
    _raises(lambda: conv_transpose2d(x, w, np.zeros(4)), "conv_transpose2d", shape_str((3,)), shape_str((4,)))
    _raises(lambda: conv_transpose2d(x, w, stride=2, output_padding=2), "conv_transpose2d", "output_padding")
    _raises(lambda: conv_transpose2d(np.zeros((1, 4, 1, 1)), w, padding=2), "conv_transpose2d", "(1, 4, 1, 1)",
            "non-positive")
    _raises(lambda: conv_transpose2d(x, w, stride=-1), "conv_transpose2d", "stride")
