"""accuracy, MSE, PSNR and SSIM: values computed by hand on small images, and their known properties."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minitorch_deblur import metrics as M

pytestmark = pytest.mark.lesson3

C1, C2 = 0.01 ** 2, 0.03 ** 2


def test_accuracy():
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0], [0.1, 0.2]])
    assert M.accuracy(logits, np.array([0, 1, 1, 1])) == 0.75
    assert M.accuracy(np.array([3, 1, 2]), np.array([3, 0, 2])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="labels"):
        M.accuracy(logits, np.array([0, 1]))


def test_mse_by_hand():
    x = np.array([[0.0, 0.5], [1.0, 0.25]])
    y = np.array([[0.5, 0.5], [0.0, 0.25]])
    assert M.mse(x, y) == pytest.approx((0.25 + 1.0) / 4)


def test_psnr_by_hand():
    x = np.full((3, 4, 4), 0.5)
    assert M.psnr(x, x + 0.1) == pytest.approx(20.0)  # MSE 0.01 -> 10 log10(1 / 0.01)
    a = np.zeros((1, 8, 8))
    b = a.copy()
    b[0, 0, :4] = 1.0  # 4 of 64 pixels off by 1: MSE 1/16 -> 10 log10(16)
    assert M.psnr(a, b) == pytest.approx(10 * math.log10(16))
    u8 = np.full((2, 2), 100.0)
    assert M.psnr(u8, u8 + 1, data_range=255) == pytest.approx(20 * math.log10(255))
    assert M.psnr(x, x) == math.inf
    assert M.psnr_from_mse(0.0028165) == pytest.approx(25.50, abs=0.005)  # course B's CAE as printed
    assert M.psnr_from_mse(0.0022575) == pytest.approx(26.46, abs=0.005)


def test_psnr_is_the_mean_of_per_image_values():
    clean = np.full((2, 1, 4, 4), 0.5)
    noisy = clean + np.array([0.1, 0.01 * math.sqrt(10)])[:, None, None, None]  # MSE 0.01 and 0.001
    np.testing.assert_allclose(M.psnr(clean, noisy, reduction="none"), [20.0, 30.0])
    assert M.psnr(clean, noisy) == pytest.approx(25.0)


def test_values_outside_the_stated_range_are_an_error():
    x = np.full((1, 4, 4), 200.0)
    with pytest.raises(ValueError, match="data_range"):
        M.psnr(x, x - 10)  # 0..255 data measured as if it were 0..1
    with pytest.raises(ValueError, match="data_range"):
        M.ssim(np.full((12, 12), -0.5), np.zeros((12, 12)))
    y = np.full((1, 4, 4), 1.0 + 1e-7)  # float rounding is fine
    assert M.psnr(y, y - 0.5) == pytest.approx(10 * math.log10(4))
    assert M.psnr(np.full((3, 3), -1.0), np.full((3, 3), 1.0), data_range=(-1, 1)) == pytest.approx(0.0)
    assert math.isfinite(M.psnr(x, x - 10, check_range=False))


def test_ssim_of_constant_images_by_hand():
    # one 11x11 window: no variance, so SSIM = (2ab + C1) / (a^2 + b^2 + C1)
    a, b = 0.5, 0.25
    val = M.ssim(np.full((11, 11), a), np.full((11, 11), b))
    assert val == pytest.approx((2 * a * b + C1) / (a * a + b * b + C1))
    assert val == pytest.approx(0.2501 / 0.3126)


def window():
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2))
    w = np.outer(g, g)
    return w / w.sum()


def test_ssim_of_a_shifted_image_by_hand():
    # y = x + d has the same variance and covariance as x, so only the luminance term is left
    x = np.random.default_rng(0).random((11, 11)) * 0.5
    d = 0.2
    mu = float((window() * x).sum())
    expected = (2 * mu * (mu + d) + C1) / (mu ** 2 + (mu + d) ** 2 + C1)
    assert M.ssim(x, x + d) == pytest.approx(expected, rel=1e-10)


def ssim_oracle(x, y):
    """Wang et al. by the definition: each valid window with the full 11x11 weights, population statistics."""
    w = window()
    h, wd = x.shape
    vals = []
    for i in range(h - 10):
        for j in range(wd - 10):
            px, py = x[i:i + 11, j:j + 11], y[i:i + 11, j:j + 11]
            mx, my = (w * px).sum(), (w * py).sum()
            vx, vy = (w * (px - mx) ** 2).sum(), (w * (py - my) ** 2).sum()
            cxy = (w * (px - mx) * (py - my)).sum()
            vals.append((2 * mx * my + C1) * (2 * cxy + C2) / ((mx ** 2 + my ** 2 + C1) * (vx + vy + C2)))
    return float(np.mean(vals))


@settings(max_examples=10, deadline=None)
@given(h=st.integers(11, 15), w=st.integers(11, 15), seed=st.integers(0, 2**31 - 1))
def test_ssim_matches_the_window_by_window_definition(h, w, seed):
    rng = np.random.default_rng(seed)
    x = rng.random((3, h, w))
    y = np.clip(x + 0.2 * rng.standard_normal((3, h, w)), 0, 1)
    expected = np.mean([ssim_oracle(x[c], y[c]) for c in range(3)])  # per channel, then the mean
    assert M.ssim(x, y) == pytest.approx(expected, rel=1e-9)


def test_ssim_properties(monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.random((2, 3, 24, 24)) * 0.6 + 0.2
    assert M.ssim(x, x) == pytest.approx(1.0)
    n = rng.standard_normal(x.shape)
    y = np.clip(x + 0.1 * n, 0, 1)
    assert M.ssim(x, y) == pytest.approx(M.ssim(y, x), rel=1e-12)
    scores = [M.ssim(x, np.clip(x + s * n, 0, 1)) for s in (0.01, 0.03, 0.1, 0.3)]
    assert all(a > b for a, b in zip(scores, scores[1:])) and scores[0] < 1.0
    per = M.ssim(x, y, reduction="none")
    assert per.shape == (2,) and M.ssim(x, y) == pytest.approx(per.mean())
    monkeypatch.setattr(M, "SSIM_CHUNK", 1)  # chunking the batch changes nothing
    np.testing.assert_allclose(M.ssim(x, y, reduction="none"), per, rtol=1e-12)
    assert M.ssim(x.astype(np.float32), y.astype(np.float32)) == pytest.approx(M.ssim(x, y), rel=1e-5)


def test_ssim_shape_errors():
    with pytest.raises(ValueError, match="window"):
        M.ssim(np.zeros((3, 8, 8)), np.zeros((3, 8, 8)))
    with pytest.raises(ValueError, match="same shape"):
        M.ssim(np.zeros((3, 16, 16)), np.zeros((1, 16, 16)))
