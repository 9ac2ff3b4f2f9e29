"""Degradations: kernels, NumPy convolution against a loop oracle, Pillow resampling, seeding, the fixed test set."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minitorch_deblur.data import degrade as D

pytestmark = pytest.mark.lesson3


def conv_oracle(image, kernel):
    """Textbook convolution with reflect (mirror, edge not repeated) borders, one output pixel at a time."""
    h, w = image.shape
    kh, kw = kernel.shape
    ah, aw = kh // 2, kw // 2

    def reflect(i, n):
        while i < 0 or i >= n:
            i = -i if i < 0 else 2 * (n - 1) - i
        return i

    out = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            out[y, x] = sum(kernel[i, j] * image[reflect(y - i + ah, h), reflect(x - j + aw, w)]
                            for i in range(kh) for j in range(kw))
    return out


@settings(max_examples=20, deadline=None)
@given(h=st.integers(5, 9), w=st.integers(5, 9), kh=st.integers(1, 5), kw=st.integers(1, 5),
       seed=st.integers(0, 2**31 - 1))
def test_convolve2d_matches_the_loop_oracle(h, w, kh, kw, seed):
    rng = np.random.default_rng(seed)
    image = rng.random((2, h, w))
    kernel = rng.random((kh, kw)) * (rng.random((kh, kw)) > 0.3)
    out = D.convolve2d(image, kernel)
    for c in range(2):
        np.testing.assert_allclose(out[c], conv_oracle(image[c], kernel), rtol=1e-10, atol=1e-12)


def test_convolve2d_by_hand():
    # row [1, 2, 3] with a 3-tap box: reflect pads to [2, 1, 2, 3, 2] -> [5/3, 2, 7/3]
    out = D.convolve2d(np.array([[1.0, 2.0, 3.0]]), np.ones((1, 3)) / 3)
    np.testing.assert_allclose(out, [[5 / 3, 2.0, 7 / 3]])
    # a kernel with its single tap right of the centre shifts the image right (true convolution, not correlation)
    img = np.arange(16.0).reshape(4, 4)
    np.testing.assert_allclose(D.convolve2d(img, np.array([[0.0, 0.0, 1.0]]))[:, 1:], img[:, :-1])
    assert D.convolve2d(img.astype(np.float32), np.ones((3, 3)) / 9).dtype == np.float32


@pytest.mark.parametrize("anti_alias", [False, True])
@pytest.mark.parametrize("size", [7, 8, 11, 15])
def test_motion_kernel_is_a_normalised_line_through_the_centre(size, anti_alias):
    for angle in (0.0, 30.0, 45.0, 90.0, 135.0, 179.0):
        k = D.motion_blur_kernel(size, angle, anti_alias)
        assert k.shape == (size, size) and k.dtype == np.float32 and (k >= 0).all()
        assert abs(float(k.sum()) - 1.0) < 1e-6
        if size % 2:
            np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-6)  # symmetric about the centre pixel
            c = size // 2
            assert k[c, c] > 0
            ys, xs = np.nonzero(k)
            t = np.radians(angle)  # every tap lies next to the line
            dist = np.abs((xs - c) * np.sin(t) + (ys - c) * np.cos(t))
            assert dist.max() < (1.5 if anti_alias else 0.75)  # bilinear splats reach the diagonal neighbours


def test_motion_kernel_axes():
    k = D.motion_blur_kernel(9, 0.0)
    np.testing.assert_allclose(k[4], np.full(9, 1 / 9), rtol=1e-6)
    assert k.sum() == pytest.approx(k[4].sum())
    np.testing.assert_allclose(D.motion_blur_kernel(9, 90.0), k.T, atol=1e-7)
    diag = D.motion_blur_kernel(7, 45.0)
    assert (np.nonzero(diag)[0] + np.nonzero(diag)[1] == 6).all()  # '/' on screen: up and to the right


def test_motion_blur_keeps_constants_and_range():
    img = np.full((3, 16, 16), 0.3, np.float32)
    np.testing.assert_allclose(D.motion_blur(img, 9, 30.0), img, rtol=1e-6)
    rng = np.random.default_rng(0)
    out = D.degrade(rng.random((4, 3, 16, 16)).astype(np.float32), "motion", seed=0)
    assert out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0


def test_random_motion_kernel_ranges():
    rng = np.random.default_rng(0)
    sizes = [D.random_motion_kernel(rng).shape[0] for _ in range(300)]
    assert min(sizes) == 7 and max(sizes) == 15  # randint(7, 15) inclusive


def test_trajectory_kernel():
    k = D.trajectory_kernel(np.random.default_rng(5))
    assert k.shape == (32, 32) and (k >= 0).all() and abs(float(k.sum()) - 1) < 1e-5
    np.testing.assert_array_equal(k, D.trajectory_kernel(np.random.default_rng(5)))
    assert not np.array_equal(k, D.trajectory_kernel(np.random.default_rng(6)))
    traj = D.random_trajectory(np.random.default_rng(1), canvas=32, iters=500, max_len=20.0, expl=0.005)
    steps = np.abs(np.diff(traj))
    np.testing.assert_allclose(steps, 20.0 / 499, rtol=1e-9)  # constant speed, total length max_len
    assert traj.real.min() >= 1 and traj.imag.min() >= 1 and traj.real.max() < 32 and traj.imag.max() < 32
    full = D.trajectory_psf(traj, 32, 1.0)
    assert (full > 0).sum() > (D.trajectory_psf(traj, 32, 0.1) > 0).sum()  # longer exposure, longer blur


def test_gaussian_kernel_by_hand():
    k = D.gaussian_kernel(5, 1.0)
    assert abs(float(k.sum()) - 1) < 1e-6
    assert k[2, 2] / k[2, 3] == pytest.approx(np.exp(0.5), rel=1e-5)
    assert k[2, 2] / k[3, 3] == pytest.approx(np.exp(1.0), rel=1e-5)
    np.testing.assert_allclose(k, k.T)


def test_gaussian_noise_is_course_b_and_not_clipped():
    img = np.zeros((20, 3, 32, 32), np.float32)  # blur of a constant is the constant: what is left is the noise
    out = D.degrade(img, "gaussian_noise", seed=0)
    assert out.min() < 0.0  # not clipped
    assert out.std() == pytest.approx(0.02, rel=0.02) and abs(out.mean()) < 1e-3
    assert D.degrade(img, "gaussian_noise", seed=0, clip=True).min() == 0.0
    x = np.random.default_rng(1).random((3, 12, 12)).astype(np.float32)
    np.testing.assert_allclose(D.gaussian_blur_noise(x, 2.0, np.zeros_like(x)),
                               D.convolve2d(x, D.gaussian_kernel(5, 2.0)), rtol=1e-6)


def test_sigma_is_drawn_per_image_from_1_to_4():
    rng = np.random.default_rng(0)
    x = rng.random((1, 1, 24, 24)).astype(np.float32)
    out = D.degrade(x, "gaussian_noise", seed=7, noise_std=0.0)[0]
    sigma = np.random.default_rng((7, 0)).uniform(1.0, 4.0)  # the first draw of image 0's generator
    assert 1.0 <= sigma < 4.0
    np.testing.assert_allclose(out, D.convolve2d(x[0], D.gaussian_kernel(5, sigma)), rtol=1e-6)


@pytest.mark.parametrize("method", ["bicubic", "bilinear"])
def test_resize_down_up_is_pillow_on_uint8(method):
    from PIL import Image

    rng = np.random.default_rng(0)
    batch = rng.random((2, 3, 32, 32)).astype(np.float32)
    out = D.resize_down_up(batch, 4, method)
    assert out.shape == batch.shape and out.dtype == np.float32
    f = Image.Resampling.BICUBIC if method == "bicubic" else Image.Resampling.BILINEAR
    hwc = np.rint(batch[1] * 255).astype(np.uint8).transpose(1, 2, 0)
    ref = np.asarray(Image.fromarray(hwc).resize((8, 8), f).resize((32, 32), f)).transpose(2, 0, 1) / 255.0
    np.testing.assert_allclose(out[1], ref, atol=1e-6)
    flat = np.full((1, 32, 32), 100 / 255, np.float32)
    np.testing.assert_allclose(D.resize_down_up(flat, 4, method), flat, atol=1e-6)


def test_bicubic_and_bilinear_differ():
    x = np.random.default_rng(0).random((1, 3, 32, 32)).astype(np.float32)
    assert not np.allclose(D.degrade(x, "bicubic"), D.degrade(x, "bilinear"))


@pytest.mark.parametrize("kind", ["motion", "motion_aa", "trajectory", "gaussian_noise"])
def test_seeded_and_independent_of_batching(kind):
    x = np.random.default_rng(0).random((6, 3, 24, 24)).astype(np.float32)
    whole = D.degrade(x, kind, seed=3)
    np.testing.assert_array_equal(whole, D.degrade(x, kind, seed=3))
    parts = np.concatenate([D.degrade(x[:4], kind, seed=3), D.degrade(x[4:], kind, seed=3, index_offset=4)])
    np.testing.assert_array_equal(whole, parts)
    assert not np.array_equal(whole, D.degrade(x, kind, seed=4))


def test_degrade_test_set_once_with_a_cache(tmp_path, monkeypatch):
    x = (np.random.default_rng(0).random((5, 3, 16, 16)) * 255).astype(np.uint8)
    cache = tmp_path / "test_motion.npz"
    first = D.degrade_test_set(x, "motion", seed=1, cache=cache, batch=2)
    np.testing.assert_array_equal(first, D.degrade(x.astype(np.float32) * np.float32(1 / 255), "motion", seed=1))
    calls = []
    real = D.degrade
    monkeypatch.setattr(D, "degrade", lambda *a, **k: calls.append(1) or real(*a, **k))
    np.testing.assert_array_equal(D.degrade_test_set(x, "motion", seed=1, cache=cache), first)
    assert calls == []  # read back, not recomputed
    other = D.degrade_test_set(x, "motion", seed=2, cache=cache)
    assert calls and not np.array_equal(other, first)  # another recipe is recomputed


def test_degrader_transform_draws_fresh_but_reproducible_blurs():
    x = np.random.default_rng(0).random((4, 3, 16, 16)).astype(np.float32)
    t = D.Degrader("motion", seed=0)
    (a, clean), (b, _) = t(x), t(x)
    assert clean is x and not np.array_equal(a, b)
    t2 = D.Degrader("motion", seed=0)
    np.testing.assert_array_equal(t2(x)[0], a)
    with pytest.raises(ValueError, match="unknown kind"):
        D.Degrader("jpeg")


def test_shake_mixes_lines_from_no_blur_up_to_25_px_with_trajectories():
    from minitorch_deblur.data.degrade import degrade_one

    image = np.random.default_rng(0).random((3, 64, 64)).astype(np.float32)
    outputs = [degrade_one(image, "shake", np.random.default_rng(i)) for i in range(200)]
    unchanged = sum(np.allclose(out, image) for out in outputs)
    assert 0 < unchanged < 20                 # a 1 px line leaves the image as it was (1 in 25 of the lines)
    assert all(out.shape == image.shape and 0 <= out.min() and out.max() <= 1 for out in outputs)
    np.testing.assert_array_equal(outputs[7], degrade_one(image, "shake", np.random.default_rng(7)))
