"""Training the deblurring GAN end to end on a tiny natural-images folder: files, resume, ablation, divergence."""
import json

import numpy as np
import pytest

from minitorch_deblur import evaluate, train
from minitorch_deblur.train import gan

pytestmark = pytest.mark.lesson5


def _gan(root, out, *extra):
    return train.main(["deblurgan", "--data-dir", str(root), "--crop-size", "32", "--crops-per-epoch", "8",
                       "--batch-size", "4", "--limit", "4", "--out", str(out), "--no-progress", *extra])


def test_gan_run_writes_loss_terms_samples_and_scores(natural_images, tmp_path, no_network):
    out = tmp_path / "gan"
    assert _gan(natural_images, out, "--epochs", "2") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    history = metrics["history"]
    assert {"train_l1", "train_perceptual", "train_adversarial", "train_d_loss", "test_psnr", "input_psnr"} <= set(
        history)
    assert metrics["test_set"] == "natural-images" and "HELD-OUT" in metrics["data"]
    for name in ("model.npz", "curves.png", "losses.png", "samples.png", "per_image.csv", "samples/epoch_001.png",
                 "samples/epoch_002.png"):
        assert (out / name).stat().st_size > 0
    assert evaluate.main([str(out / "model.npz"), "--data-dir", str(natural_images), "--limit", "4"]) == 0


def test_gan_resume_equals_an_unbroken_run(natural_images, tmp_path, no_network):
    assert _gan(natural_images, tmp_path / "a", "--epochs", "2") == 0
    assert _gan(natural_images, tmp_path / "b", "--epochs", "1") == 0
    assert train.main(["deblurgan", "--resume", str(tmp_path / "b"), "--epochs", "2", "--no-progress",
                       "--data-dir", str(natural_images)]) == 0
    a, b = np.load(tmp_path / "a" / "model.npz"), np.load(tmp_path / "b" / "model.npz")
    for key in a.files:
        if key != "record.json":
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_l1_only_leaves_the_discriminator_alone(natural_images, tmp_path, no_network):
    assert _gan(natural_images, tmp_path / "l1", "--epochs", "1", "--losses", "l1") == 0
    history = json.loads((tmp_path / "l1" / "metrics.json").read_text())["history"]
    assert "train_l1" in history and "train_d_loss" not in history and "train_perceptual" not in history


def test_a_nan_discriminator_loss_stops_training_and_names_the_term(natural_images, tmp_path, monkeypatch, capsys,
                                                                   no_network):
    real = gan._lsgan
    monkeypatch.setattr(gan, "_lsgan", lambda outputs, target: real(outputs, target) * float("nan"))
    assert _gan(natural_images, tmp_path / "nan", "--epochs", "1") == 1
    err = capsys.readouterr().err
    assert "the discriminator loss is nan" in err and not (tmp_path / "nan").exists()
