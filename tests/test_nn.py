"""nn: Module bookkeeping, containers, layer defaults (PyTorch's init), checkpoints and train/eval behaviour."""
import math
from collections import OrderedDict

import numpy as np
import pytest

import minitorch_deblur as mt
from minitorch_deblur import nn
from minitorch_deblur.functional.activation import relu
from minitorch_deblur.functional.reduce import sum as msum
from minitorch_deblur.nn import init

lesson1, lesson2, lesson5 = pytest.mark.lesson1, pytest.mark.lesson2, pytest.mark.lesson5


class Net(nn.Module):
    """conv -> bn -> relu -> flatten -> dropout -> linear: every kind of registration in one model."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        g = mt.Generator(seed)
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, generator=g), nn.BatchNorm2d(4), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(4 * 5 * 5, 3, generator=g))

    def forward(self, x):
        return self.head(self.features(x))


class MLP(nn.Module):
    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        g = mt.Generator(seed)
        self.fc1 = nn.Linear(6, 5, generator=g)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(5, 2, generator=g)

    def forward(self, x):
        return self.fc2(self.drop(relu(self.fc1(x))))


def _x(shape, seed=1):
    return mt.tensor(mt.Generator(seed).normal(0, 1, shape))


# ------------------------------------------------------------------------------------------------ parameters
@lesson1
def test_parameter_is_float_and_requires_grad():
    p = nn.Parameter(np.arange(3))
    assert p.requires_grad and p.dtype == np.float32 and p.is_leaf
    assert nn.Parameter(np.zeros(2)).dtype == np.float64           # float64 kept (gradient checks)
    assert repr(p).startswith("Parameter containing:")


@lesson1
def test_linear_parameter_count_and_shapes():
    fc = nn.Linear(784, 256)
    assert fc.num_parameters() == 200_960
    assert fc.weight.shape == (256, 784) and fc.bias.shape == (256,)
    assert fc.weight.dtype == np.float32
    nobias = nn.Linear(4, 3, bias=False)
    assert nobias.bias is None and nobias.num_parameters() == 12
    assert [n for n, _ in nobias.named_parameters()] == ["weight"]


@lesson2
def test_conv_and_bn_parameter_counts():
    assert nn.Conv2d(1, 32, 3).num_parameters() == 320
    assert nn.Conv2d(1, 32, 3).weight.shape == (32, 1, 3, 3)
    assert nn.Conv2d(3, 8, (3, 5), bias=False).num_parameters() == 8 * 3 * 15
    assert nn.BatchNorm2d(16).num_parameters() == 32


@lesson5
def test_conv_transpose_and_instance_norm_parameters():
    ct = nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
    assert ct.weight.shape == (16, 8, 4, 4) and ct.bias.shape == (8,)
    assert ct.num_parameters() == 16 * 8 * 16 + 8
    assert nn.InstanceNorm2d(8).num_parameters() == 0
    assert nn.InstanceNorm2d(8, affine=True).num_parameters() == 16


# ------------------------------------------------------------------------------------------------ init
def _check_uniform(a, bound):
    a = np.asarray(a.data, np.float64)
    assert np.abs(a).max() <= bound
    assert np.abs(a).max() > 0.97 * bound                          # it really uses the whole range
    assert a.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)


@lesson1
def test_linear_default_init_is_pytorch_bound():
    fc = nn.Linear(400, 300)
    _check_uniform(fc.weight, 1 / math.sqrt(400))
    assert np.abs(fc.bias.data).max() <= 1 / math.sqrt(400)
    assert np.abs(fc.bias.data).max() > 0.9 / math.sqrt(400)


@lesson2
def test_conv_default_init_bound_uses_fan_in():
    conv = nn.Conv2d(16, 64, 3)
    _check_uniform(conv.weight, 1 / math.sqrt(16 * 9))
    assert np.abs(conv.bias.data).max() <= 1 / math.sqrt(16 * 9)
    bn = nn.BatchNorm2d(5)
    np.testing.assert_array_equal(bn.weight.data, np.ones(5))
    np.testing.assert_array_equal(bn.bias.data, np.zeros(5))
    np.testing.assert_array_equal(bn.running_var, np.ones(5))


@lesson5
def test_conv_transpose_fan_in_from_weight_dim1():
    ct = nn.ConvTranspose2d(64, 16, 3)                            # weight (64, 16, 3, 3): fan_in 16 * 9, not 64 * 9
    _check_uniform(ct.weight, 1 / math.sqrt(16 * 9))
    assert np.abs(ct.bias.data).max() <= 1 / math.sqrt(16 * 9)
    assert np.abs(ct.bias.data).max() > 1 / math.sqrt(64 * 9)


@lesson1
def test_calculate_gain():
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("conv2d") == init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    with pytest.raises(ValueError, match="unsupported"):
        init.calculate_gain("swish")


@lesson1
@pytest.mark.parametrize("fn, expected_std", [
    (lambda w: init.kaiming_normal_(w, nonlinearity="relu"), math.sqrt(2 / 512)),
    (lambda w: init.kaiming_uniform_(w, nonlinearity="relu"), math.sqrt(2 / 512)),
    (lambda w: init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 256)),
    (lambda w: init.kaiming_uniform_(w, a=0.2, mode="fan_out"), math.sqrt(2 / 1.04 / 256)),
    (lambda w: init.xavier_uniform_(w), math.sqrt(2 / (512 + 256))),
    (lambda w: init.xavier_normal_(w, gain=5 / 3), 5 / 3 * math.sqrt(2 / (512 + 256))),
    (lambda w: init.normal_(w, 0.0, 0.02), 0.02),
    (lambda w: init.uniform_(w, -0.5, 0.5), 1 / math.sqrt(12)),
])
def test_init_statistics(fn, expected_std):
    w = nn.Parameter(np.zeros((256, 512), np.float32))            # fan_in 512, fan_out 256
    array = w.data
    assert fn(w) is w and w.data is array and w.dtype == np.float32  # in place
    assert w.data.std() == pytest.approx(expected_std, rel=0.03)
    assert abs(float(w.data.mean())) < 0.05 * expected_std * 10


@lesson1
def test_init_conv_fans_and_uniform_bounds():
    w = nn.Parameter(np.zeros((64, 32, 3, 3), np.float32))         # fan_in 288, fan_out 576
    init.xavier_uniform_(w)
    bound = math.sqrt(6 / (288 + 576))
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.97 * bound
    init.kaiming_uniform_(w, a=math.sqrt(5))
    assert np.abs(w.data).max() <= 1 / math.sqrt(288)
    with pytest.raises(ValueError, match="at least 2 dims"):
        init.xavier_uniform_(nn.Parameter(np.zeros(3, np.float32)))


@lesson1
def test_constant_inits():
    w = nn.Parameter(np.ones((2, 3), np.float32))
    init.zeros_(w)
    assert not w.data.any()
    init.ones_(w)
    assert (w.data == 1).all()
    init.constant_(w, 0.25)
    assert (w.data == 0.25).all() and w.dtype == np.float32


@lesson1
def test_init_is_reproducible_from_generators_and_manual_seed():
    a, b = nn.Linear(5, 4, generator=mt.Generator(7)), nn.Linear(5, 4, generator=mt.Generator(7))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, nn.Linear(5, 4, generator=mt.Generator(8)).weight.data)
    mt.manual_seed(3)
    c = nn.Linear(5, 4)
    mt.manual_seed(3)
    np.testing.assert_array_equal(c.weight.data, nn.Linear(5, 4).weight.data)


# ------------------------------------------------------------------------------------------------ registration
@lesson1
def test_named_parameters_children_modules_buffers():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias", "head.2.weight",
        "head.2.bias"]
    assert [n for n, _ in net.named_children()] == ["features", "head"]
    assert len(list(net.modules())) == 9                           # net + 2 Sequentials + 6 layers
    assert [n for n, _ in net.named_buffers()] == [
        "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked"]
    assert net.num_parameters() == 4 * 9 + 4 + 4 + 4 + 100 * 3 + 3


@lesson1
def test_shared_parameters_are_listed_once_and_assignment_rules():
    fc = nn.Linear(3, 3)
    seq = nn.Sequential(fc, nn.ReLU(), fc)
    assert len(list(seq.parameters())) == 2
    m = nn.Module()
    m.register_buffer("stat", np.zeros(2, np.float32))
    m.stat = np.ones(2, np.float32)                                # re-assignment keeps it a buffer
    assert [n for n, _ in m.named_buffers()] == ["stat"] and m.stat[0] == 1
    with pytest.raises(TypeError, match="expected a Parameter"):
        fc.weight = np.zeros((3, 3))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        fc.nothing


@lesson1
def test_train_eval_recurse_and_zero_grad():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    for p in net.parameters():
        p.grad = np.ones_like(p.data)
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


@lesson1
def test_to_cpu_keeps_the_same_parameter_objects():
    net = Net()
    before = list(net.parameters())
    assert net.to("cpu") is net and net.device == "cpu"
    assert all(a is b for a, b in zip(before, net.parameters()))


# ------------------------------------------------------------------------------------------------ containers
@lesson1
def test_sequential_indexing_len_iter_and_ordereddict():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c and list(seq) == [a, b, c]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[1] is b
    with pytest.raises(IndexError, match="out of range"):
        seq[3]
    named = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    assert named.fc is a
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(a, lambda x: x)


@lesson1
def test_module_list_registers_parameters():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    layers.append(nn.Linear(2, 1))
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    assert [n for n, _ in layers.named_parameters()][-1] == "2.bias"
    assert layers[-1].out_features == 1


@lesson1
def test_repr_is_nested_like_pytorch():
    seq = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Sequential(nn.Dropout(0.2), nn.Linear(256, 10)))
    assert repr(seq) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=256, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Dropout(p=0.2)\n"
        "    (1): Linear(in_features=256, out_features=10, bias=True)\n"
        "  )\n"
        ")")
    assert repr(nn.BatchNorm2d(8)) == "BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"


@lesson2
def test_conv_repr():
    assert repr(nn.Conv2d(1, 32, 3)) == "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(nn.Conv2d(3, 8, 5, stride=2, padding=2, bias=False)) == (
        "Conv2d(3, 8, kernel_size=(5, 5), stride=(2, 2), padding=(2, 2), bias=False)")


# ------------------------------------------------------------------------------------------------ forward/backward
@lesson1
def test_mlp_forward_backward_shapes():
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Dropout(0.3, generator=mt.Generator(0)), nn.Linear(5, 2))
    x = _x((4, 6))
    y = model(x)
    assert y.shape == (4, 2) and y.dtype == np.float32
    msum(y * y).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
    assert np.abs(model[0].weight.grad).sum() > 0


@lesson1
def test_dropout_identity_in_eval_and_seeded_in_train():
    x = mt.tensor(np.ones((50, 40), np.float32))
    drop = nn.Dropout(0.25, generator=mt.Generator(1))
    y = drop(x).numpy()
    zeros = (y == 0).mean()
    assert 0.2 < zeros < 0.3
    np.testing.assert_allclose(y[y != 0], 1 / 0.75, rtol=1e-6)
    again = nn.Dropout(0.25, generator=mt.Generator(1))(x).numpy()
    np.testing.assert_array_equal(y, again)
    drop.eval()
    np.testing.assert_array_equal(drop(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match="p=1.5"):
        nn.Dropout(1.5)


@lesson2
def test_batchnorm2d_train_updates_running_stats_and_eval_uses_them():
    bn = nn.BatchNorm2d(3, momentum=0.1)
    x = mt.tensor(mt.Generator(2).normal(2.0, 3.0, (8, 3, 4, 4)))
    y_train = bn(x).numpy()
    xs = x.numpy().astype(np.float64)
    np.testing.assert_allclose(y_train.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(bn.running_mean, 0.1 * xs.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * xs.var(axis=(0, 2, 3), ddof=1), rtol=1e-5)
    assert int(bn.num_batches_tracked) == 1
    bn.eval()
    y_eval = bn(x).numpy()
    assert not np.allclose(y_eval, y_train, atol=1e-2)
    rm, rv = bn.running_mean.reshape(1, 3, 1, 1), bn.running_var.reshape(1, 3, 1, 1)
    np.testing.assert_allclose(y_eval, (xs - rm) / np.sqrt(rv + 1e-5), rtol=1e-4, atol=1e-5)
    assert int(bn.num_batches_tracked) == 1                         # eval does not count


@lesson2
def test_batchnorm_rank_and_channel_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\).*4-D.*\(8, 3\)"):
        nn.BatchNorm2d(3)(_x((8, 3)))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\).*\(2, 5, 4, 4\) has 5 channels"):
        nn.BatchNorm2d(3)(_x((2, 5, 4, 4)))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4\)"):
        nn.BatchNorm1d(4)(_x((2, 4, 3, 3)))
    y = nn.BatchNorm1d(4)(_x((16, 4)))
    np.testing.assert_allclose(y.numpy().std(axis=0), 1, rtol=1e-3)


@lesson5
def test_instance_norm_normalises_each_plane():
    x = mt.tensor(mt.Generator(3).normal(1.0, 2.0, (2, 3, 5, 5)))
    y = nn.InstanceNorm2d(3)(x).numpy()
    np.testing.assert_allclose(y.mean(axis=(2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=(2, 3)), 1, rtol=1e-3)
    with pytest.raises(ValueError, match=r"InstanceNorm2d\(4\)"):
        nn.InstanceNorm2d(4)(x)


@lesson2
def test_conv_model_forward_backward_shapes():
    net = Net()
    y = net(_x((2, 1, 5, 5)))
    assert y.shape == (2, 3)
    msum(y * y).backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())


@lesson5
def test_conv_transpose_output_shape():
    ct = nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1)
    assert ct(_x((1, 4, 6, 6))).shape == (1, 2, 12, 12)
    assert nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)(_x((1, 4, 5, 5))).shape == (1, 2, 10, 10)


@lesson2
def test_pooling_upsample_flatten_identity_shapes():
    x = _x((2, 3, 8, 8))
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)(x).shape == (2, 3, 8, 8)
    assert nn.Upsample(scale_factor=2)(x).shape == (2, 3, 16, 16)
    assert nn.Flatten()(x).shape == (2, 192)
    assert nn.Identity(54, unused=1)(x) is x
    with pytest.raises(ValueError, match="only mode='nearest'"):
        nn.Upsample(2, mode="bilinear")


# ------------------------------------------------------------------------------------------------ checkpoints
@lesson1
def test_state_dict_keys_are_copies_in_order():
    net = Net()
    sd = net.state_dict()
    assert list(sd) == ["features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                        "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked",
                        "head.2.weight", "head.2.bias"]
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    sd["head.2.bias"][:] = 99
    assert not (net.head[2].bias.data == 99).any()


@lesson2
def test_state_dict_round_trip_gives_identical_outputs():
    a, b = Net(seed=0), Net(seed=1)
    a(_x((4, 1, 5, 5), seed=5))                                     # move a's running stats off their defaults
    a.eval()
    b.eval()
    x = _x((3, 1, 5, 5))
    assert not np.allclose(a(x).numpy(), b(x).numpy())
    arrays = [p.data for p in b.parameters()]
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    assert all(p.data is arr for p, arr in zip(b.parameters(), arrays))  # loaded in place, same device
    np.testing.assert_array_equal(b.features[1].running_mean, a.features[1].running_mean)


@lesson1
def test_load_state_dict_error_names_every_bad_key():
    model = MLP()
    sd = model.state_dict()
    del sd["fc2.bias"]
    sd["fc3.weight"] = np.zeros((2, 5), np.float32)
    sd["fc1.weight"] = np.zeros((7, 6), np.float32)
    before = model.fc2.weight.data.copy()
    sd["fc2.weight"] = before + 1
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(sd)
    text = str(err.value)
    assert "missing keys: fc2.bias" in text
    assert "unexpected keys: fc3.weight" in text
    assert "fc1.weight: model expects (5, 6), checkpoint has (7, 6)" in text
    np.testing.assert_array_equal(model.fc2.weight.data, before)    # nothing loaded on error

    del sd["fc1.weight"]
    result = model.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["fc1.weight", "fc2.bias"] and result.unexpected_keys == ["fc3.weight"]
    np.testing.assert_array_equal(model.fc2.weight.data, before + 1)


# ------------------------------------------------------------------------------------------------ GPU
@pytest.mark.gpu
@pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA device")
def test_to_cuda_moves_in_place_and_checkpoints_keep_device():
    from minitorch_deblur import optim

    net = Net()
    opt = optim.Adam(net.parameters(), lr=1e-3)                    # built before .to: must keep working
    x = _x((2, 1, 5, 5))
    y_cpu = net.eval()(x).numpy()
    params = list(net.parameters())
    net.to("cuda")
    assert all(a is b and a.device == "cuda" for a, b in zip(params, net.parameters()))
    assert all(mt.backend.device_of(b) == "cuda" for b in net.buffers())
    np.testing.assert_allclose(net(x.to("cuda")).numpy(), y_cpu, rtol=1e-4, atol=1e-5)
    net.train()
    msum(net(x.to("cuda"))).backward()
    opt.step()
    assert all(p.device == "cuda" for p in net.parameters())
    sd = net.state_dict()
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    net.load_state_dict(sd)
    assert all(p.device == "cuda" for p in net.parameters())
    assert all(isinstance(v, np.ndarray) for s in opt.state_dict()["state"].values() for v in s.values()
               if hasattr(v, "shape"))
