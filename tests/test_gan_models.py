"""The GAN's models: the U-Net generator, the (multi-scale) PatchGAN and the frozen VGG16 feature extractor."""
import numpy as np
import pytest

import minitorch_deblur as mt
from minitorch_deblur import nn
from minitorch_deblur.gradcheck import assert_module_gradcheck
from minitorch_deblur.models.patchgan import MultiScalePatchGAN, PatchGAN
from minitorch_deblur.models.unet import UNet
from minitorch_deblur.models.vgg import VGG16Features, load_vgg_weights
from minitorch_deblur.testing import reference

pytestmark = pytest.mark.lesson5


def test_unet_count_shapes_and_options():
    assert sum(p.numel() for p in UNet().parameters()) == 6_170_627
    x = mt.rand(2, 3, 32, 48, generator=mt.Generator(0)) * 2 - 1
    for model in (UNet(), UNet(upsample="resize"), UNet(residual=True)):
        y = model.eval()(x)
        assert y.shape == (2, 3, 32, 48)
    assert np.abs(UNet().eval()(x).numpy()).max() <= 1.0
    with pytest.raises(ValueError, match="upsample must be"):
        UNet(upsample="bilinear")


def test_patchgan_maps_are_11_and_5_at_96():
    x = mt.zeros(1, 3, 96, 96)
    assert PatchGAN()(mt.cat([x, x], dim=1)).shape == (1, 1, 11, 11)
    assert [o.shape for o in MultiScalePatchGAN(scales=2)(x, x)] == [(1, 1, 11, 11), (1, 1, 5, 5)]


def test_train_and_eval_mode_behave_like_pytorch():
    x = mt.rand(2, 3, 32, 32, generator=mt.Generator(1))
    g = UNet(generator=mt.Generator(0))
    g.train()
    assert not np.allclose(g(x).numpy(), g(x).numpy())            # dropout 0.5 draws new masks each call
    g.eval()
    np.testing.assert_array_equal(g(x).numpy(), g(x).numpy())      # eval: no dropout
    # instance norm normalises each image by its own statistics, in train and eval alike: no batch coupling
    np.testing.assert_allclose(g(x).numpy()[:1], g(x[:1]).numpy(), atol=1e-5)
    off = UNet(dropout=0.0, generator=mt.Generator(0))          # dropout 0: training mode changes nothing
    np.testing.assert_allclose(off.train()(x).numpy(), off.eval()(x).numpy(), atol=1e-6)
    d = PatchGAN(generator=mt.Generator(0))
    pair = mt.cat([x, x], dim=1)
    np.testing.assert_allclose(d.train()(pair).numpy(), d.eval()(pair).numpy(), atol=1e-6)


class _Seeded(nn.Module):
    """Re-seed the dropout generator before every call, so a train-mode forward is a deterministic function."""

    def __init__(self, net, generator):
        super().__init__()
        self.net, self.generator = net, generator

    def forward(self, *x):
        self.generator.manual_seed(5)
        return self.net(*x)


def test_unet_gradcheck_in_float64_with_dropout_on():
    generator = mt.Generator(0)
    model = _Seeded(UNet(generator=generator), generator).train()
    x = np.random.default_rng(0).random((1, 3, 16, 16)) * 2 - 1
    assert_module_gradcheck(model, [x], max_jacobian_numel=16, n_directions=3)


def test_multiscale_patchgan_gradcheck_in_float64():
    rng = np.random.default_rng(1)
    model = MultiScalePatchGAN(generator=mt.Generator(0)).train()
    assert_module_gradcheck(model, [rng.random((1, 3, 32, 32)), rng.random((1, 3, 32, 32))],
                            max_jacobian_numel=16, n_directions=3)


def test_vgg_features_equal_a_naive_float64_computation():
    weights = load_vgg_weights()
    x = np.random.default_rng(2).random((1, 3, 12, 12))
    h = (x[:, ::-1] * 255.0) - np.array([103.939, 116.779, 123.68]).reshape(1, 3, 1, 1)   # RGB [0,1] -> Caffe BGR
    for name in ("conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2", "pool2", "conv3_1", "conv3_2", "conv3_3"):
        if name.startswith("pool"):
            h = reference.max_pool2d(h, 2)
        else:
            h = np.maximum(reference.conv2d(h, *weights[name], padding=1), 0)
    ours = VGG16Features()(mt.tensor(x.astype(np.float32))).numpy()
    assert ours.shape == (1, 256, 3, 3)
    np.testing.assert_allclose(ours, h, rtol=2e-4, atol=2e-3 * np.abs(h).max())


def test_vgg_is_frozen_but_passes_gradients_to_its_input(tmp_path):
    vgg = VGG16Features()
    x = mt.rand(1, 3, 8, 8, requires_grad=True)
    vgg(x).mean().backward()
    assert x.grad is not None and np.abs(x.grad).sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in vgg.parameters())
    with pytest.raises(FileNotFoundError, match="VGG16 weights .* are missing"):
        load_vgg_weights(tmp_path / "none.npz")
    bad = dict(np.load(mt.models.vgg.WEIGHTS))
    bad["conv2_1_W"] = bad["conv2_1_W"][:, :32]
    np.savez(tmp_path / "bad.npz", **bad)
    with pytest.raises(ValueError, match=r"conv2_1_W has shape \(128, 32, 3, 3\), expected \(128, 64, 3, 3\)"):
        load_vgg_weights(tmp_path / "bad.npz")
