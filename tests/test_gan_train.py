"""Training the deblurring GAN end to end on a tiny natural-images folder: files, resume, ablation, divergence."""
import json

import numpy as np
import pytest

from minitorch_deblur import evaluate, train
from minitorch_deblur.checkpoint import checkpoint_meta, strip_checkpoint
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


def test_dropout_option_is_recorded_and_checked(natural_images, tmp_path, no_network, capsys):
    assert _gan(natural_images, tmp_path / "d0", "--epochs", "1", "--losses", "l1", "--dropout", "0") == 0
    meta = checkpoint_meta(tmp_path / "d0" / "model.npz")
    assert meta["model_options"]["dropout"] == 0.0
    with pytest.raises(SystemExit):
        _gan(natural_images, tmp_path / "bad", "--dropout", "1")
    assert "--dropout must be a probability in [0, 1)" in capsys.readouterr().err


def test_init_from_a_generator_only_file_starts_a_fresh_discriminator(natural_images, tmp_path, no_network):
    """The shipped GAN file holds G alone (checkpoint strip --drop discriminator): --init loads G from it."""
    assert _gan(natural_images, tmp_path / "a", "--epochs", "1", "--residual", "--upsample", "resize") == 0
    strip_checkpoint(tmp_path / "a" / "model.npz", tmp_path / "g.npz", drop=["discriminator"])
    assert _gan(natural_images, tmp_path / "b", "--epochs", "1", "--residual", "--upsample", "resize",
                "--lr", "1e-12", "--init", str(tmp_path / "g.npz")) == 0
    a, b = np.load(tmp_path / "a" / "model.npz"), np.load(tmp_path / "b" / "model.npz")
    generator = [k for k in a.files if k.startswith("model/generator.")]
    assert generator and any(k.startswith("model/discriminator.") for k in b.files)
    for key in generator:             # lr ~0: G is still the file's (Adam moves each weight by about lr)
        np.testing.assert_allclose(a[key], b[key], atol=1e-9, err_msg=key)
