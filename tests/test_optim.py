"""Optimisers, schedules and clipping against hand-computed PyTorch update rules."""
import copy

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minitorch_deblur as mt
from minitorch_deblur import optim
from minitorch_deblur.functional.linalg import linear
from minitorch_deblur.functional.reduce import mean, sum as msum
from minitorch_deblur.nn import Parameter

pytestmark = pytest.mark.lesson1

P0 = np.array([0.5, -1.0, 2.0], dtype=np.float32)
GRADS = [np.array(g, dtype=np.float32) for g in ([0.1, -0.2, 0.3], [0.4, 0.0, -0.5], [-0.3, 0.2, 0.1])]


def _run(opt_factory, grads=GRADS, p0=P0):
    """Apply the optimiser to one parameter with the given gradient sequence; return the parameter values."""
    p = Parameter(p0.copy())
    opt = opt_factory([p])
    out = []
    for g in grads:
        p.grad = g
        opt.step()
        out.append(p.data.copy())
    return p, opt, out


# ------------------------------------------------------------------------------------------------ Adam
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam_matches_closed_form(wd):
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    _, _, got = _run(lambda ps: optim.Adam(ps, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd))
    p = P0.astype(np.float64)
    m = np.zeros(3)
    v = np.zeros(3)
    for t, g in enumerate(GRADS, start=1):
        g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(got[t - 1], p, rtol=1e-5, atol=1e-7)
    assert got[-1].dtype == np.float32


def test_adam_first_step_is_lr_times_sign():
    """With bias correction, Adam's first step is lr * g / (|g| + eps) ~ lr * sign(g)."""
    _, _, got = _run(lambda ps: optim.Adam(ps, lr=0.1), grads=GRADS[:1])
    np.testing.assert_allclose(got[0], P0 - 0.1 * np.sign(GRADS[0]), rtol=1e-5)


def test_adamw_decays_decoupled():
    lr, wd = 0.01, 0.5
    _, _, got = _run(lambda ps: optim.AdamW(ps, lr=lr, weight_decay=wd), grads=GRADS[:1])
    g = GRADS[0].astype(np.float64)
    expected = P0 * (1 - lr * wd) - lr * g / (np.abs(g) + 1e-8)
    np.testing.assert_allclose(got[0], expected, rtol=1e-5)


# ------------------------------------------------------------------------------------------------ SGD
def _sgd_reference(lr, momentum=0.0, dampening=0.0, wd=0.0, nesterov=False):
    p, buf, out = P0.astype(np.float64), None, []
    for g in GRADS:
        d = g + wd * p
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + (1 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        p = p - lr * d
        out.append(p)
    return out


@pytest.mark.parametrize("kw", [
    dict(), dict(momentum=0.9), dict(momentum=0.9, dampening=0.3), dict(momentum=0.9, nesterov=True),
    dict(weight_decay=0.1), dict(momentum=0.5, weight_decay=0.2, nesterov=True),
])
def test_sgd_matches_hand_computed(kw):
    _, _, got = _run(lambda ps: optim.SGD(ps, lr=0.1, **kw))
    ref = _sgd_reference(0.1, kw.get("momentum", 0.0), kw.get("dampening", 0.0), kw.get("weight_decay", 0.0),
                         kw.get("nesterov", False))
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_sgd_plain_first_step_by_hand():
    _, _, got = _run(lambda ps: optim.SGD(ps, lr=0.5), grads=GRADS[:1])
    np.testing.assert_allclose(got[0], [0.5 - 0.05, -1.0 + 0.1, 2.0 - 0.15], rtol=1e-6)


def test_sgd_rejects_bad_nesterov_and_empty_params():
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([Parameter(P0)], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)


# ------------------------------------------------------------------------------------------------ base class
@pytest.mark.parametrize("factory", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: optim.Adam(ps)])
def test_step_is_in_place_never_touches_grad_and_skips_none(factory):
    p, q = Parameter(P0.copy()), Parameter(P0.copy())
    opt = factory([p, q])
    array, g = p.data, GRADS[0].copy()
    p.grad = g
    opt.step()
    assert p.data is array and p.data.dtype == np.float32
    np.testing.assert_array_equal(g, GRADS[0])          # the gradient array was not written
    assert not np.array_equal(p.data, P0)
    np.testing.assert_array_equal(q.data, P0)          # grad None: untouched, no state
    assert opt.state_of(q) == {}


def test_param_groups_with_their_own_lr():
    a, b = Parameter(np.zeros(2, np.float32)), Parameter(np.zeros(2, np.float32))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=1.0, momentum=0.0)
    assert [g["lr"] for g in opt.param_groups] == [1.0, 0.01]
    assert opt.param_groups[1]["momentum"] == 0.0
    a.grad = np.ones(2, np.float32)
    b.grad = np.ones(2, np.float32)
    opt.step()
    np.testing.assert_allclose(a.data, [-1.0, -1.0])
    np.testing.assert_allclose(b.data, [-0.01, -0.01])
    with pytest.raises(ValueError, match="more than one group"):
        opt.add_param_group({"params": [a]})


def test_zero_grad_sets_none():
    p = Parameter(P0.copy())
    opt = optim.Adam([p])
    p.grad = GRADS[0]
    opt.zero_grad()
    assert p.grad is None


def _quadratic_losses(opt, p, target, steps):
    for _ in range(steps):
        opt.zero_grad()
        msum((p - target) * (p - target) * mt.tensor([1.0, 2.0, 3.0])).backward()
        opt.step()
    return p.data.copy()


@pytest.mark.parametrize("make", [lambda ps: optim.Adam(ps, lr=0.05),
                                  lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True)])
def test_optimizer_state_dict_resumes_identically(make):
    target = mt.tensor([1.0, 2.0, -3.0])
    p = Parameter(P0.copy())
    opt = make([p])
    _quadratic_losses(opt, p, target, 3)
    saved_p, saved_opt = p.data.copy(), copy.deepcopy(opt.state_dict())
    straight = _quadratic_losses(opt, p, target, 4)

    p2 = Parameter(saved_p)
    opt2 = make([p2])
    opt2.load_state_dict(saved_opt)
    resumed = _quadratic_losses(opt2, p2, target, 4)
    np.testing.assert_array_equal(resumed, straight)
    # and the loaded state is a copy, not shared with the dict
    state = next(iter(opt2.state.values()))
    assert all(v is not saved_opt["state"][0].get(k) for k, v in state.items())


def test_optimizer_load_state_dict_rejects_other_model():
    opt = optim.Adam([Parameter(P0.copy())])
    other = optim.Adam([Parameter(P0.copy()), Parameter(P0.copy())])
    with pytest.raises(ValueError, match="same model"):
        opt.load_state_dict(other.state_dict())


def test_adam_fits_least_squares():
    g = mt.Generator(0)
    x = g.normal(0, 1, (64, 5))
    w_true = np.array([[1.5, -2.0, 0.5, 3.0, -1.0]], dtype=np.float32)
    y = mt.tensor(x @ w_true.T + 0.7)
    w = Parameter(np.zeros((1, 5), np.float32))
    b = Parameter(np.zeros(1, np.float32))
    opt = optim.Adam([w, b], lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        err = linear(mt.tensor(x), w, b) - y
        loss = mean(err * err)
        loss.backward()
        opt.step()
    assert loss.item() < 1e-4
    np.testing.assert_allclose(w.data, w_true, atol=1e-2)


# ------------------------------------------------------------------------------------------------ schedules
def test_step_lr_sequence():
    opt = optim.SGD([Parameter(P0.copy())], lr=1.0)
    sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    lrs = []
    for _ in range(6):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    np.testing.assert_allclose(lrs, [1.0, 1.0, 0.5, 0.5, 0.25, 0.25])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.125)


def test_exponential_lr_sequence_per_group_and_state_dict():
    a, b = Parameter(P0.copy()), Parameter(P0.copy())
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=1.0)
    sched = optim.ExponentialLR(opt, gamma=0.9)
    for _ in range(3):
        sched.step()
    np.testing.assert_allclose(sched.get_last_lr(), [0.9 ** 3, 0.1 * 0.9 ** 3])
    state = sched.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 3

    opt2 = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=1.0)
    sched2 = optim.ExponentialLR(opt2, gamma=0.9)
    sched2.load_state_dict(state)
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr()
    assert opt2.param_groups[1]["lr"] == pytest.approx(0.1 * 0.9 ** 4)


# ------------------------------------------------------------------------------------------------ clipping
def test_clip_grad_norm_scales_to_max_norm():
    a, b = Parameter(np.zeros(2, np.float32)), Parameter(np.zeros(1, np.float32))
    ga = np.array([3.0, 0.0], np.float32)
    a.grad, b.grad = ga, np.array([4.0], np.float32)       # total norm 5
    total = optim.clip_grad_norm_([a, b], max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad, [3 / 5, 0.0], rtol=1e-5)
    np.testing.assert_allclose(b.grad, [4 / 5], rtol=1e-5)
    np.testing.assert_array_equal(ga, [3.0, 0.0])            # replaced, not written in place
    new_norm = np.sqrt((a.grad ** 2).sum() + (b.grad ** 2).sum())
    assert new_norm == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_leaves_small_grads_and_none():
    a, b = Parameter(np.zeros(2, np.float32)), Parameter(np.zeros(2, np.float32))
    g = np.array([0.3, 0.4], np.float32)
    a.grad = g
    total = optim.clip_grad_norm_([a, b], max_norm=1.0)
    assert total.item() == pytest.approx(0.5)
    assert a.grad is g and b.grad is None


def test_clip_grad_norm_inf_and_p1():
    a = Parameter(np.zeros(3, np.float32))
    a.grad = np.array([1.0, -4.0, 2.0], np.float32)
    assert optim.clip_grad_norm_(a, 10.0, norm_type=float("inf")).item() == pytest.approx(4.0)
    assert optim.clip_grad_norm_(a, 10.0, norm_type=1).item() == pytest.approx(7.0)
    optim.clip_grad_norm_(a, 2.0, norm_type=float("inf"))
    np.testing.assert_allclose(a.grad, [0.5, -2.0, 1.0], rtol=1e-5)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.05, 5.0), st.sampled_from([1.0, 2.0, 3.0, float("inf")]))
def test_clip_grad_norm_property(seed, max_norm, norm_type):
    """After clipping, the norm is min(total, max_norm) and every gradient kept its direction."""
    g = mt.Generator(seed)
    params = [Parameter(np.zeros(s, np.float32)) for s in [(3, 4), (5,)]]
    for p in params:
        p.grad = g.normal(0, 1, p.shape)
    before = [p.grad.copy() for p in params]
    total = optim.clip_grad_norm_(params, max_norm, norm_type).item()
    flat = np.concatenate([b.ravel() for b in before]).astype(np.float64)
    assert total == pytest.approx(np.linalg.norm(flat, ord=norm_type), rel=1e-5)
    after = np.concatenate([p.grad.ravel() for p in params]).astype(np.float64)
    assert np.linalg.norm(after, ord=norm_type) == pytest.approx(min(total, max_norm), rel=1e-4)
    scale = min(1.0, max_norm / (total + 1e-6))
    np.testing.assert_allclose(after, flat * scale, rtol=1e-5, atol=1e-7)


def test_clip_grad_value():
    a = Parameter(np.zeros(3, np.float32))
    a.grad = np.array([1.0, -4.0, 0.2], np.float32)
    optim.clip_grad_value_([a], 0.5)
    np.testing.assert_allclose(a.grad, [0.5, -0.5, 0.2])


def test_weight_average_follows_the_warmed_up_recurrence_and_swaps_exactly():
    p, opt, values = _run(lambda ps: optim.SGD(ps, lr=0.1), grads=[])
    ema = optim.ExponentialMovingAverage([p], decay=0.9)
    expected = P0.astype(np.float64)
    for n, g in enumerate(GRADS, start=1):
        p.grad = g
        opt.step()
        ema.update()
        d = min(0.9, (1 + n) / (10 + n))          # 0.1818.., 0.25, 0.3077..: the warm-up, then 0.9
        expected = d * expected + (1 - d) * p.data
    np.testing.assert_allclose(ema.shadow[0], expected, rtol=1e-6)
    trained, averaged = p.data.copy(), ema.shadow[0].copy()
    ema.swap()
    np.testing.assert_array_equal(p.data, averaged)
    ema.swap()
    np.testing.assert_array_equal(p.data, trained)
    copy_ = optim.ExponentialMovingAverage([Parameter(P0.copy())], decay=0.5)
    copy_.load_state_dict(ema.state_dict())
    assert copy_.decay == 0.9 and copy_.updates == 3
    np.testing.assert_array_equal(copy_.shadow[0], ema.shadow[0])
    with pytest.raises(ValueError, match="decay must be in"):
        optim.ExponentialMovingAverage([p], decay=1.0)
    with pytest.raises(ValueError, match="saved average has 1 arrays, the model 2"):
        optim.ExponentialMovingAverage([p, Parameter(P0.copy())]).load_state_dict(ema.state_dict())


# ------------------------------------------------------------------------------- multi-tensor (GPU) updates
MULTI = [lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1), lambda ps: optim.AdamW(ps, lr=0.01),
         lambda ps: optim.SGD(ps, lr=0.1), lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
         lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)]


def _three_steps(factory, device, fake):
    """Three steps of ``factory`` on three parameters (grads of one missing on step 2); values, state, counter."""
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (5,), (2, 2, 3)]
    params = [Parameter(rng.standard_normal(s).astype(np.float32)) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(3)]
    params = [Parameter(p.to(device).data) for p in params]
    opt = factory(params)
    for step, gs in enumerate(grads):
        for i, (p, g) in enumerate(zip(params, gs)):
            p.grad = None if (step == 1 and i == 1) else mt.tensor(g, device=device).data
        opt.step()
    return [p.numpy() for p in params], opt.state_dict(), fake.counter if fake else None


@pytest.mark.parametrize("factory", MULTI)
def test_the_fused_multi_tensor_update_equals_the_per_parameter_update(factory):
    from minitorch_deblur.testing import fake_cupy

    want, want_state, _ = _three_steps(factory, "cpu", None)
    with fake_cupy.installed():
        got, got_state, counter = _three_steps(factory, "cuda", fake_cupy.FAKE)
        fused = counter.by_name["mt_adam"] + counter.by_name["mt_sgd"] + counter.by_name["mt_sgd_momentum"]
        assert fused == (1 if isinstance(factory([Parameter(np.ones(1, np.float32))]), optim.Adam) else 2)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)
    for index, state in want_state["state"].items():
        for key, value in state.items():
            np.testing.assert_allclose(got_state["state"][index][key], value, rtol=1e-6, atol=1e-7)


def test_the_fused_update_lays_out_again_when_arrays_are_replaced():
    from minitorch_deblur.testing import fake_cupy

    with fake_cupy.installed():
        params = [Parameter(np.ones((2, 3), np.float32)).to("cuda"), Parameter(np.ones(4, np.float32)).to("cuda")]
        params = [Parameter(p.data) for p in params]
        opt = optim.Adam(params, lr=0.1)
        for p in params:
            p.grad = mt.tensor(np.ones(p.shape, np.float32), device="cuda").data
        opt.step()
        flat = opt._flat_layouts()[0].flat["param"]
        assert np.shares_memory(params[0].data, flat) and np.shares_memory(params[1].data, flat)
        saved = opt.state_dict()
        params[0].data = mt.tensor(np.zeros((2, 3), np.float32), device="cuda").data   # as Module.to does
        opt.load_state_dict(saved)                                                    # new state arrays
        opt.step()
        assert np.shares_memory(params[0].data, opt._flat_layouts()[0].flat["param"])
        assert opt.state_of(params[0])["step"] == 2
        np.testing.assert_allclose(params[0].numpy(), np.full((2, 3), -0.1), rtol=1e-5)   # zeros, one Adam step


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_on_the_gpu_path_equals_the_host_path(max_norm):
    from minitorch_deblur.testing import fake_cupy

    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (5,), (2, 3, 2))]

    def run(device):
        params = [Parameter(np.zeros(g.shape, np.float32)) for g in grads]
        for p, g in zip(params, grads):
            p.grad = mt.tensor(g, device=device).data
        total = optim.clip_grad_norm_(params, max_norm)
        return float(total.item()), [mt.to_device(p.grad, "cpu") for p in params]

    want_total, want = run("cpu")
    with fake_cupy.installed() as counter:
        got_total, got = run("cuda")
        assert counter.by_name["mt_clip_coef"] == 1 and counter.by_name["copy:float"] == 0
    assert got_total == pytest.approx(want_total, rel=1e-6)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)
