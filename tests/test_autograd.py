"""The engine itself: graph walk, accumulation, broadcasting, no_grad, retain_graph, dtypes and devices."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch_deblur as mt
import minitorch_deblur.functional as F
from minitorch_deblur import autograd, backend

pytestmark = pytest.mark.lesson0


def test_hand_computed_graph():
    # f(a, b) = (a * b + a) ** 2 ; df/da = 2 (ab + a)(b + 1), df/db = 2 (ab + a) a
    a = mt.tensor(3.0, requires_grad=True)
    b = mt.tensor(-2.0, requires_grad=True)
    f = (a * b + a) ** 2
    f.backward()
    assert f.item() == pytest.approx(9.0)
    assert a.grad == pytest.approx(2 * (-3.0) * (-1.0))
    assert b.grad == pytest.approx(2 * (-3.0) * 3.0)


def test_diamond_graph_sums_both_paths():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    z = y * y + y  # y feeds two ops: dz/dx = (2y + 1) * 3
    z.sum().backward()
    np.testing.assert_allclose(x.grad, (2 * np.array([3.0, 6.0]) + 1) * 3)


def test_same_tensor_twice_in_one_op():
    x = mt.tensor([2.0, -1.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [4.0, -2.0])


def test_gradients_accumulate_until_zero_grad():
    w = mt.tensor([1.0, 2.0], requires_grad=True)
    (w * 2).sum().backward()
    (w * 3).sum().backward()
    np.testing.assert_allclose(w.grad, [5.0, 5.0])
    w.zero_grad()
    assert w.grad is None
    (w * 4).sum().backward()
    np.testing.assert_allclose(w.grad, [4.0, 4.0])


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((5, 1, 3), (2, 1)), ((), (2, 2)), ((1,), (3, 1))]))
def test_broadcast_gradient_is_reduced_to_input_shape(shapes):
    sa, sb = shapes
    rng = np.random.default_rng(0)
    a = mt.tensor(rng.normal(size=sa), requires_grad=True, dtype=np.float64)
    b = mt.tensor(rng.normal(size=sb), requires_grad=True, dtype=np.float64)
    out = a * b
    out.backward(np.ones(out.shape))
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    full_b = np.broadcast_to(b.data, out.shape)
    expected_a = full_b.sum(axis=tuple(range(out.ndim - a.ndim))) if out.ndim > a.ndim else full_b
    expected_a = expected_a.sum(axis=tuple(i for i, s in enumerate(a.shape) if s == 1), keepdims=True)
    np.testing.assert_allclose(a.grad, expected_a.reshape(a.shape))


def test_deep_chain_needs_no_recursion():
    x = mt.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):  # a recursive walk would blow Python's stack at ~1000
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** 5000, rel=1e-4)


def test_no_grad_records_nothing():
    x = mt.tensor([1.0], requires_grad=True)
    with mt.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert mt.is_grad_enabled()

    @mt.no_grad()
    def f(t):
        return t * 3

    assert f(x).grad_fn is None


def test_backward_without_retain_graph_frees_it():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * (np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0]))), rtol=1e-6)
    with pytest.raises(RuntimeError, match="already freed.*retain_graph=True"):
        y.backward()


def test_non_scalar_backward_needs_grad():
    x = mt.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\).*pass grad="):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"grad has shape \(3,\) but the tensor has shape \(2, 3\)"):
        (x * 2).backward(np.ones(3))


def test_backward_on_constant_says_why():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (mt.tensor([1.0]) * 2).sum().backward()


def test_retain_grad_keeps_intermediate_gradient():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, [6.0, 12.0])
    np.testing.assert_allclose(x.grad, [18.0, 36.0])


def test_float32_stays_float32_with_python_scalars():
    x = mt.tensor(np.ones((2, 2), np.float32), requires_grad=True)
    y = (2.5 * x - 1.0) / 3.0 + x ** 2
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_reflected_operators():
    x = mt.tensor([2.0, 4.0], requires_grad=True)
    y = (1.0 - x) + (8.0 / x) + 2.0 ** x
    np.testing.assert_allclose(y.numpy(), 1 - x.numpy() + 8 / x.numpy() + 2 ** x.numpy(), rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, -1 - 8 / x.numpy() ** 2 + np.log(2) * 2 ** x.numpy(), rtol=1e-5)


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        mt.tensor([1, 2], requires_grad=True)


def test_mixing_devices_names_the_op_and_devices(monkeypatch):
    a, b = mt.tensor(np.ones(3)), mt.tensor(np.ones(3))
    monkeypatch.setattr(autograd, "device_of", lambda arr: "cuda" if arr is b.data else "cpu")
    with pytest.raises(RuntimeError, match=r"mul: inputs are on different devices \(\(3,\) on cpu, \(3,\) on cuda\)"):
        F.mul(a, b)


@pytest.mark.skipif(backend.gpu_available(), reason="checks the message shown when no GPU is usable")
def test_cuda_without_gpu_is_one_clear_sentence():
    with pytest.raises(RuntimeError, match=r"device 'cuda' was requested but no GPU is usable.*device='cpu'"):
        mt.tensor([1.0]).to("cuda")
    assert backend.resolve_device("auto") == "cpu"


def test_seeded_generator_is_reproducible():
    a = mt.randn(3, 4, generator=mt.Generator(7))
    b = mt.randn(3, 4, generator=mt.Generator(7))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == np.float32
    mt.manual_seed(3)
    c = mt.rand(5)
    mt.manual_seed(3)
    np.testing.assert_array_equal(c.numpy(), mt.rand(5).numpy())


def test_detach_and_item_and_repr():
    x = mt.tensor([[1.5]], requires_grad=True)
    y = x * 2
    assert y.detach().grad_fn is None and not y.detach().requires_grad
    assert y.item() == 3.0
    assert "grad_fn=<Mul>" in repr(y)
    with pytest.raises(ValueError, match="one-element"):
        mt.ones(2).item()


@pytest.mark.lesson0
def test_graph_keeps_saved_arrays_not_every_activation():
    """An intermediate that no operation saved is freed once the caller drops it (as in PyTorch); one that the
    caller still holds gets its .grad with retain_grad, and leaves get theirs."""
    import gc
    import weakref

    x = mt.tensor(np.ones((4, 5)), requires_grad=True)
    hidden = x + 1.0                     # add saves nothing for backward
    dropped = weakref.ref(hidden)
    kept = hidden * 3.0
    kept.retain_grad()
    loss = (kept * kept).sum()
    del hidden
    gc.collect()
    assert dropped() is None
    loss.backward()
    np.testing.assert_allclose(kept.grad, 2 * kept.numpy())
    np.testing.assert_allclose(x.grad, 2 * kept.numpy() * 3.0)


def test_reuse_freed_memory_takes_effect_on_glibc():
    """The training command's malloc setting: True on Linux with glibc (this project's machines), harmless twice."""
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc's mallopt only")
    assert backend.reuse_freed_memory() and backend.reuse_freed_memory()
