"""PyTorch habits that must work the same here, or fail loudly: in-place updates, max/min over a dim, the variance's
divisor, clamp's gradient at its bounds. Each of these was a silent wrong result before."""
from __future__ import annotations

import numpy as np
import pytest

import minitorch_deblur as mt
import minitorch_deblur.functional as F
import minitorch_deblur.nn as nn

pytestmark = pytest.mark.lesson0


# --------------------------------------------------------------------------------------------- in place
def test_the_hand_written_sgd_step_changes_the_weights():
    model = nn.Linear(3, 2, generator=mt.Generator(0))
    x = mt.tensor(np.ones((4, 3), np.float32))
    model(x).sum().backward()
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    with mt.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.data, before[name] - 0.1 * p.grad, rtol=1e-6)


def test_every_in_place_operator_and_method_changes_the_array_itself():
    t = mt.tensor(np.array([1.0, 2.0, 3.0, 4.0]))
    data = t.data
    t += 1
    t -= np.array([1.0, 1.0, 1.0, 1.0])
    t *= 2
    t /= 4
    np.testing.assert_allclose(data, [0.5, 1.0, 1.5, 2.0])
    t.add_(mt.tensor(np.ones(4)), alpha=2).sub_(1).mul_(2).div_(2)
    np.testing.assert_allclose(data, [1.5, 2.0, 2.5, 3.0])
    t.clamp_(min=1.8, max=2.6)
    np.testing.assert_allclose(data, [1.8, 2.0, 2.5, 2.6])
    t.copy_(np.arange(4))
    np.testing.assert_allclose(data, [0, 1, 2, 3])
    t.fill_(7)
    np.testing.assert_allclose(data, 7)
    assert t.zero_() is t and t.data is data and not data.any()
    assert t._version == 12


def test_in_place_on_a_leaf_that_requires_grad_raises_pytorchs_error():
    w = mt.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        w += 1
    with pytest.raises(RuntimeError, match="part of the autograd graph"):
        (w * 2).zero_()
    np.testing.assert_allclose(w.data, 1)


def test_changing_a_saved_tensor_in_place_makes_backward_raise():
    x = mt.tensor(np.array([1.0, 2.0, 3.0]))
    w = mt.tensor(np.array([2.0, 2.0, 2.0]), requires_grad=True)
    loss = (x * w).sum()            # mul saves x for dW
    x.add_(1)
    with pytest.raises(RuntimeError, match="input 0 of mul .* modified by an in-place operation"):
        loss.backward()
    y = mt.tensor(np.array([1.0, 2.0, 3.0]))
    loss = (y + w).sum()            # add saves nothing: changing y afterwards is harmless, as in PyTorch
    y.add_(1)
    loss.backward()
    np.testing.assert_allclose(w.grad, 1)


# ------------------------------------------------------------------------------------------- max / min
def test_max_over_a_dim_returns_values_and_indices():
    logits = mt.tensor(np.array([[0.1, 0.9, 0.0], [2.0, -1.0, 0.5]]), requires_grad=True)
    _, pred = logits.max(1)
    assert pred.tolist() == [1, 0]
    values, indices = F.min(logits, dim=1, keepdim=True)
    assert values.shape == (2, 1) and indices.tolist() == [[2], [1]]
    out = logits.max(dim=0)
    assert out.values.tolist() == [2.0, 0.9, 0.5] and out.indices.tolist() == [1, 0, 1]
    out.values.sum().backward()
    np.testing.assert_allclose(logits.grad, [[0, 1, 0], [1, 0, 1]])
    assert float(logits.max()) == 2.0 and logits.max().shape == ()
    with pytest.raises(TypeError, match="one int.*amax"):
        logits.max(dim=(0, 1))


def test_argmax_and_argmin_take_dim_and_keepdim():
    x = mt.tensor(np.array([[3.0, 1.0, 3.0], [0.0, 5.0, -2.0]]))
    assert x.argmax().item() == 4 and x.argmin().item() == 5
    assert x.argmax(dim=1).tolist() == [0, 1] and x.argmin(1, keepdim=True).tolist() == [[1], [2]]
    assert x.argmax(dim=-2, keepdim=True).shape == (1, 3)


# ------------------------------------------------------------------------------------------------- var
def test_var_and_std_divide_by_n_minus_one_like_pytorch():
    data = np.array([[1.0, 2.0, 4.0, 7.0], [0.0, 0.0, 1.0, 3.0]])
    x = mt.tensor(data)
    np.testing.assert_allclose(x.var().item(), data.var(ddof=1))
    np.testing.assert_allclose(x.std(dim=1).numpy(), data.std(axis=1, ddof=1))
    np.testing.assert_allclose(x.var(1, unbiased=False).numpy(), data.var(axis=1))
    np.testing.assert_allclose(x.var(dim=0, correction=0, keepdim=True).numpy(), data.var(axis=0, keepdims=True))
    np.testing.assert_allclose(F.std(x, correction=2).item(), np.sqrt(((data - data.mean()) ** 2).sum() / 6))
    with pytest.raises(ValueError, match="either unbiased= or correction="):
        x.var(unbiased=True, correction=1)


# ----------------------------------------------------------------------------------------------- clamp
def test_clamp_passes_the_gradient_at_its_bounds_like_pytorch():
    x = mt.tensor(np.array([0.0, 1.0, 1.5, 2.0, 3.0]), requires_grad=True)
    x.clamp(1.0, 2.0).sum().backward()
    np.testing.assert_allclose(x.grad, [0, 1, 1, 1, 0])   # torch.clamp gives the same


def test_pytest_q_prints_its_summary_line():
    """`python -m pytest -q` (the README's test command) ends with pytest's 'N passed' line: setup.cfg must not add
    a second -q, which hides it."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          f"{Path(__file__).name}::test_argmax_and_argmin_take_dim_and_keepdim"],
                         cwd=root / "tests", capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout.splitlines()[-1], out.stdout


# ------------------------------------------------------------------------------------------ entry points
def test_the_names_a_pytorch_user_types_first_exist():
    import minitorch_deblur.functional as functional
    import minitorch_deblur.optim as optim

    assert mt.nn is nn and mt.optim is optim and mt.nn.functional is functional
    x = mt.tensor(np.array([[-1.0, 2.0]]))
    assert mt.cat([x, x], 1).shape == (1, 4) and mt.stack([x, x]).shape == (2, 1, 2)
    np.testing.assert_allclose(mt.where(x.data > 0, x, 0.0).numpy(), [[0, 2]])
    np.testing.assert_allclose(mt.relu(x).numpy(), [[0, 2]])
    np.testing.assert_allclose(mt.sigmoid(x).numpy(), 1 / (1 + np.exp([[1.0, -2.0]])), rtol=1e-6)
    np.testing.assert_allclose(mt.tanh(x).numpy(), np.tanh([[-1.0, 2.0]]), rtol=1e-6)
    np.testing.assert_allclose(mt.log(mt.exp(x)).numpy(), x.numpy(), rtol=1e-6)
    array = np.zeros(3, np.float64)
    shared = mt.from_numpy(array)
    array[0] = 4
    assert shared.dtype == mt.float64 and shared.tolist() == [4, 0, 0] and mt.float32 == np.float32
    assert nn.utils.clip_grad_norm_ is optim.clip_grad_norm_


def test_save_and_load_a_state_dict(tmp_path):
    model = nn.Linear(3, 2, generator=mt.Generator(0))
    mt.save(model.state_dict(), tmp_path / "model.pt")
    fresh = nn.Linear(3, 2, generator=mt.Generator(1))
    fresh.load_state_dict(mt.load(tmp_path / "model.pt"))
    np.testing.assert_array_equal(fresh.weight.data, model.weight.data)
    with pytest.raises(TypeError, match="only state dicts"):
        mt.save(model, tmp_path / "whole.pt")


def test_loss_modules_identity_apply_and_zero_grad_set_to_none():
    logits, labels = mt.tensor(np.array([[2.0, 0.0], [0.0, 1.0]]), requires_grad=True), np.array([0, 1])
    assert nn.CrossEntropyLoss()(logits, labels).item() == pytest.approx(F.cross_entropy(logits, labels).item())
    target = mt.tensor(np.zeros((2, 2)))
    assert nn.MSELoss()(logits, target).item() == pytest.approx(5 / 4)
    assert nn.L1Loss(reduction="sum")(logits, target).item() == pytest.approx(3)
    assert nn.BCEWithLogitsLoss()(logits, target).item() == pytest.approx(
        F.binary_cross_entropy_with_logits(logits, target).item())
    seen = []
    model = nn.Sequential(nn.Linear(2, 2), nn.Identity())
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "Identity", "Sequential"]
    model(mt.tensor(np.ones((1, 2)))).sum().backward()
    opt = optim_sgd(model)
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def optim_sgd(model):
    return mt.optim.SGD(model.parameters(), lr=0.1)


def test_a_custom_function_reads_ctx_saved_tensors():
    class Square(mt.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return (2 * x * grad,)
    x = mt.tensor(np.array([3.0]), requires_grad=True)
    Square.apply(x).sum().backward()
    assert x.grad.tolist() == [6.0]


def test_conv2d_padding_same_and_valid():
    x = mt.zeros(1, 2, 7, 6)
    assert nn.Conv2d(2, 3, 5, padding="same")(x).shape == (1, 3, 7, 6)
    assert nn.Conv2d(2, 3, (3, 5), padding="same")(x).shape == (1, 3, 7, 6)
    assert nn.Conv2d(2, 3, 3, padding="valid")(x).shape == (1, 3, 5, 4)
    with pytest.raises(ValueError, match="odd kernel"):
        nn.Conv2d(2, 3, 4, padding="same")


def test_tensor_methods_clone_expand_repeat_masked_fill_gather_eq():
    x = mt.tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), requires_grad=True)
    assert x.dim() == 2 and x.contiguous() is x and float(x.sum()) == 21.0
    y = x.clone()
    assert y.data is not x.data and np.array_equal(y.numpy(), x.numpy())
    assert x[:1].expand(3, -1).shape == (3, 3) and x.repeat(2, 2).shape == (4, 6)
    np.testing.assert_array_equal(x.repeat(1, 2).numpy(), np.tile(x.numpy(), (1, 2)))
    np.testing.assert_array_equal(x.masked_fill(x.data > 4, 0.0).numpy(), [[1, 2, 3], [4, 0, 0]])
    picked = x.gather(1, np.array([[2, 2], [0, 1]]))
    np.testing.assert_array_equal(picked.numpy(), [[3, 3], [4, 5]])
    (picked.sum() + y.sum()).backward()
    np.testing.assert_array_equal(x.grad, [[1, 1, 3], [2, 2, 1]])
    assert x.eq(2.0).tolist() == [[False, True, False], [False, False, False]]


def test_schedulers_cosine_and_multistep_follow_pytorch():
    def lrs(make, epochs):
        opt = mt.optim.SGD([mt.tensor(np.zeros(1), requires_grad=True)], lr=1.0)
        sched, out = make(opt), []
        for _ in range(epochs):
            out.append(opt.param_groups[0]["lr"])
            sched.step()
        return out
    np.testing.assert_allclose(lrs(lambda o: mt.optim.lr_scheduler.MultiStepLR(o, [2, 4], 0.5), 6),
                               [1, 1, 0.5, 0.5, 0.25, 0.25])
    np.testing.assert_allclose(lrs(lambda o: mt.optim.CosineAnnealingLR(o, T_max=4, eta_min=0.1), 5),
                               [0.1 + 0.9 * (1 + np.cos(np.pi * e / 4)) / 2 for e in range(5)])


def test_data_loader_over_a_tuple_of_arrays_or_a_list_of_pairs():
    from minitorch_deblur.data import DataLoader

    images, labels = np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5)
    batches = list(DataLoader((images, labels), batch_size=2))
    assert [b[0].shape for b in batches] == [(2, 2), (2, 2), (1, 2)] and batches[2][1].tolist() == [4]
    pairs = [(images[i], labels[i]) for i in range(5)]
    (x, y), = list(DataLoader(pairs, batch_size=5))
    np.testing.assert_array_equal(x, images) and np.testing.assert_array_equal(y, labels)


def test_names_we_do_not_provide_say_what_to_use_instead():
    with pytest.raises(AttributeError, match="no nn.functional.gelu in this framework; the activations are relu"):
        F.gelu
    with pytest.raises(AttributeError, match="no optim.RMSprop in this framework; the optimisers are SGD, Adam"):
        mt.optim.RMSprop
    with pytest.raises(AttributeError, match="no minitorch_deblur.linspace in this framework; it has: .*zeros"):
        mt.linspace


def test_grad_is_an_array_that_answers_zero_():
    w = mt.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (w * w).sum().backward()
    assert isinstance(w.grad, np.ndarray) and w.grad.tolist() == [2.0, 4.0]
    assert w.grad.zero_() is w.grad and not w.grad.any()
    (w * w).sum().backward()                     # accumulates onto the zeros, as in PyTorch
    assert w.grad.tolist() == [2.0, 4.0]
