"""Batch norm and instance norm: the statistics they promise, running stats, eval mode, and gradients in both modes."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch_deblur as mt
import minitorch_deblur.functional as F
from minitorch_deblur.gradcheck import assert_gradcheck

pytestmark = pytest.mark.lesson2

shapes = st.tuples(st.integers(2, 5), st.integers(1, 4), st.integers(1, 5), st.integers(1, 5))


@settings(max_examples=20, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31 - 1), dims=st.sampled_from([2, 4]))
def test_batch_norm_training_output_is_standardised_per_channel(shape, seed, dims):
    rng = np.random.default_rng(seed)
    shape = shape[:dims]
    x = rng.normal(3.0, 2.0, size=shape)
    y = F.batch_norm(mt.tensor(x), None, None, training=True, eps=1e-8).numpy()
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(y.mean(axis=axes), 0.0, atol=1e-6)
    v = x.var(axis=axes)
    np.testing.assert_allclose(y.var(axis=axes), v / (v + 1e-8), atol=1e-4)  # = 1 unless the batch is nearly constant


def test_running_stats_follow_pytorch_update_rule():
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 3.0, size=(8, 3, 4, 4))
    rm, rv = np.zeros(3), np.ones(3)
    F.batch_norm(mt.tensor(x), rm, rv, training=True, momentum=0.1)
    n = 8 * 4 * 4
    np.testing.assert_allclose(rm, 0.1 * x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(rv, 0.9 + 0.1 * x.var(axis=(0, 2, 3)) * n / (n - 1))


def test_eval_mode_uses_running_stats_not_batch_stats():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 2, 3, 3))
    rm, rv = np.array([0.5, -1.0]), np.array([2.0, 0.25])
    w, b = np.array([1.5, -0.5]), np.array([0.1, 0.2])
    y = F.batch_norm(mt.tensor(x), rm, rv, mt.tensor(w), mt.tensor(b), training=False, eps=1e-5).numpy()
    c = (1, 2, 1, 1)
    expected = (x - rm.reshape(c)) / np.sqrt(rv.reshape(c) + 1e-5) * w.reshape(c) + b.reshape(c)
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    assert not np.allclose(y, F.batch_norm(mt.tensor(x), None, None, mt.tensor(w), mt.tensor(b), training=True).numpy())
    np.testing.assert_array_equal(rm, [0.5, -1.0])  # eval never updates running stats


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_backward_in_both_modes(training):
    rng = np.random.default_rng(2)
    x, w, b = rng.normal(size=(3, 2, 3, 3)), rng.normal(size=2) + 2, rng.normal(size=2)
    rm, rv = rng.normal(size=2), rng.random(2) + 0.5
    assert_gradcheck(lambda x, w, b: F.batch_norm(x, None if training else rm, None if training else rv, w, b,
                                                   training=training), [x, w, b])


def test_batch_norm_1d_backward():
    rng = np.random.default_rng(3)
    assert_gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                     [rng.normal(size=(6, 4)), rng.normal(size=4), rng.normal(size=4)])


@pytest.mark.lesson5
def test_instance_norm_standardises_each_plane_and_gradchecks():
    rng = np.random.default_rng(4)
    x = rng.normal(2.0, 3.0, size=(2, 3, 4, 5))
    y = F.instance_norm(mt.tensor(x), eps=1e-8).numpy()
    np.testing.assert_allclose(y.mean(axis=(2, 3)), 0.0, atol=1e-6)
    np.testing.assert_allclose(y.var(axis=(2, 3)), 1.0, atol=1e-4)
    assert_gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                     [x, rng.normal(size=3), rng.normal(size=3)])


def test_batch_norm_errors_name_op_and_shapes():
    x = mt.ones(4, 3, 2, 2)
    with pytest.raises(ValueError, match=r"batch_norm: weight of shape \(4,\) does not match.*3 channels.*\(4, 3, 2, 2\)"):
        F.batch_norm(x, None, None, mt.ones(4), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: training needs more than one value per channel.*\(1, 3\)"):
        F.batch_norm(mt.ones(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match=r"instance_norm: input of shape \(4, 3\) needs spatial dims"):
        F.instance_norm(mt.ones(4, 3))
