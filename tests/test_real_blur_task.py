"""The real-blur model's data and task (issue 25): shake pairs, ``train nafnet`` end to end, resume, and the
--compare crop."""
import json

import numpy as np
import pytest

from minitorch_deblur import train
from minitorch_deblur.data.shake_pairs import ShakeMix, ShakePairs, shake_pairs
from minitorch_deblur.imaging.plots import most_changed_window
from minitorch_deblur.imaging.tiling import is_local
from minitorch_deblur.models.nafnet import NAFNet


def _crops(n=4, side=48, seed=0):
    rng = np.random.default_rng(seed)
    return np.kron(rng.random((n, 3, side // 8, side // 8)), np.ones((1, 1, 8, 8))).astype(np.float32)


def test_shake_pairs_cut_the_margin_and_repeat_for_a_key():
    images = _crops()
    blurred, sharp = shake_pairs(images, 8, (1, 2))
    assert blurred.shape == sharp.shape == (4, 3, 32, 32) and blurred.dtype == np.float32
    np.testing.assert_array_equal(sharp, images[:, :, 8:40, 8:40])
    again, _ = shake_pairs(images, 8, (1, 2))
    other, _ = shake_pairs(images, 8, (1, 3))
    np.testing.assert_array_equal(blurred, again)
    assert not np.array_equal(blurred, other)
    assert 0 <= blurred.min() and blurred.max() <= 1


def test_the_mix_leaves_a_tenth_sharp_and_splits_the_rest_between_small_and_large_shake():
    image = _crops(1)[0]
    kinds = {"sharp": 0, "blurred": 0}
    for i in range(200):
        out = ShakeMix().blur(image, np.random.default_rng((7, i)))
        kinds["sharp" if np.array_equal(out, image) else "blurred"] += 1
    assert 8 <= kinds["sharp"] <= 35, kinds            # 10 % of 200, within sampling noise
    everything_blurred = ShakeMix(identity=0.0)
    assert not any(np.array_equal(everything_blurred.blur(image, np.random.default_rng((7, i))), image)
                   for i in range(20))


def test_the_transform_draws_new_blur_each_call_and_the_same_after_a_reset():
    pairs, images = ShakePairs(8, seed=3), _crops(2)
    first, second = pairs(images)[0], pairs(images)[0]
    assert not np.array_equal(first, second)
    pairs.calls = 0
    np.testing.assert_array_equal(pairs(images)[0], first)


def test_a_margin_larger_than_the_crop_is_refused():
    with pytest.raises(ValueError, match="margin of 24 px"):
        shake_pairs(_crops(1, 48), 24, (0,))


def test_most_changed_window_finds_the_change():
    before = np.zeros((3, 100, 120), np.float32)
    after = before.copy()
    after[:, 60:70, 90:100] = 1
    top, left, side = most_changed_window(before, after, 20)
    assert side == 20 and top <= 60 and top + 20 >= 70 and left <= 90 and left + 20 >= 100
    assert most_changed_window(before, after, 500)[2] == 100          # never larger than the image


def test_nafnet_is_not_local_for_tiling():
    """Its channel attention averages the whole image: tiles are blended, not assumed exact."""
    assert not is_local(NAFNet(width=4, enc_blocks=(1,), middle_blocks=1, dec_blocks=(1,)))


def _train(root, out, *extra):
    return train.main(["nafnet", "--data-dir", str(root), "--crop-size", "32", "--crops-per-epoch", "4",
                       "--batch-size", "2", "--limit", "2", "--out", str(out), "--no-progress", *extra])


def test_train_nafnet_scores_validation_and_held_out_crops(natural_images_128, tmp_path, no_network):
    out = tmp_path / "run"
    assert _train(natural_images_128, out, "--epochs", "1") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    history = metrics["history"]
    assert {"val_psnr", "val_input_psnr", "test_psnr", "input_psnr", "train_loss"} <= set(history)
    assert metrics["args"]["loss"] == "l1" and metrics["args"]["recipe"] == "best"   # nafnet's only recipe
    assert "HELD-OUT" in metrics["data"] and metrics["degradation"] == "realistic"
    assert (out / "samples.png").stat().st_size > 0


def test_train_nafnet_resume_equals_an_unbroken_run(natural_images_128, tmp_path, no_network):
    assert _train(natural_images_128, tmp_path / "a", "--epochs", "2") == 0
    assert _train(natural_images_128, tmp_path / "b", "--epochs", "1") == 0
    assert train.main(["nafnet", "--resume", str(tmp_path / "b"), "--epochs", "2", "--no-progress",
                       "--data-dir", str(natural_images_128)]) == 0
    a, b = np.load(tmp_path / "a" / "model.npz"), np.load(tmp_path / "b" / "model.npz")
    for key in a.files:
        if key != "record.json":
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
