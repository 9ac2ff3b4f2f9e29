"""The restoration models: parameter counts as the course printed them, shapes, Keras's init, and a float64
gradient check of each whole model (input and every parameter) on a tiny image."""
from __future__ import annotations

import math

import numpy as np
import pytest

import minitorch_deblur as mt
from minitorch_deblur.gradcheck import assert_module_gradcheck
from minitorch_deblur.models import CAE, SRCNN, Win5RB

pytestmark = pytest.mark.lesson3


def _counts(model):
    learned = sum(p.numel() for p in model.parameters())
    running = sum(v.size for k, v in model.state_dict().items() if "running" in k)
    return learned, learned + running


@pytest.mark.parametrize("make, learned, keras_total", [
    (SRCNN, 20_099, 20_099), (CAE, 777_987, 779_395), (Win5RB, 1_276_169, 1_276_879),
    (lambda **kw: Win5RB(paper=True, **kw), 2_447_625, 2_448_655),
    (lambda **kw: SRCNN(mapping_kernel=5, padding_mode="reflect", **kw), 69_251, 69_251),   # the paper's 9-5-5
    (lambda **kw: SRCNN(mapping_kernel=3, mapping_layers=3, **kw), 54_979, 54_979),   # the deeper 9-3-3-3-5
])
def test_parameter_counts_and_shapes(make, learned, keras_total):
    model = make(generator=mt.Generator(0))
    assert _counts(model) == (learned, keras_total)
    assert model(mt.zeros(2, 3, 12, 8)).shape == (2, 3, 12, 8)


def test_course_b_models_use_kerass_init_and_batch_norm():
    for model in (CAE(generator=mt.Generator(0)), Win5RB(generator=mt.Generator(0))):
        for m in model.modules():
            if isinstance(m, mt.nn.Conv2d):
                o, c, kh, kw = m.weight.shape
                assert np.abs(m.weight.data).max() <= math.sqrt(6 / ((c + o) * kh * kw)) + 1e-7
                assert not m.bias.data.any()
            if isinstance(m, mt.nn.BatchNorm2d):
                assert (m.eps, m.momentum) == (1e-3, 0.01)


def test_win5rb_adds_its_correction_to_the_input():
    model = Win5RB(generator=mt.Generator(0)).eval()
    for m in model.modules():
        if isinstance(m, mt.nn.BatchNorm2d):
            m.weight.data[...] = 0          # the last BN's scale at 0: no correction at all
    x = mt.rand(1, 3, 8, 8, generator=mt.Generator(1))
    np.testing.assert_allclose(model(x).numpy(), x.numpy())


def test_srcnn_mapping_layers_default_is_the_course_network_and_rejects_zero():
    assert [k for k in SRCNN(mapping_layers=1).state_dict() if "deeper" in k] == []
    with pytest.raises(ValueError, match="mapping_layers must be at least 1"):
        SRCNN(mapping_layers=0)


@pytest.mark.parametrize("make", [SRCNN, lambda **kw: SRCNN(mapping_kernel=3, mapping_layers=3, residual=True, **kw),
                                  CAE, Win5RB], ids=["srcnn", "srcnn-9-3-3-3-5", "cae", "win5rb"])
def test_whole_model_gradcheck_in_float64(make):
    x = np.random.default_rng(0).random((2, 3, 4, 4))
    # directional derivatives for everything bigger than 16 numbers keeps the big models to seconds
    assert_module_gradcheck(make(generator=mt.Generator(0)).train(), [x], max_jacobian_numel=16, n_directions=3)


def test_summary_counts_flops_and_im2col_memory():
    from minitorch_deblur.nn.summary import summary

    table = summary(Win5RB(), (1, 3, 32, 32))
    conv = next(line for line in table.splitlines() if line.startswith("correction.9 "))
    # 7x7 conv 128 -> 128 on 32x32: 2 * 49 * 128 * 128 * 1024 FLOPs; im2col (128*49, 1024) float32
    assert "1,644.2" in conv and conv.split()[-1] == f"{128 * 49 * 1024 * 4 / 1e6:.1f}"
    assert table.splitlines()[-1].split()[1] == "1,276,169"


def test_summary_says_which_parameters_its_forward_pass_did_not_run():
    """A GAN's summary runs the generator; the discriminator's parameters are in the total, and it says so."""
    from minitorch_deblur.models.deblurgan import DeblurGAN
    from minitorch_deblur.nn.summary import summary

    model = DeblurGAN(discriminator=True, generator=mt.Generator(0))
    table = summary(model, (1, 3, 32, 32)).splitlines()
    idle = sum(p.numel() for p in model.discriminator.parameters())
    assert table[-1] == (f"(the total includes {idle:,} parameters of layers this forward pass does not run: "
                         "discriminator)")
    assert "(the total includes" not in summary(Win5RB(), (1, 3, 32, 32))
