"""nn/fusion.py: the GPU's Conv2d + ReLU / LeakyReLU fusion, checked on NumPy against the plain model."""
import copy

import numpy as np
import pytest

from minitorch_deblur import Tensor, nn
from minitorch_deblur.backend import Generator
from minitorch_deblur.nn.fusion import Conv2dActivation, fuse


def _model(act: nn.Module) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, generator=Generator(0)), act,
                         nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect", generator=Generator(1)), act,
                         nn.Conv2d(4, 4, 1, bias=False, generator=Generator(3)), nn.ReLU(),
                         nn.Sequential(nn.Conv2d(4, 2, 3, stride=2, padding=1, generator=Generator(2)), act))


@pytest.mark.parametrize("activation", ["relu", "leaky"])
def test_a_fused_model_equals_the_plain_one(activation):
    """Values and every gradient; the state_dict keys stay; fusing twice changes nothing."""
    plain = _model(nn.ReLU() if activation == "relu" else nn.LeakyReLU(0.2))
    fused = fuse(fuse(copy.deepcopy(plain)))
    kinds = [type(m).__name__ for m in fused.modules()]
    assert kinds.count("Conv2dActivation") == 3   # the bias-free conv is left as it is
    assert kinds.count("Identity") == 3 and kinds.count("ReLU") == 1
    assert list(fused.state_dict()) == list(plain.state_dict())
    x = np.random.default_rng(5).standard_normal((2, 3, 6, 7))
    results = []
    for net in (plain, fused):
        t = Tensor(x, requires_grad=True)
        y = net(t)
        y.backward(np.cos(np.arange(y.data.size)).reshape(y.shape))
        results.append([y.data, t.grad] + [p.grad for p in net.parameters()])
    for want, got in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_fusion_shares_the_parameters_and_only_touches_sequentials():
    """The optimiser's Parameter objects stay the model's; a custom forward's children are never fused (their
    registration order need not be their call order)."""
    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.act = nn.Conv2d(2, 2, 3, padding=1, generator=Generator(0)), nn.ReLU()

        def forward(self, x):
            return self.act(self.conv(x) + x)

    model = nn.Sequential(Residual(), nn.Conv2d(2, 2, 1, generator=Generator(1)), nn.ReLU())
    before = [id(p) for p in model.parameters()]
    fuse(model)
    assert [id(p) for p in model.parameters()] == before
    assert type(model[0].conv) is nn.Conv2d and type(model[1]) is Conv2dActivation


def test_only_a_gpu_fuses():
    model = nn.Sequential(nn.Conv2d(2, 2, 3, generator=Generator(0)), nn.ReLU())
    assert type(model.to("cpu")[0]) is nn.Conv2d
