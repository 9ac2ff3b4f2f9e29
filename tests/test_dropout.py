"""Dropout: the zero rate is p, the expectation is kept, eval is the identity, the gradient is the mask."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch_deblur as mt
import minitorch_deblur.functional as F

pytestmark = pytest.mark.lesson1


@settings(max_examples=15, deadline=None)
@given(p=st.floats(0.05, 0.9), seed=st.integers(0, 2**31 - 1))
def test_zero_rate_is_p_and_expectation_is_kept(p, seed):
    n = 200_000
    x = mt.ones(n)
    y = F.dropout(x, p, training=True, generator=mt.Generator(seed)).numpy()
    zero_rate = (y == 0).mean()
    sd = np.sqrt(p * (1 - p) / n)
    assert abs(zero_rate - p) < 6 * sd  # a binomial proportion, six standard deviations
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p), rtol=1e-6)
    assert abs(y.mean() - 1.0) < 6 * sd / (1 - p)


def test_gradient_is_the_same_mask():
    x = mt.tensor(np.arange(1.0, 101.0), requires_grad=True)
    y = F.dropout(x, 0.4, generator=mt.Generator(5))
    y.sum().backward()
    mask = y.numpy() / x.numpy()
    np.testing.assert_allclose(x.grad, mask)


def test_eval_is_identity_and_seed_is_reproducible():
    x = mt.randn(50, generator=mt.Generator(0))
    np.testing.assert_array_equal(F.dropout(x, 0.5, training=False).numpy(), x.numpy())
    a = F.dropout(x, 0.5, generator=mt.Generator(9)).numpy()
    b = F.dropout(x, 0.5, generator=mt.Generator(9)).numpy()
    np.testing.assert_array_equal(a, b)
    assert F.dropout(x, 1.0).numpy().sum() == 0
    with pytest.raises(ValueError, match=r"dropout: probability p=1.5"):
        F.dropout(x, 1.5)
