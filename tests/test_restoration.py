"""The restoration track end to end on tiny files in the official formats: train, resume, evaluate, tiling, deblur."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

import minitorch_deblur as mt
from minitorch_deblur import Tensor, deblur, evaluate, train
from minitorch_deblur.checkpoint import save_checkpoint
from minitorch_deblur.models import CAE, SRCNN, Win5RB
from minitorch_deblur.models.registry import REGISTRY, shipped
from minitorch_deblur.optim import SGD, ExponentialLR
from minitorch_deblur.imaging.restoration import dihedral, restore_batches
from minitorch_deblur.imaging.tiling import receptive_field, restore_image

pytestmark = pytest.mark.lesson3


def _train(model, root, out, *extra):
    return train.main([model, "--allow-partial", "--data-dir", str(root), "--out", str(out), "--no-progress",
                       "--batch-size", "8", *extra])


def test_restoration_run_writes_scores_figures_and_the_per_image_table(cifar_partial, tmp_path):
    out = tmp_path / "srcnn"
    assert _train("srcnn", cifar_partial, out, "--epochs", "2") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    final = metrics["final"]
    assert metrics["args"]["degradation"] == "bilinear" and len(metrics["history"]["test_psnr"]) == 2
    assert {"test_psnr", "test_ssim", "input_psnr", "input_ssim", "bicubic_psnr", "test_mse"} <= set(final)
    assert "40 train / 12 test images (PARTIAL copy)" in metrics["data"]
    assert metrics["images"] == {"train": 40, "validation": 0, "test": 12}
    for name in ("model.npz", "curves.png", "samples.png", "per_image.csv"):
        assert (out / name).stat().st_size > 0
    rows = (out / "per_image.csv").read_text().splitlines()
    assert rows[0].startswith("index,input_psnr,input_ssim,bicubic_psnr") and len(rows) == 13
    assert float(rows[1].split(",")[1]) == pytest.approx(
        np.genfromtxt(out / "per_image.csv", delimiter=",", names=True)["input_psnr"][0], rel=1e-5)
    meta = mt.checkpoint.checkpoint_meta(out / "model.npz")
    assert meta["degradation"] == "bilinear" and meta["images"] == {"train": 40, "validation": 0, "test": 12}


def test_restoration_resume_gives_the_same_weights_as_an_unbroken_run(cifar_partial, tmp_path):
    args = ["--epochs", "2", "--limit", "16", "--augment"]
    assert _train("cae", cifar_partial, tmp_path / "unbroken", *args) == 0
    assert _train("cae", cifar_partial, tmp_path / "broken", "--epochs", "1", "--limit", "16", "--augment") == 0
    assert train.main(["cae", "--resume", str(tmp_path / "broken"), "--epochs", "2", "--no-progress",
                       "--allow-partial", "--data-dir", str(cifar_partial)]) == 0
    a, b = np.load(tmp_path / "unbroken" / "model.npz"), np.load(tmp_path / "broken" / "model.npz")
    for key in a.files:
        if key.startswith("model/"):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    history = json.loads((tmp_path / "broken" / "metrics.json").read_text())["history"]
    assert len(history["val_loss"]) == 2   # course B holds out 10% of the 16 images


def test_init_starts_from_a_checkpoints_weights_with_a_fresh_optimiser(cifar_partial, tmp_path, capsys):
    assert _train("srcnn", cifar_partial, tmp_path / "first", "--epochs", "1", "--limit", "8", "--residual") == 0
    first = tmp_path / "first" / "model.npz"
    assert _train("srcnn", cifar_partial, tmp_path / "wrong", "--epochs", "1", "--init", str(first)) == 2
    assert "holds a 'srcnn' model with residual True (this run: False)" in capsys.readouterr().err
    assert _train("srcnn", cifar_partial, tmp_path / "more", "--epochs", "1", "--limit", "8", "--residual",
                  "--init", str(first), "--lr", "1e-12") == 0
    assert "initialised from" in capsys.readouterr().out
    assert _train("srcnn", cifar_partial, tmp_path / "averaged", "--epochs", "1", "--limit", "8", "--residual",
                  "--init", str(first), "--lr", "1e-12", "--ema", "0.9") == 0   # the average starts there too
    a, b, c = np.load(first), np.load(tmp_path / "more" / "model.npz"), np.load(tmp_path / "averaged" / "model.npz")
    np.testing.assert_allclose(a["model/features.weight"], b["model/features.weight"], atol=1e-6)
    np.testing.assert_allclose(a["model/features.weight"], c["model/features.weight"], atol=1e-6)
    assert json.loads((tmp_path / "more" / "metrics.json").read_text())["args"]["init"] == str(first)


def test_resume_without_epochs_keeps_the_runs_own_count(cifar_partial, tmp_path, capsys):
    assert _train("srcnn", cifar_partial, tmp_path / "r", "--epochs", "1", "--limit", "8") == 0
    assert train.main(["srcnn", "--resume", str(tmp_path / "r"), "--allow-partial", "--data-dir", str(cifar_partial),
                       "--no-progress"]) == 0   # not the course recipe's 100 epochs
    assert "nothing left to do: epoch 1 of 1 is done" in capsys.readouterr().out


def test_a_partial_copy_needs_the_flag_and_says_so(cifar_partial, tmp_path, capsys):
    assert train.main(["srcnn", "--data-dir", str(cifar_partial), "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    # the missing dataset's whole message: the files with their checksums, the folder, and the partial copy's flag
    assert "--allow-partial" in err and "md5" in err and not (tmp_path / "r").exists()
    assert err.startswith("python -m minitorch_deblur.train: error: CIFAR-10 is not in")


def test_recipes_fill_what_the_command_line_leaves_out():
    win5rb = train.parse_args(["win5rb"])
    assert (win5rb.epochs, win5rb.batch_size, win5rb.lr, win5rb.val_fraction) == (20, 32, 1e-3, 0.1)
    assert (win5rb.lr_schedule, win5rb.lr_step, win5rb.degradation) == ("exp", 5, "gaussian_noise")
    assert win5rb.lr_gamma == pytest.approx(math.exp(-0.5)) and not win5rb.zero_init_residual
    srcnn = train.parse_args(["srcnn", "--epochs", "3"])
    assert (srcnn.epochs, srcnn.train_images, srcnn.degradation, srcnn.batch_size) == (3, 5000, "bilinear", 64)
    best = train.parse_args(["srcnn", "--recipe", "best"])
    assert best.residual and best.padding_mode == "reflect" and best.batch_size == 16
    assert (best.epochs, best.mapping_kernel, best.mapping_layers) == (80, 3, 5)   # 9-3-3-3-3-3-5
    assert train.parse_args(["win5rb", "--recipe", "best", "--no-augment"]).augment is False
    assert train.parse_args(["cnn"]).epochs == 5
    assert train.parse_args(["win5rb", "--paper"]).paper
    gan = train.parse_args(["deblurgan", "--recipe", "best"])
    assert (gan.batch_size, gan.crops_per_epoch, gan.l1_warmup, gan.residual, gan.upsample) == (8, 1600, 20, True,
                                                                                                "resize")
    assert train.parse_args(["deblurgan"]).batch_size == 32


@pytest.mark.parametrize("argv, message", [
    (["mlp", "--degradation", "bicubic"], "--degradation applies to srcnn, cae, win5rb, deblurgan, not mlp"),
    (["deblurgan", "--val-fraction", "0.1"], "--val-fraction applies to srcnn, cae, win5rb, not deblurgan"),
    (["cae", "--losses", "l1"], "--losses applies to deblurgan, not cae"),
    (["deblurgan", "--allow-partial"], "--allow-partial applies to srcnn, cae, win5rb, not deblurgan"),
    (["cae", "--residual"], "--residual applies to srcnn, deblurgan, not cae"),
    (["win5rb", "--padding-mode", "reflect"], "--padding-mode applies to srcnn, not win5rb"),
    (["cae", "--val-fraction", "1"], "--val-fraction must be in [0, 1)"),
])
def test_options_for_another_model_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        train.parse_args(argv)
    assert message in capsys.readouterr().err


def test_exponential_lr_can_wait_before_decaying():
    opt = SGD([mt.nn.Parameter(mt.zeros(1))], lr=1.0)
    scheduler = ExponentialLR(opt, math.exp(-0.5), start=5)
    lrs = []
    for _ in range(8):
        lrs.append(opt.param_groups[0]["lr"])
        scheduler.step()
    np.testing.assert_allclose(lrs, [1, 1, 1, 1, 1, 1, math.exp(-0.5), math.exp(-1)])


def test_evaluate_rescores_a_checkpoint(cifar_partial, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train("srcnn", cifar_partial, out, "--epochs", "1") == 0
    capsys.readouterr()
    assert evaluate.main([str(out / "model.npz"), "--allow-partial", "--data-dir", str(cifar_partial)]) == 0
    text = capsys.readouterr().out
    assert "12 test images, bilinear" in text and "restored - input" in text
    for row in ("input", "bicubic", "restored"):
        assert any(line.startswith(row) for line in text.splitlines())
    final = json.loads((out / "metrics.json").read_text())["final"]
    assert f"{final['test_psnr']:.2f}" in text
    assert evaluate.main([str(out / "model.npz"), "--allow-partial", "--data-dir", str(cifar_partial),
                          "--ensemble"]) == 0
    assert "mean of 8 flips/rotations" in capsys.readouterr().out
    assert evaluate.main([str(tmp_path / "missing.npz")]) == 2


def _with_random_bn_stats(model, seed=0):
    rng = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, mt.nn.BatchNorm2d):
            m.running_mean[...] = rng.normal(size=m.running_mean.shape)
            m.running_var[...] = rng.uniform(0.5, 2, size=m.running_var.shape)
    return model.eval()


@pytest.mark.parametrize("model, halo, align", [
    (SRCNN, 6, 1), (CAE, 16, 4), (Win5RB, 12, 1),
    # the shipped best recipe's 9-3-3-3-3-3-5 with reflect padding: 23x23 field
    (lambda **kw: SRCNN(residual=True, padding_mode="reflect", mapping_kernel=3, mapping_layers=5, **kw), 11, 1)])
def test_tiled_output_equals_whole_image_output(model, halo, align):
    from minitorch_deblur.imaging.tiling import bytes_per_pixel

    net = _with_random_bn_stats(model(generator=mt.Generator(0)))
    assert receptive_field(net) == (halo, align)
    image = np.random.default_rng(1).random((3, 45, 70)).astype(np.float32)
    whole, how = restore_image(net, image)
    tiled, how_tiled = restore_image(net, image, tile=16)
    assert how == "whole image" and how_tiled.startswith("15 tiles") and whole.shape == (3, 45, 70)
    np.testing.assert_allclose(tiled, whole, atol=2e-5)
    fixed, per_pixel = bytes_per_pixel(net)
    budget = fixed + per_pixel * 0.9 * 48 * 72                 # a little less than the whole image needs
    within_budget, how_budget = restore_image(net, image, max_memory=budget)
    assert "tiles of" in how_budget
    np.testing.assert_allclose(within_budget, whole, atol=2e-5)


@pytest.fixture
def srcnn_checkpoint(tmp_path):
    return save_checkpoint(tmp_path / "srcnn.npz", SRCNN(generator=mt.Generator(0)),
                           meta={"model": "srcnn", "degradation": "bilinear"})


def _photo(path, mode, size=(40, 30), **save):
    from PIL import Image

    rng = np.random.default_rng(0)
    if mode == "I;16":
        image = Image.fromarray((rng.random(size[::-1]) * 65535).astype(np.uint16))
    else:
        image = Image.fromarray((rng.random((size[1], size[0], 4)) * 255).astype(np.uint8), "RGBA").convert(mode)
    image.save(path, **save)
    return path


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "LA", "I;16"])
def test_deblur_keeps_size_and_mode(mode, srcnn_checkpoint, tmp_path):
    from PIL import Image

    photo = _photo(tmp_path / f"in_{mode.replace(';', '')}.png", mode)
    out = tmp_path / "out" / "x.png"
    assert deblur.main([str(photo), "--checkpoint", str(srcnn_checkpoint), "-o", str(out)]) == 0
    with Image.open(photo) as a, Image.open(out) as b:
        assert b.size == a.size and b.mode == a.mode
        if mode in ("RGBA", "LA"):
            np.testing.assert_array_equal(np.asarray(a)[..., -1], np.asarray(b)[..., -1])   # alpha kept
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]   # no temporary file left


def test_deblur_follows_exif_orientation_upscales_and_degrades(srcnn_checkpoint, tmp_path, capsys):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6   # rotate 90 degrees on display
    photo = _photo(tmp_path / "turned.jpg", "RGB", exif=exif.tobytes())
    assert deblur.main([str(photo), "--checkpoint", str(srcnn_checkpoint), "--out-dir", str(tmp_path / "o")]) == 0
    with Image.open(tmp_path / "o" / "turned.png") as b:
        assert b.size == (30, 40)
    assert deblur.main([str(photo), "--checkpoint", str(srcnn_checkpoint), "--upscale", "4",
                        "-o", str(tmp_path / "big.png")]) == 0
    with Image.open(tmp_path / "big.png") as b:
        assert b.size == (120, 160)
    assert deblur.main([str(photo), "--checkpoint", str(srcnn_checkpoint), "--degrade",
                        "-o", str(tmp_path / "d.png"), "--compare", str(tmp_path / "cmp.png")]) == 0
    assert "PSNR vs the sharp photo: degraded" in capsys.readouterr().out and (tmp_path / "cmp.png").is_file()


def test_deblur_never_overwrites_an_input_and_one_bad_file_does_not_stop_the_rest(srcnn_checkpoint, tmp_path,
                                                                                    capsys):
    good = _photo(tmp_path / "good.png", "RGB")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    before = good.read_bytes()
    assert deblur.main([str(good), "--checkpoint", str(srcnn_checkpoint), "-o", str(good)]) == 1
    assert good.read_bytes() == before and "inputs are never overwritten" in capsys.readouterr().err
    code = deblur.main([str(tmp_path / "bad.png"), str(good), "--checkpoint", str(srcnn_checkpoint),
                        "--out-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "bad.png: not an image file" in err
    assert (tmp_path / "out" / "good.png").is_file()
    assert deblur.main([str(good), "--checkpoint", str(tmp_path / "none.npz")]) == 2


def test_natural_image_crops_never_cross_the_split(tmp_path):
    from PIL import Image

    from minitorch_deblur.data.natural import natural_image_crops, natural_image_files

    folder = tmp_path / "natural-images"
    rows = ["set,file,split"]
    for split, value in (("train", 50), ("held-out", 200)):
        (folder / split).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((40, 50, 3), value, np.uint8)).save(folder / split / f"{i}.png")
            rows.append(f"{split},{i}.png,{'test' if split == 'held-out' else split}")   # as the real manifest
    (folder / "MANIFEST.csv").write_text("\n".join(rows) + "\n")
    assert [p.parent.name for p in natural_image_files("train", tmp_path)] == ["train"] * 3
    crops = natural_image_crops(20, 32, "train", seed=3, data_dir=tmp_path)
    assert crops.images.shape == (20, 3, 32, 32) and (crops.images == 50).all()
    assert ((natural_image_crops(5, 32, "held-out", data_dir=tmp_path).images == 200).all())
    np.testing.assert_array_equal(crops.images, natural_image_crops(20, 32, "train", 3, tmp_path).images)


def test_augment_applies_one_of_the_eight_symmetries_per_image():
    from minitorch_deblur.train.restore import augment

    x = np.random.default_rng(0).random((16, 3, 8, 8)).astype(np.float32)
    y = augment(x, np.random.default_rng(1))
    for a, b in zip(x, y):
        variants = [np.rot90(a, k, axes=(1, 2)) for k in range(4)]
        variants += [v[:, :, ::-1] for v in variants]
        assert any(np.array_equal(b, v) for v in variants)


def test_model_options_are_recorded_and_rebuilt(tmp_path):
    from minitorch_deblur.checkpoint import load_model

    model = SRCNN(residual=True, generator=mt.Generator(0))
    path = save_checkpoint(tmp_path / "r.npz", model, meta={"model": "srcnn", "model_options": {"residual": True}})
    x = mt.rand(1, 3, 16, 16)
    np.testing.assert_array_equal(load_model(path)(x).numpy(), model.eval()(x).numpy())
    identity = Win5RB(zero_init_residual=True, generator=mt.Generator(0)).eval()
    np.testing.assert_array_equal(identity(x).numpy(), x.numpy())
    assert Path(shipped()["srcnn"]).parent.name == "pretrained"


def test_conv2d_padding_mode_pads_the_input_first_as_pytorch_does():
    import minitorch_deblur.functional as F

    x = mt.rand(2, 3, 7, 6, generator=mt.Generator(0))
    for mode, np_mode in (("reflect", "reflect"), ("replicate", "edge")):
        conv = mt.nn.Conv2d(3, 4, 5, padding=2, padding_mode=mode, generator=mt.Generator(1))
        padded = np.pad(x.numpy(), ((0, 0), (0, 0), (2, 2), (2, 2)), mode=np_mode)
        expected = F.conv2d(mt.tensor(padded), conv.weight, conv.bias).numpy()
        np.testing.assert_allclose(conv(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="padding_mode must be one of zeros, reflect, replicate"):
        mt.nn.Conv2d(3, 4, 3, padding_mode="circular")


def test_a_model_with_instance_norm_runs_whole_or_in_blended_tiles():
    from minitorch_deblur.models.deblurgan import DeblurGAN
    from minitorch_deblur.imaging.tiling import is_local

    class Identity(mt.nn.Module):   # flagged non-local by its (unused) instance norm: blending must be exact
        def __init__(self):
            super().__init__()
            self.norm = mt.nn.InstanceNorm2d(3)

        def forward(self, x):
            return x * 1.0

    image = np.random.default_rng(0).random((3, 70, 90)).astype(np.float32)
    out, how = restore_image(Identity(), image, tile=32)
    assert how.startswith("12 blended tiles of 32 px") and not is_local(Identity())
    np.testing.assert_allclose(out, image, rtol=1e-6)
    gan = DeblurGAN(discriminator=False, generator=mt.Generator(0)).eval()
    whole, how_whole = restore_image(gan, image)
    assert how_whole == "whole image" and whole.shape == image.shape
    with_d = DeblurGAN(generator=mt.Generator(0))          # a training checkpoint still holds its discriminator
    assert receptive_field(with_d)[1] == receptive_field(gan)[1] == 16


def test_deblur_at_a_reduced_scale_adds_the_models_correction_enlarged():
    class AddConstant(mt.nn.Module):
        def forward(self, x):
            return x + 0.25

    image = np.random.default_rng(0).random((3, 40, 60)).astype(np.float32)
    same, _ = deblur.restore_at_scale(AddConstant(), image, 1.0, 2e9, "cpu")
    half, how = deblur.restore_at_scale(AddConstant(), image, 0.5, 2e9, "cpu")
    np.testing.assert_allclose(same, image + 0.25, atol=1e-6)
    np.testing.assert_allclose(half, image + 0.25, atol=1e-5)   # the image's own detail is kept at full size
    assert how == "whole image at x0.5 (30x20)"


def test_the_self_ensemble_turns_each_output_back_before_averaging():
    image = np.random.default_rng(1).random((3, 20, 36)).astype(np.float32)
    for k in range(8):
        turned = dihedral(image, k)
        assert turned.shape[1:] in ((20, 36), (36, 20))
        np.testing.assert_array_equal(dihedral(turned, k, inverse=True), image)

    class RowRamp(mt.nn.Module):     # adds a ramp down the rows: not orientation-free, so the mean shows it
        def forward(self, x):
            return x + mt.tensor(np.linspace(0, 1, x.shape[2], dtype=np.float32).reshape(1, 1, -1, 1))

    out, how = deblur.restore_ensemble(RowRamp(), image, 1.0, 2e9, "cpu")
    assert how.endswith("mean of 8 flips/rotations") and out.shape == image.shape
    np.testing.assert_allclose(out, image + 0.5, atol=1e-5)   # a ramp and its reverse, rows and columns: mean 0.5
    batch = np.stack([image, image[:, ::-1]])   # evaluate --ensemble: the same mean, a batch at a time
    outs, _ = restore_batches(RowRamp(), batch, batch_size=1, ensemble=True)
    np.testing.assert_allclose(outs, batch + 0.5, atol=1e-5)
    plain, _ = restore_batches(RowRamp(), batch, batch_size=1)
    assert np.abs(plain - batch - 0.5).max() > 0.4


def test_a_residual_unet_starts_as_the_identity():
    from minitorch_deblur.models.deblurgan import DeblurGAN

    x = mt.rand(1, 3, 32, 32, generator=mt.Generator(0))
    gan = DeblurGAN(residual=True, upsample="resize", discriminator=False, generator=mt.Generator(0)).eval()
    np.testing.assert_allclose(gan(x).numpy(), x.numpy(), atol=1e-6)


def test_strip_can_halve_the_weights_and_drop_a_gans_discriminator(tmp_path):
    from minitorch_deblur.checkpoint import checkpoint_meta, load_model, strip_checkpoint
    from minitorch_deblur.models.deblurgan import DeblurGAN

    model = SRCNN(generator=mt.Generator(0))
    full = save_checkpoint(tmp_path / "full.npz", model, meta={"model": "srcnn"})
    half = strip_checkpoint(full, tmp_path / "half.npz", half=True)
    loaded = load_model(half)
    assert loaded.features.weight.dtype == np.float32 and checkpoint_meta(half)["stored"] == "float16"
    np.testing.assert_array_equal(loaded.features.weight.numpy(),
                                  model.features.weight.numpy().astype(np.float16).astype(np.float32))
    gan = save_checkpoint(tmp_path / "gan.npz", DeblurGAN(generator=mt.Generator(0)), meta={"model": "deblurgan"})
    g_only = strip_checkpoint(gan, tmp_path / "g.npz", drop=["discriminator"])
    assert load_model(g_only).discriminator is None
    assert not [k for k in np.load(g_only).files if "discriminator" in k]


@pytest.mark.parametrize("name", sorted(shipped(*deblur.RESTORERS)) + [None])
def test_each_shipped_model_restores_a_photo_offline(name, tmp_path, no_network, capsys):
    """None: no --model, which is the real-blur NAFNet."""
    photo = _photo(tmp_path / "in.png", "RGB", size=(24, 20))
    which = ["--model", name] if name else []
    assert deblur.main([str(photo), *which, "-o", str(tmp_path / "out.png")]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"with {name or 'nafnet'}")
    from PIL import Image

    with Image.open(tmp_path / "out.png") as out:
        assert out.size == (24, 20)


def test_a_test_crop_drawn_unblurred_is_left_out_of_the_scores(natural_images, monkeypatch):
    from minitorch_deblur.imaging import restoration
    from minitorch_deblur.data import degrade
    from minitorch_deblur.data.images import from_uint8

    real = degrade.degrade_test_set

    def first_untouched(images, kind, seed=0, cache=None):
        out = real(images, kind, seed=seed)
        out[0] = from_uint8(images[0])
        return out

    monkeypatch.setattr(degrade, "degrade_test_set", first_untouched)
    test = restoration.load_test_set("motion", str(natural_images), dataset="natural-images", size=32, count=5)
    assert len(test.sharp) == 4 and "1 drawn unblurred left out: 4 scored" in test.source
    assert np.isfinite(test.baselines["input"].psnr).all()


def test_the_make_command_of_a_shipped_file_chains_its_training_stages():
    command = REGISTRY["cae"].make_command().split(" && ")
    assert command[0].endswith("--recipe best --allow-partial --out runs/cae-best")
    assert "--init runs/cae-best/model.npz --epochs 20 --lr 5e-4 --out runs/cae-best2" in command[1]
    assert "--init runs/cae-best2/model.npz" in command[2]
    last = len(command) - 1
    assert "--init runs/cae-best4/model.npz --epochs 24 --lr 4e-4 --ema 0.999" in command[last - 1]
    assert command[-1] == (f"python -m minitorch_deblur.checkpoint strip --half runs/cae-best{last}/model.npz "
                           "minitorch_deblur/pretrained/cae.npz")
    assert len(REGISTRY["srcnn"].make_command().split(" && ")) == 2


def test_ema_saves_the_averaged_weights_and_resumes_exactly(cifar_partial, tmp_path):
    args = ["--limit", "16", "--ema", "0.9", "--precise-bn", "2"]
    assert _train("win5rb", cifar_partial, tmp_path / "unbroken", "--epochs", "2", *args) == 0
    assert _train("win5rb", cifar_partial, tmp_path / "broken", "--epochs", "1", *args) == 0
    assert train.main(["win5rb", "--resume", str(tmp_path / "broken"), "--epochs", "2", "--no-progress",
                       "--allow-partial", "--data-dir", str(cifar_partial)]) == 0
    a, b = np.load(tmp_path / "unbroken" / "model.npz"), np.load(tmp_path / "broken" / "model.npz")
    assert sorted(a.files) == sorted(b.files) and "ema/0" in a.files
    for key in a.files:
        if key != "record.json":
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    # the model's weights are the average; the trained ones (ema/0: the first parameter) differ from them
    averaged = mt.checkpoint.load_model(tmp_path / "broken" / "model.npz")
    first = next(iter(averaged.parameters())).numpy()
    assert first.shape == a["ema/0"].shape and not np.array_equal(first, a["ema/0"])
    assert json.loads((tmp_path / "broken" / "metrics.json").read_text())["args"]["ema"] == 0.9


def test_psnr_loss_is_minus_the_mean_per_image_psnr_and_trains(cifar_partial, tmp_path, capsys):
    rng = np.random.default_rng(0)
    sharp = rng.uniform(0, 1, (4, 3, 8, 8)).astype(np.float32)
    restored = np.clip(sharp + rng.normal(0, [[[[0.01]]], [[[0.05]]], [[[0.1]]], [[[0.2]]]], sharp.shape), 0, 1)
    loss = mt.functional.psnr_loss(Tensor(restored.astype(np.float32)), Tensor(sharp)).item()
    assert loss == pytest.approx(-mt.metrics.psnr(restored, sharp), abs=1e-3)   # float32
    out = tmp_path / "psnr"
    assert _train("srcnn", cifar_partial, out, "--epochs", "1", "--limit", "16", "--loss", "psnr") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["args"]["loss"] == "psnr" and metrics["final"]["train_loss"] < 0   # -dB
    with pytest.raises(SystemExit):
        train.parse_args(["cnn", "--loss", "psnr"])
    assert "--loss applies to srcnn, cae, win5rb, nafnet, not cnn" in capsys.readouterr().err
