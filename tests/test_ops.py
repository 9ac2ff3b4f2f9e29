"""Every operator of the table (minitorch_deblur/testing/op_table.py): forward against an independent reference in
float32 and float64, and a float64 gradient check against a random upstream gradient. Hypothesis draws valid
configurations only and shrinks each field; a failure prints the config. Plus whole tiny models, gradchecked end to
end over all their parameters."""
import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from minitorch_deblur.backend import Generator
from minitorch_deblur.gradcheck import assert_gradcheck
from minitorch_deblur.testing import op_table as T


def _params(rows):
    return [pytest.param(r, id=r.name, marks=getattr(pytest.mark, f"lesson{r.lesson}")) for r in rows]


ROWS = _params(T.ROWS)
GRAD_ROWS = _params([r for r in T.ROWS if r.grad])
# forward error is relative to max(1, max |reference|); float32 keeps ~7 digits
FORWARD_TOL = {np.float32: 2e-5, np.float64: 1e-10}


def _draw(data, row):
    """A config drawn field by field (each field shrinks on its own) and inputs from a drawn seed."""
    cfg = row.config(lambda lo, hi: data.draw(st.integers(lo, hi)),
                     lambda lo, hi: data.draw(st.floats(lo, hi, allow_nan=False)))
    seed = data.draw(st.integers(0, 2**32 - 1), label="input seed")
    note(f"{row.name} config {T.describe(cfg)}")
    return cfg, row.make_inputs(np.random.default_rng(seed), cfg)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("row", ROWS)
def test_forward_matches_reference(row, dtype, device):
    @settings(max_examples=row.max_examples, deadline=None)
    @given(st.data())
    def check(data):
        cfg, arrays = _draw(data, row)
        out = T.run_forward(row, cfg, arrays, dtype, device)
        expected = np.dtype(row.out_dtype or dtype)
        assert out.dtype == expected, f"{row.name}: {np.dtype(dtype)} in but {out.dtype} out (config {T.describe(cfg)})"
        err = T.forward_error(row, cfg, arrays, dtype, device)
        assert err <= FORWARD_TOL[dtype], (f"{row.name}: forward differs from the reference by {err:.3g} "
                                           f"(relative) in {np.dtype(dtype)}; config {T.describe(cfg)}")
    check()


@pytest.mark.parametrize("row", GRAD_ROWS)
def test_gradient(row, device):
    @settings(max_examples=row.max_examples, deadline=None)
    @given(st.data())
    def check(data):
        cfg, arrays = _draw(data, row)
        seed = data.draw(st.integers(0, 2**16), label="upstream gradient seed")
        assert_gradcheck(row.bind(cfg), T.on_device(arrays, device), wrt=row.wrt, seed=seed,
                         name=f"{row.name} {T.describe(cfg)} on {device}")
    check()


# ---------------------------------------------------------------------------------- properties beyond the table
@pytest.mark.lesson2
def test_batch_norm_updates_running_stats_like_pytorch():
    from minitorch_deblur.functional.norm import batch_norm

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 2, 5))
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    rm0, rv0 = rm.copy(), rv.copy()
    y = batch_norm(x, rm, rv, training=True, momentum=0.3).numpy()
    n = x.size // 3
    np.testing.assert_allclose(rm, 0.7 * rm0 + 0.3 * x.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(rv, 0.7 * rv0 + 0.3 * x.var(axis=(0, 2, 3)) * n / (n - 1), rtol=1e-12)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)  # normalised per channel
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-4)


@pytest.mark.lesson1
def test_dropout_mask_statistics_and_reproducibility():
    from minitorch_deblur.functional.dropout import dropout

    x = np.ones((200, 100))
    y1 = dropout(x, 0.3, training=True, generator=Generator(5)).numpy()
    y2 = dropout(x, 0.3, training=True, generator=Generator(5)).numpy()
    y3 = dropout(x, 0.3, training=True, generator=Generator(6)).numpy()
    assert np.array_equal(y1, y2) and not np.array_equal(y1, y3)
    assert abs((y1 == 0).mean() - 0.3) < 0.015  # 5 sigma of Binomial(20000, 0.3) / 20000 is 0.016
    assert set(np.unique(y1)) == {0.0, 1 / 0.7}


# ---------------------------------------------------------------------------------------- whole tiny models
@pytest.mark.lesson1
def test_tiny_mlp_gradcheck_end_to_end():
    """Linear-ReLU-Linear + cross_entropy, checked over the input and all four parameters at once."""
    from minitorch_deblur.functional.activation import relu
    from minitorch_deblur.functional.linalg import linear
    from minitorch_deblur.functional.loss import cross_entropy

    rng = np.random.default_rng(0)
    params = [rng.standard_normal((4, 5)), rng.standard_normal((6, 5)), rng.standard_normal(6),
              rng.standard_normal((3, 6)), rng.standard_normal(3), rng.integers(0, 3, 4)]

    def mlp(x, w1, b1, w2, b2, target):
        return cross_entropy(linear(relu(linear(x, w1, b1)), w2, b2), target)

    result = assert_gradcheck(mlp, params, name="tiny MLP")
    assert [c.index for c in result.inputs] == [0, 1, 2, 3, 4]  # the integer target is not checked


@pytest.mark.lesson2
def test_tiny_cnn_gradcheck_end_to_end():
    """conv2d - batch_norm (train) - relu - max_pool2d - flatten - linear + cross_entropy, all parameters."""
    from minitorch_deblur.functional.activation import relu
    from minitorch_deblur.functional.conv import conv2d
    from minitorch_deblur.functional.linalg import linear
    from minitorch_deblur.functional.loss import cross_entropy
    from minitorch_deblur.functional.norm import batch_norm
    from minitorch_deblur.functional.pool import max_pool2d
    from minitorch_deblur.functional.shape import flatten

    rng = np.random.default_rng(1)
    params = [rng.standard_normal((2, 1, 6, 6)), rng.standard_normal((3, 1, 3, 3)), rng.standard_normal(3),
              rng.uniform(0.5, 2, 3), rng.standard_normal(3), rng.standard_normal((4, 27)), rng.standard_normal(4),
              np.array([1, 3])]

    def cnn(x, w, b, gamma, beta, fc_w, fc_b, target):
        h = conv2d(x, w, b, padding=1)
        h = batch_norm(h, np.zeros(3), np.ones(3), gamma, beta, training=True)
        h = flatten(max_pool2d(relu(h), 2), 1)
        return cross_entropy(linear(h, fc_w, fc_b), target)

    result = assert_gradcheck(cnn, params, name="tiny CNN")
    assert len(result.inputs) == 7
