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
