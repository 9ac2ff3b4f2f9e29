"""Library misuse gets one clear error naming the op, the shapes or dtypes, and the fix (issue 23, section 4):
never a raw NumPy error, never a silent wrong answer. The checks are cheap: a dtype.kind test per input."""
import re
import timeit

import numpy as np
import pytest

from minitorch_deblur import functional as F
from minitorch_deblur.autograd import Function, Tensor
from minitorch_deblur.functional.elementwise import Add
from minitorch_deblur.models import CNN, MLP


def f32(*shape):
    return Tensor(np.ones(shape, np.float32))


def test_conv2d_given_int64_names_the_op_the_dtype_and_the_fix():
    x, w = np.ones((1, 1, 4, 4), np.int64), np.ones((1, 1, 3, 3), np.int64)
    with pytest.raises(TypeError, match=r"conv2d expects floating point input \(float32\); got int64 for x of shape "
                                        r"\(1, 1, 4, 4\): convert with x.astype\(np.float32\)"):
        F.conv2d(Tensor(x), Tensor(w))
    with pytest.raises(TypeError, match="got int64 for weight"):
        F.conv2d(f32(1, 1, 4, 4), Tensor(w))


@pytest.mark.parametrize("model, op", [(CNN, "conv2d"), (MLP, "linear")])
def test_a_model_given_uint8_images_says_convert_and_scale(model, op):
    images = Tensor(np.zeros((2, 1, 28, 28), np.uint8))
    with pytest.raises(TypeError, match=re.escape(f"{op} expects floating point input (float32); got uint8") +
                       r".*x.astype\(np.float32\) / 255"):
        model()(images)
    assert model()(Tensor(np.zeros((2, 1, 28, 28), np.float32))).shape == (2, 10)


@pytest.mark.parametrize("fn, name", [(F.softmax, "softmax"), (F.log_softmax, "log_softmax")])
@pytest.mark.parametrize("dim", [2, 5, -3])
def test_softmax_with_a_dim_out_of_range(fn, name, dim):
    with pytest.raises(IndexError, match=re.escape(f"{name}: dim {dim} is out of range for an input of shape (2, 3) "
                                                   "(2 dims): use a dim in [-2, 1]")):
        fn(f32(2, 3), dim=dim)
    assert fn(f32(2, 3), dim=-2).shape == (2, 3)


@pytest.mark.parametrize("op, call", [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b),
                                      ("mul", lambda a, b: a * b), ("div", lambda a, b: a / b),
                                      ("add", F.add), ("maximum", F.maximum)])
def test_shapes_that_do_not_broadcast(op, call):
    with pytest.raises(ValueError, match=re.escape(f"{op}: shapes (2, 3) and (4,) do not broadcast")):
        call(f32(2, 3), f32(4))
    assert call(f32(2, 3), f32(3)).shape == (2, 3)


def test_complex_tensors_are_refused_at_creation_and_at_conv2d():
    with pytest.raises(TypeError, match=r"Tensor: dtype complex128 of shape \(1,\) holds complex numbers.*x.real"):
        Tensor(np.array([1j]))
    with pytest.raises(TypeError, match="complex"):
        F.conv2d(np.ones((1, 1, 4, 4), np.complex64), f32(1, 1, 3, 3))
    with pytest.raises(TypeError, match="complex"):
        f32(3) * 1j


@pytest.mark.parametrize("values, what", [(np.array(["a"]), "strings"), (np.array([None]), "Python objects"),
                                          (np.array([b"a"]), "bytes")])
def test_non_numeric_tensors_are_refused(values, what):
    with pytest.raises(TypeError, match=f"holds {what}; a tensor holds bool, int or float"):
        Tensor(values)


def test_numbers_of_every_kind_still_make_tensors_and_int_arithmetic_works():
    assert Tensor(np.array([True])).dtype == np.bool_
    assert (Tensor(np.array([1, 2])) + Tensor(np.array([3, 4]))).tolist() == [4, 6]
    assert Tensor(np.arange(3, dtype=np.uint8)).dtype == np.uint8
    assert F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 3, 3)))).dtype == np.float64


def test_a_value_error_inside_forward_that_the_inputs_do_not_explain_is_left_alone():
    class Broken(Function):
        broadcasts = True

        @staticmethod
        def forward(ctx, a, b):
            raise ValueError("a bug inside forward")

    with pytest.raises(ValueError, match="^a bug inside forward$"):
        Broken.apply(f32(2, 3), f32(3))

    class WrongAxis(Function):
        @staticmethod
        def forward(ctx, x, dim=-1):
            return x.sum(axis=5)                 # the op's own bug, with a dim that is in range

    with pytest.raises(IndexError, match="axis 5 is out of bounds"):
        WrongAxis.apply(f32(2, 3), dim=-1)


def test_the_checks_cost_a_few_percent_of_a_small_op_at_most():
    """What apply and Tensor() now do per op (a dtype.kind test, the float_inputs lookup; the try block is free
    in Python 3.11) timed against a whole add of two 3-element tensors."""
    a, b = f32(3), f32(3)
    data = a.data
    op = min(timeit.repeat(lambda: Add.apply(a, b), number=5000, repeat=7)) / 5000
    checks = min(timeit.repeat('data.dtype.kind not in "biuf"; Add.float_inputs', globals={"data": data, "Add": Add},
                               number=5000, repeat=7)) / 5000
    assert checks < 0.05 * op, f"checks {checks * 1e9:.0f} ns vs the op {op * 1e9:.0f} ns"
