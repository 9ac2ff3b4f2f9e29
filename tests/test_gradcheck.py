"""The gradient checker itself: planted wrong backwards must be caught with a report naming the op, the input and
the worst index; correct ops pass; the hints appear for float32, kinks, zeros, sign and factor-of-2 mistakes;
the CLI runs and rejects unknown names."""
import subprocess
import sys

import numpy as np
import pytest

import minitorch_deblur.functional as F
from minitorch_deblur import Function, Tensor
from minitorch_deblur.gradcheck import assert_gradcheck, gradcheck, main
from minitorch_deblur.testing import op_table as T

pytestmark = pytest.mark.lesson0
rng = np.random.default_rng(0)


# ------------------------------------------------------------------------------ planted operators, some broken
class ForgetfulSigmoid(Function):
    """sigmoid whose backward forgets the (1 - y) factor."""

    @staticmethod
    def forward(ctx, x):
        y = 1 / (1 + np.exp(-x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved
        return (grad * y,)


class GoodSigmoid(ForgetfulSigmoid):
    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved
        return (grad * y * (1 - y),)


class HalfSquare(Function):
    """x**2 whose backward forgets the 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return (grad * x,)


class NegatedExp(Function):
    """exp whose backward flips the sign."""

    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved
        return (-grad * y,)


class MulDropsB(Function):
    """a * b whose backward returns None for b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        (b,) = ctx.saved
        return grad * b, None


class NaiveConv(Function):
    """Valid (unpadded, stride-1) conv with loops over the kernel offsets; correct gradients."""

    @staticmethod
    def forward(ctx, x, w):
        k = w.shape[-1]
        win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # (N, C, Ho, Wo, k, k)
        ctx.save_for_backward(x, w, win)
        return np.einsum("nchwij,ocij->nohw", win, w)

    @staticmethod
    def weight_grad(win, grad):
        return np.einsum("nchwij,nohw->ocij", win, grad)

    @classmethod
    def _backward(cls, ctx, grad, transpose_weight_grad):
        x, w, win = ctx.saved
        k, (ho, wo) = w.shape[-1], grad.shape[2:]
        dx = np.zeros_like(x)
        for i in range(k):
            for j in range(k):
                dx[:, :, i:i + ho, j:j + wo] += np.einsum("nohw,oc->nchw", grad, w[:, :, i, j])
        dw = np.einsum("nchwij,nohw->ocij", win, grad)
        return dx, (dw.transpose(0, 1, 3, 2) if transpose_weight_grad else dw)

    @staticmethod
    def backward(ctx, grad):
        return NaiveConv._backward(ctx, grad, False)


class TransposedConv(NaiveConv):
    """NaiveConv whose weight gradient has its kernel axes transposed."""

    name = "conv_wgrad_transposed"

    @staticmethod
    def backward(ctx, grad):
        return NaiveConv._backward(ctx, grad, True)


# ---------------------------------------------------------------------------------------------- correct ops pass
@pytest.mark.parametrize("fn, inputs", [
    (F.mul, [rng.standard_normal((3, 4)), rng.standard_normal(4)]),
    (F.exp, [rng.standard_normal((2, 3))]),
    (GoodSigmoid.apply, [rng.standard_normal((3, 3))]),
    (NaiveConv.apply, [rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))]),
], ids=["mul", "exp", "sigmoid", "conv"])
def test_correct_ops_pass(fn, inputs):
    result = assert_gradcheck(fn, inputs)
    assert result.passed and len(result.inputs) == len(inputs)
    assert result.max_error < 1e-6


def test_big_inputs_use_directional_derivatives_and_pass():
    result = assert_gradcheck(GoodSigmoid.apply, [rng.standard_normal((30, 30))], max_jacobian_numel=100)
    assert result.inputs[0].method == "directional"


# ---------------------------------------------------------------------------------------- broken ops are caught
def _report(fn, inputs, **kw):
    with pytest.raises(AssertionError) as info:
        assert_gradcheck(fn, inputs, **kw)
    return str(info.value)


def test_forgotten_factor_is_caught_with_op_input_and_worst_index():
    x = rng.standard_normal((3, 4))
    result = gradcheck(ForgetfulSigmoid.apply, [x])
    check = result.inputs[0]
    assert not result.passed and not check.passed and check.worst_index is not None
    assert abs(check.analytic - check.numeric) > 1e-3
    msg = _report(ForgetfulSigmoid.apply, [x])
    assert "forgetfulsigmoid" in msg and "input 0 (shape (3, 4)" in msg and f"worst index {check.worst_index}" in msg
    assert "analytic" in msg and "numeric" in msg and "abs err" in msg and "rel err" in msg


def test_forgotten_factor_is_caught_by_directional_derivatives():
    result = gradcheck(ForgetfulSigmoid.apply, [rng.standard_normal((20, 20))], max_jacobian_numel=10)
    assert not result.passed and result.inputs[0].method == "directional"


def test_transposed_conv_weight_grad_is_caught_on_the_weight_only():
    x, w = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    result = gradcheck(TransposedConv.apply, [x, w])
    assert result.inputs[0].passed and not result.inputs[1].passed
    msg = _report(TransposedConv.apply, [x, w])
    assert "conv_wgrad_transposed" in msg and "input 1 (shape (3, 2, 3, 3)" in msg and "worst index (" in msg
    assert "wrong places" in msg  # the values are right, their positions are transposed


def test_dropped_input_grad_is_caught_with_zeros_hint():
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    result = gradcheck(MulDropsB.apply, [a, b])
    assert result.inputs[0].passed and not result.inputs[1].passed and result.inputs[1].grad_was_none
    assert "backward returned zeros/None for this input?" in _report(MulDropsB.apply, [a, b])


def test_sign_hint():
    assert "sign error?" in _report(NegatedExp.apply, [rng.standard_normal(4)])


def test_factor_of_two_hint():
    assert "factor of 2?" in _report(HalfSquare.apply, [rng.uniform(0.5, 2, 5)])


def test_report_uses_the_given_name():
    assert _report(HalfSquare.apply, [np.ones(2)], name="my_square").startswith("gradcheck FAILED for my_square")


# ------------------------------------------------------------------------------------------------------ hints
def test_float32_hint_and_float64_default():
    x = rng.standard_normal((3, 3)).astype(np.float32)
    msg = _report(F.exp, [x], dtype=None)
    assert "float32" in msg and "run the check in float64" in msg
    assert_gradcheck(F.exp, [x])  # the default casts to float64 first, and then it passes


def test_kink_hint_at_zero():
    msg = _report(F.abs, [np.array([1e-7, 1.0, -2.0])])
    assert "inputs near a tie or kink: move them apart" in msg and "worst index (0,)" in msg


def test_tie_hint_for_nearly_tied_maximum():
    a = np.array([0.3, 1.0])
    msg = _report(F.maximum, [a, a - np.array([1e-7, 0.5])])  # element 0 tied within eps
    assert "inputs near a tie or kink: move them apart" in msg


def test_tie_hint_names_tied_elements_of_one_input():
    from minitorch_deblur.functional.reduce import max as max_

    msg = _report(max_, [np.array([0.5, 0.5 + 1e-8, -1.0])])  # two maxima 1e-8 apart
    assert "inputs near a tie or kink: move them apart" in msg and "other element(s)" in msg


# ----------------------------------------------------------------------------------------- inputs and purity
def test_integer_and_none_inputs_pass_through_unchecked():
    seen = {}

    def fn(x, target, nothing):
        seen["target"], seen["nothing"] = target, nothing
        return x * target.data.astype(np.float64)

    result = assert_gradcheck(fn, [rng.standard_normal(3), np.array([1, 2, 3]), None])
    assert [c.index for c in result.inputs] == [0]
    assert isinstance(seen["target"], Tensor) and seen["target"].dtype.kind == "i" and seen["nothing"] is None


def test_random_fn_is_reported():
    noise = np.random.default_rng(1)
    result = gradcheck(lambda x: x * Tensor(noise.standard_normal(3)), [np.ones(3)])
    assert not result.passed and any("random" in n for n in result.notes)


def test_in_place_modification_is_reported():
    def fn(x):
        x.data += 1.0  # a bug: writes into its input
        return F.exp(x)

    result = gradcheck(fn, [np.zeros(2)])
    assert not result.passed and any("in place" in n for n in result.notes)


# -------------------------------------------------------------------------------------------------------- CLI
def test_cli_checks_an_op(capsys):
    assert main(["relu", "--configs", "2", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "relu" in out and "PASS" in out and "config {" in out and "FAIL" not in out


def test_cli_unknown_name_lists_valid_names(capsys):
    assert main(["no_such_op"]) != 0
    err = capsys.readouterr().err
    assert "no_such_op" in err and "valid names" in err and "conv2d" in err and "relu" in err
    assert main([]) != 0


def test_cli_fails_on_a_broken_row(capsys, monkeypatch):
    broken = T.OpRow("forgetful_sigmoid", 0, "test", lambda c, x: ForgetfulSigmoid.apply(x),
                     lambda d, f: {"shape": (d(1, 3), 2)}, lambda r, c: [r.standard_normal(c["shape"])],
                     lambda c, x: 1 / (1 + np.exp(-x)))
    monkeypatch.setattr(T, "ROWS", T.ROWS + [broken])
    monkeypatch.setitem(T._BY_NAME, broken.name, broken)
    assert main(["forgetful_sigmoid", "relu"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "worst index" in out and "1 of 2 operators passed" in out


def test_cli_as_module():
    proc = subprocess.run([sys.executable, "-m", "minitorch_deblur.gradcheck", "--list"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "conv_transpose2d" in proc.stdout.split()
