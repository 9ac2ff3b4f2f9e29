"""max_pool2d, avg_pool2d, upsample_nearest2d: naive-loop oracles, gradients, argmax routing, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch_deblur as mt
from minitorch_deblur.functional.pool import avg_pool2d, max_pool2d, upsample_nearest2d
from minitorch_deblur.gradcheck import assert_gradcheck
from minitorch_deblur.testing import reference as ref

lesson2 = pytest.mark.lesson2
lesson4 = pytest.mark.lesson4
SETTINGS = settings(max_examples=15, deadline=None)


@st.composite
def pool_configs(draw: st.DrawFn) -> dict:
    """A valid (N, C, H, W, kernel, stride, padding) with padding <= kernel // 2; None stride means = kernel."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    return dict(n=draw(st.integers(1, 2)), c=draw(st.integers(1, 3)), h=draw(st.integers(kh, 7)),
                w=draw(st.integers(kw, 7)), kernel=(kh, kw), stride=stride, padding=(ph, pw),
                seed=draw(st.integers(0, 2**16)))


def _x(cfg: dict, dtype=np.float64) -> np.ndarray:
    """Distinct values (a shuffled range plus jitter), so a max never ties and finite differences stay clear."""
    rng = np.random.default_rng(cfg["seed"])
    size = cfg["n"] * cfg["c"] * cfg["h"] * cfg["w"]
    values = rng.permutation(size) + rng.uniform(0.1, 0.4, size)
    return (values / size).reshape(cfg["n"], cfg["c"], cfg["h"], cfg["w"]).astype(dtype)


def _args(cfg: dict) -> tuple:
    return cfg["kernel"], cfg["stride"], cfg["padding"]


# ----------------------------------------------------------------------------------------------- max pool
@lesson2
@SETTINGS
@given(pool_configs())
def test_max_pool2d_forward_and_gradient(cfg: dict) -> None:
    x = _x(cfg)
    y = max_pool2d(x, *_args(cfg))
    np.testing.assert_array_equal(y.numpy(), ref.max_pool2d(x, *_args(cfg)))
    y32 = max_pool2d(x.astype(np.float32), *_args(cfg))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32.numpy(), ref.max_pool2d(x, *_args(cfg)), rtol=1e-6)
    assert_gradcheck(lambda t: max_pool2d(t, *_args(cfg)), [x], eps=1e-7, name="max_pool2d")


@lesson2
@SETTINGS
@given(pool_configs())
def test_max_pool2d_gradient_lands_on_the_argmax_only(cfg: dict) -> None:
    x = _x(cfg)
    t = mt.tensor(x, requires_grad=True)
    y = max_pool2d(t, *_args(cfg))
    g = np.random.default_rng(cfg["seed"]).uniform(1.0, 2.0, y.shape)
    y.backward(g)
    expected = np.zeros_like(x)  # route each window's gradient to its argmax by hand
    kh, kw = cfg["kernel"]
    sh, sw = cfg["stride"] or cfg["kernel"]
    ph, pw = cfg["padding"]
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    for n, c, i, j in np.ndindex(*y.shape):
        window = padded[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw]
        u, v = np.unravel_index(np.argmax(window), window.shape)
        expected[n, c, i * sh + u - ph, j * sw + v - pw] += g[n, c, i, j]
    np.testing.assert_allclose(t.grad, expected, rtol=1e-12)


@lesson2
def test_max_pool2d_ties_go_to_the_first_maximum() -> None:
    t = mt.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    max_pool2d(t, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1
    np.testing.assert_array_equal(t.grad[0, 0], expected)


# ----------------------------------------------------------------------------------------------- avg pool
@lesson2
@SETTINGS
@given(pool_configs(), st.booleans())
def test_avg_pool2d_forward_and_gradient(cfg: dict, count_include_pad: bool) -> None:
    x = _x(cfg)
    y = avg_pool2d(x, *_args(cfg), count_include_pad=count_include_pad)
    expected = ref.avg_pool2d(x, *_args(cfg), count_include_pad=count_include_pad)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12)
    y32 = avg_pool2d(x.astype(np.float32), *_args(cfg), count_include_pad=count_include_pad)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert_gradcheck(lambda t: avg_pool2d(t, *_args(cfg), count_include_pad=count_include_pad), [x],
                     name="avg_pool2d")


# ----------------------------------------------------------------------------------------------- upsample
@lesson4
@SETTINGS
@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 5), st.integers(1, 5), st.integers(1, 3),
       st.integers(0, 2**16))
def test_upsample_nearest2d_forward_and_gradient(n: int, c: int, h: int, w: int, s: int, seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal((n, c, h, w))
    y = upsample_nearest2d(x, s)
    np.testing.assert_array_equal(y.numpy(), ref.upsample_nearest2d(x, s))
    assert upsample_nearest2d(x.astype(np.float32), s).dtype == np.float32
    assert_gradcheck(lambda t: upsample_nearest2d(t, s), [x], name="upsample_nearest2d")


# ----------------------------------------------------------------------------------------------- errors
def _raises(fn, *words: str) -> None:
    with pytest.raises(ValueError) as info:
        fn()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {str(info.value)!r}"


@lesson2
def test_pool_errors_name_the_op_and_shapes() -> None:
    x = np.zeros((1, 2, 4, 4))
    for op, name in ((max_pool2d, "max_pool2d"), (avg_pool2d, "avg_pool2d")):
        _raises(lambda: op(np.zeros((2, 4, 4)), 2), name, "(2, 4, 4)")
        _raises(lambda: op(x, 2, padding=2), name, "padding", "(1, 2, 4, 4)")
        _raises(lambda: op(x, 5), name, "larger", "(1, 2, 4, 4)")
        _raises(lambda: op(x, 0), name, "kernel_size")
        _raises(lambda: op(x, 2, stride=0), name, "stride")


@lesson4
def test_upsample_errors_name_the_op_and_shapes() -> None:
    _raises(lambda: upsample_nearest2d(np.zeros((2, 4, 4)), 2), "upsample_nearest2d", "(2, 4, 4)")
    _raises(lambda: upsample_nearest2d(np.zeros((1, 2, 4, 4)), 1.5), "upsample_nearest2d", "(1, 2, 4, 4)")
    _raises(lambda: upsample_nearest2d(np.zeros((1, 2, 4, 4)), 0), "upsample_nearest2d", "scale_factor")
