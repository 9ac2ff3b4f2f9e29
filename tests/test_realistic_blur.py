"""Realistic synthetic camera shake: seeding, kernels, linear light, highlights, noise, JPEG, non-uniform blur."""
import numpy as np
import pytest

from minitorch_deblur.data import degrade as D
from minitorch_deblur.data import realistic_blur as R

CLEAN = dict(highlights=False, noise=False, jpeg=False, nonuniform=False)


def photo(seed=0, size=64, channels=3):
    """A smooth random 'photo' with some texture, float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    base = rng.random((channels, size // 8, size // 8)).astype(np.float32)
    img = np.kron(base, np.ones((8, 8), dtype=np.float32))
    return np.clip(img + 0.1 * rng.random((channels, size, size), dtype=np.float32), 0, 1)


# ------------------------------------------------------------------------------------------------ seeding ---

def test_same_seed_same_output_and_other_seeds_differ():
    img = photo()
    a = R.realistic_blur(img, np.random.default_rng(7), jpeg=True, nonuniform=True)
    b = R.realistic_blur(img, np.random.default_rng(7), jpeg=True, nonuniform=True)
    c = R.realistic_blur(img, np.random.default_rng(8), jpeg=True, nonuniform=True)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


def test_registered_kind_is_seeded_and_independent_of_batching():
    assert "realistic" in D.KINDS
    batch = np.stack([photo(i, 48) for i in range(4)])
    whole = D.degrade(batch, "realistic", seed=3, scale=0.5)
    parts = np.concatenate([D.degrade(batch[:2], "realistic", seed=3, scale=0.5),
                            D.degrade(batch[2:], "realistic", seed=3, scale=0.5, index_offset=2)])
    np.testing.assert_array_equal(whole, parts)
    assert whole.dtype == np.float32 and whole.shape == batch.shape
    assert np.abs(whole - D.degrade(batch, "realistic", seed=4, scale=0.5)).max() > 1e-3
    degraded, clean = D.Degrader("realistic", seed=1, scale=0.5)(batch)
    assert clean is batch and degraded.shape == batch.shape


# ------------------------------------------------------------------------------------------------ kernels ---

@pytest.mark.parametrize("scale", [1.0, 0.375, 0.1])
def test_kernels_sum_to_one_non_negative_and_extent_in_range(scale):
    rng = np.random.default_rng(0)
    lo, hi = R.EXTENT_RANGE
    for _ in range(60):
        k, extent = R.shake_kernel(rng, scale=scale)
        assert k.dtype == np.float32 and k.ndim == 2 and k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
        assert k.min() >= 0 and abs(float(k.sum()) - 1.0) < 1e-5
        assert max(1.0, lo * scale) <= extent <= max(1.0, hi * scale)
        ys, xs = np.nonzero(k > 0)
        span = max(np.ptp(xs), np.ptp(ys)) + 1
        assert extent - 1 <= span <= np.ceil(extent) + 1
        # the centroid is the kernel's centre: blurring does not shift the image
        c = k.shape[0] // 2
        assert abs(float((k.sum(0) * np.arange(k.shape[0])).sum()) - c) < 1e-3
        assert abs(float((k.sum(1) * np.arange(k.shape[0])).sum()) - c) < 1e-3


def test_trajectories_are_curved_sometimes_and_exposures_vary():
    rng = np.random.default_rng(1)
    lengths, straightness = [], []
    for _ in range(40):
        p = R.shake_trajectory(rng, 30.0)
        lengths.append(len(p))
        arc = np.hypot(*np.diff(p, axis=0).T).sum()
        straightness.append(np.hypot(*(p[-1] - p[0])) / arc)
        assert abs(max(np.ptp(p[:, 0]), np.ptp(p[:, 1])) - 29.0) < 1e-9
    assert min(lengths) < 128 < max(lengths)           # random exposure length
    assert min(straightness) < 0.6 and max(straightness) > 0.9  # hooks and near-lines both occur


def test_nonuniform_kernels_sum_to_one_and_differ_across_the_image():
    k, uv, extent = R.nonuniform_kernels(np.random.default_rng(2), 256, 256, anchors=4)
    assert len(k) == 4 and uv.shape == (4, 2) and 5 <= extent <= 45
    for q in k:
        assert q.shape == k[0].shape and q.min() >= 0 and abs(float(q.sum()) - 1) < 1e-5
    assert max(np.abs(k[0] - q).sum() for q in k[1:]) > 0.05
    # the rotation moves a corner by 10 %..50 % of the extent: corner kernels' spreads differ by at most that
    spans = [max(np.ptp(np.nonzero(q)[0]), np.ptp(np.nonzero(q)[1])) + 1 for q in k]
    assert max(spans) - min(spans) <= 0.5 * 2 * extent + 2


def test_fft_convolve_matches_the_reference_convolution():
    rng = np.random.default_rng(3)
    img = rng.random((3, 40, 33)).astype(np.float32)
    k = rng.random((9, 9)).astype(np.float32)
    k /= k.sum()
    np.testing.assert_allclose(R.fft_convolve(img, k), D.convolve2d(img, k), atol=1e-5)
    both = R.fft_convolve(img, [k, k[::-1]])
    assert both.shape == (2, 3, 40, 33)
    np.testing.assert_allclose(both[1], D.convolve2d(img, k[::-1].copy()), atol=1e-5)


# ------------------------------------------------------------------------------------------- linear light ---

def test_srgb_round_trip():
    x = np.linspace(0, 1, 1001, dtype=np.float32)
    np.testing.assert_allclose(R.linear_to_srgb(R.srgb_to_linear(x)), x, atol=1e-5)
    assert abs(float(R.srgb_to_linear(np.float32(0.5))) - 0.21404) < 1e-4


@pytest.mark.parametrize("nonuniform", [False, True])
def test_a_uniform_image_stays_uniform(nonuniform):
    img = np.full((3, 64, 64), 0.5, dtype=np.float32)
    out = R.realistic_blur(img, np.random.default_rng(4), highlights=True, noise=False, jpeg=False,
                           nonuniform=nonuniform)
    np.testing.assert_allclose(out, 0.5, atol=1e-5)


def test_a_saturated_point_becomes_a_streak_brighter_than_srgb_blur():
    img = np.full((3, 64, 64), 0.05, dtype=np.float32)
    img[:, 32, 32] = 1.0
    opts = dict(CLEAN, highlights=True, highlight_gain=(4.0, 4.0))
    out, info = R.realistic_blur(img, np.random.default_rng(5), extent_range=(15, 15), return_info=True, **opts)
    srgb_blur = np.clip(D.convolve2d(img, info["kernels"][0]), 0, 1)
    linear_only = R.realistic_blur(img, np.random.default_rng(5), extent_range=(15, 15), **CLEAN)
    assert out.max() > linear_only.max() > srgb_blur.max()       # linear light, then saturation, add brightness
    assert (out > 0.3).sum() >= 5 and (srgb_blur > 0.3).sum() < (out > 0.3).sum()  # a streak, not a dot
    streak = out[0] > 0.3
    ys, xs = np.nonzero(streak)
    assert max(np.ptp(xs), np.ptp(ys)) >= 5


def test_only_near_clipped_pixels_are_boosted():
    lin = R.srgb_to_linear(np.linspace(0, 1, 3 * 50 * 50, dtype=np.float32).reshape(3, 50, 50))
    out = R.saturate_highlights(lin, np.random.default_rng(12), fraction=(0.2, 0.2), gain=(3.0, 3.0))
    changed = (out != lin).any(axis=0)                  # pixels whose brightest channel reaches the floor
    assert changed.any() and out.max() > 2.5
    assert lin.max(axis=0)[changed].min() >= R.HIGHLIGHT_FLOOR
    np.testing.assert_allclose(out[:, changed], 3.0 * lin[:, changed], rtol=1e-6)  # the whole pixel, hue kept
    assert abs(float(R.srgb_to_linear(np.float64(0.92))) - R.HIGHLIGHT_FLOOR) < 1e-4


# ---------------------------------------------------------------------------------------------- noise, JPEG ---

def test_sensor_noise_variance_grows_with_signal():
    rng = np.random.default_rng(6)
    shot, read = 4e-3, 2e-3
    for level in (0.02, 0.2, 0.8):
        x = np.full((3, 128, 128), level, dtype=np.float32)
        var = float(R.add_sensor_noise(x, rng, shot, read).var())
        assert abs(var / (shot * level + read ** 2) - 1) < 0.05
    # through the whole pipeline (measured in linear light): brighter -> noisier
    dark, bright = (R.srgb_to_linear(R.realistic_blur(np.full((3, 96, 96), v, np.float32), np.random.default_rng(9),
                                                      highlights=False, jpeg=False, shot_range=(2e-3, 2e-3)))
                    for v in (0.2, 0.8))
    assert bright.var() > 2 * dark.var()


def test_jpeg_option_changes_the_bytes():
    img = photo(1, 64)
    plain = R.realistic_blur(img, np.random.default_rng(10), jpeg=False)
    jpeg, info = R.realistic_blur(img, np.random.default_rng(10), jpeg=True, return_info=True)
    assert 60 <= info["quality"] <= 95
    assert plain.tobytes() != jpeg.tobytes()
    np.testing.assert_allclose(jpeg * 255, np.rint(jpeg * 255), atol=1e-3)  # decoded uint8 values
    assert np.abs(plain - jpeg).mean() < 0.03                              # ...of the same image
    assert R.jpeg_recompress(img, 30).tobytes() != R.jpeg_recompress(img, 90).tobytes()


# -------------------------------------------------------------------------------------------- non-uniform ---

def test_nonuniform_blur_differs_across_the_image():
    img = np.zeros((1, 128, 128), dtype=np.float32)
    img[0, 8::32, 8::32] = 1.0                         # a grid of dots: each shows its local kernel
    rng = np.random.default_rng(11)
    kernels, uv, _ = R.nonuniform_kernels(rng, 128, 128, extent_range=(12, 12), anchors=4,
                                          rotation_ratio=(0.5, 0.5))
    out = R.blend(R.fft_convolve(img, kernels), uv)[0]
    uniform = R.fft_convolve(img, kernels[0])[0]

    def patch(a, y, x):
        p = a[y - 8:y + 9, x - 8:x + 9]
        return p / p.sum()
    assert np.abs(patch(out, 8, 8) - patch(out, 104, 104)).sum() > 0.1
    assert np.abs(patch(uniform, 40, 40) - patch(uniform, 104, 104)).sum() < 1e-4
    assert abs(float(out.sum()) - float(img.sum())) < 0.05 * float(img.sum())


# ------------------------------------------------------------------------------------------ dtype and range ---

@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("fill", [None, 0.0, 1.0])
def test_output_is_float32_in_unit_range(channels, fill):
    img = photo(2, 64, channels) if fill is None else np.full((channels, 64, 64), fill, np.float32)
    for seed in range(3):
        out = R.realistic_blur(img.astype(np.float64), np.random.default_rng(seed), jpeg=0.5, nonuniform=0.5)
        assert out.dtype == np.float32 and out.shape == img.shape
        assert out.min() >= 0.0 and out.max() <= 1.0


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="realistic_blur"):
        R.realistic_blur(np.zeros((2, 8, 8), np.float32), np.random.default_rng(0))
    with pytest.raises(ValueError, match="anchors"):
        R.nonuniform_kernels(np.random.default_rng(0), 32, 32, anchors=3)
