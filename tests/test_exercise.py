"""The exercise grader: a skeleton filled with the reference passes, an untouched one says 'not implemented yet',
and planted mistakes fail with the hint that names them."""
from pathlib import Path

import pytest

from minitorch_deblur import exercise
from minitorch_deblur.exercise.__main__ import main
from minitorch_deblur.exercise.skeleton import PACKAGE, skeleton_source

pytestmark = pytest.mark.lesson2

SIMPLE_CONV = {  # a plain im2col conv2d, so each planted mistake sits in a line of its own
    "forward": """        stride, padding = _pair("conv2d", "stride", stride, 1), _pair("conv2d", "padding", padding, 0)
        kernel = weight.shape[2:]
        ho, wo = out_size("conv2d", x.shape, kernel, stride, padding)
        ctx.save_for_backward(x, weight)
        ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding = x.shape, kernel, stride, padding
        return _from_rows(weight.reshape(weight.shape[0], -1) @ im2col(x, kernel, stride, padding), x.shape[0],
                          (ho, wo), bias)""",
    "backward": """        x, weight = ctx.saved
        g = _to_rows(grad)
        w = WEIGHT
        dx = col2im(w.reshape(w.shape[0], -1).T @ g, ctx.x_shape, ctx.kernel, ctx.stride, ctx.padding)
        dw = (g @ im2col(x, ctx.kernel, ctx.stride, ctx.padding).T).reshape(g.shape[0], -1, *ctx.kernel)
        db = BIAS if ctx.needs_input_grad[2] else None
        return dx, dw, db""",
}


def _conv(weight="weight", bias="grad.sum(axis=(0, 2, 3))"):
    text = skeleton_source(exercise.BY_NAME["conv2d"], "")
    text = text.replace('        raise NotImplementedError("conv2d: write Conv2d.forward")', SIMPLE_CONV["forward"])
    return text.replace('        raise NotImplementedError("conv2d: write Conv2d.backward")',
                        SIMPLE_CONV["backward"].replace("WEIGHT", weight).replace("BIAS", bias))


def _grade(name, text, tmp_path):
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    return exercise.check(exercise.BY_NAME[name], path)


def _reference(name, old="", new=""):
    source = (PACKAGE / exercise.BY_NAME[name].source).read_text()
    assert old in source
    return source.replace(old, new)


@pytest.mark.parametrize("name", ["conv2d", "max_pool2d", "batch_norm", "adam", "elementwise", "im2col", "col2im", "graph"])
def test_the_reference_passes_and_the_untouched_skeleton_is_not_implemented(name, tmp_path):
    assert _grade(name, _reference(name), tmp_path).passed
    report = _grade(name, skeleton_source(exercise.BY_NAME[name], ""), tmp_path)
    assert not report.passed and "not implemented yet" in report.text()


def test_a_simple_im2col_conv_passes(tmp_path):
    assert _grade("conv2d", _conv(), tmp_path).passed


def test_a_transposed_weight_in_conv_backward(tmp_path):
    report = _grade("conv2d", _conv(weight="weight.transpose(0, 1, 3, 2)"), tmp_path)
    assert not report.passed and "gradient check failed" in report.text()
    assert "a transposed weight in backward" in report.text()


def test_a_missing_batch_sum_in_the_bias_gradient(tmp_path):
    report = _grade("conv2d", _conv(bias="grad[0].sum(axis=(1, 2))"), tmp_path)
    assert not report.passed and "counts only the first sample" in report.text()


def test_max_pool_gradient_sent_to_every_element(tmp_path):
    old = """            if overlapping:   # windows share pixels: add
                dx[index] += grad * (winner == k)
            else:             # each pixel is in one window: write in place
                xp.multiply(grad, winner == k, out=dx[index])"""
    report = _grade("max_pool2d", _reference("max_pool2d", old, "            dx[index] += grad"), tmp_path)
    assert not report.passed and "only to each window's maximum" in report.text()


def test_batch_norm_using_the_running_stats_in_training(tmp_path):
    report = _grade("batch_norm", _reference("batch_norm", "    if training or running_mean is None:",
                                             "    if running_mean is None:"), tmp_path)
    assert not report.passed and "forward differs" in report.text()
    assert "normalises with the batch's own mean and variance" in report.text()


def test_adam_without_bias_correction(tmp_path):
    text = _reference("adam", "        step_size = lr / (1 - beta1 ** t)", "        step_size = lr")
    text = text.replace("        denom = xp.sqrt(v) / math.sqrt(1 - beta2 ** t) + eps", "        denom = xp.sqrt(v) + eps")
    report = _grade("adam", text, tmp_path)
    assert not report.passed and "bias correction is missing" in report.text()


def test_the_command_starts_refuses_to_overwrite_checks_and_lists(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["start", "conv2d"]) == 0
    path = Path("exercises/conv2d.py")
    assert "Exercise conv2d (lesson 2)" in path.read_text()
    path.write_text(path.read_text() + "# my work\n")
    assert main(["start", "conv2d"]) == 1 and "# my work" in path.read_text()
    assert "your work is kept" in capsys.readouterr().err
    assert main(["check", "conv2d"]) == 1 and "not implemented yet" in capsys.readouterr().out
    path.write_text(_conv())
    assert main(["check", "conv2d"]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and "next: python -m minitorch_deblur.exercise start max_pool2d" in out   # lesson 2 first
    assert "8 drawn configurations and 3 edge cases (stride > 1, padding > 0, a single channel" in out
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "lesson 2:" in listing and "conv2d             passing" in listing and "not started" in listing
    assert main(["solution", "conv2d"]) == 0 and "def backward" in capsys.readouterr().out
    assert main(["start", "--lesson", "5", "--force"]) == 0 and Path("exercises/conv_transpose2d.py").is_file()
    assert Path("exercises/.gitignore").read_text().splitlines()[-1] == "*"   # out of the clone's git status


def test_start_says_how_exercises_stay_out_of_git_status(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["start", "elementwise"]) == 0
    out = capsys.readouterr().out
    assert "exercises/.gitignore" in out and "git status will not list your exercises" in out
    assert main(["start", "softmax"]) == 0 and ".gitignore" not in capsys.readouterr().out   # said once


def test_next_follows_the_course_lesson_by_lesson(tmp_path, monkeypatch, capsys):
    """After conv2d come the rest of lesson 2 (max_pool2d, avg_pool2d, batch_norm), never lesson 5's."""
    from minitorch_deblur.exercise.__main__ import COURSE
    order = [e.name for e in COURSE]
    assert [e.lesson for e in COURSE] == sorted(e.lesson for e in COURSE)
    after = order[order.index("conv2d") + 1:]
    assert after[:3] == ["max_pool2d", "avg_pool2d", "batch_norm"]
    assert order.index("conv_transpose2d") > order.index("batch_norm")


@pytest.mark.parametrize("command", ["start", "check", "solution"])
def test_help_documents_every_argument(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "NAME" in text and "exercises by name" in text and "--lesson N" in text and "of lesson N" in text
    for line in text.split("options:")[1].splitlines():
        if line.strip().startswith("-"):
            assert len(line.strip().split(None, 1)) == 2 or line.strip().endswith(("SECONDS", "N")), line


@pytest.mark.parametrize("planted, expected", [
    ("grad.sum(axis=(1, 2, 3))", "Conv2d.backward returned a gradient of bias with shape"),
    ("grad.sum(axis=(0, 2))", "but bias has shape"),
])
def test_a_gradient_of_the_wrong_shape_is_named_with_a_hint(planted, expected, tmp_path):
    text = _grade("conv2d", _conv(bias=planted), tmp_path).text()
    assert expected in text and "hint: each gradient backward returns must have its input's exact shape" in text
    assert "g.sum(axis=(0, 2, 3))" in text


WEIGHTS_ROWS = "weight.reshape(weight.shape[0], -1) @ im2col"


@pytest.mark.parametrize("old, new, hint", [
    (WEIGHTS_ROWS, "weight[:, :, ::-1, ::-1].reshape(weight.shape[0], -1) @ im2col", "a flipped kernel"),
    (WEIGHTS_ROWS, "weight.transpose(0, 1, 3, 2).reshape(weight.shape[0], -1) @ im2col", "the kernel's transpose"),
    ("(ho, wo), bias)", "(ho, wo), None)", "your output lacks the bias"),
    ("@ im2col(x, kernel, stride, padding)", "@ im2col(x, kernel, stride, 0)", "wrong padding or stride arithmetic"),
    ("@ im2col(x, kernel, stride, padding)", "@ im2col(x, kernel, 1, padding)", "wrong padding or stride"),
])
def test_classic_forward_mistakes_in_conv2d_get_a_hint(old, new, hint, tmp_path):
    source = _conv()
    assert old in source
    report = _grade("conv2d", source.replace(old, new), tmp_path)
    assert not report.passed and hint in report.text(), report.text()
    assert "Traceback" not in report.text()


@pytest.mark.parametrize("old, new, hint", [
    ("        y = get_array_module(x).exp(log_softmax_array(x, dim))\n",
     "        e = get_array_module(x).exp(x)\n        y = e / e.sum(axis=dim, keepdims=True)\n",
     "subtract the max along dim before exp"),
    ("        y = log_softmax_array(x, dim)\n",
     "        y = get_array_module(x).log(get_array_module(x).exp(log_softmax_array(x, dim)))\n",
     "log(softmax(x)) underflows"),
    ("        y = log_softmax_array(x, dim)\n",
     "        xp = get_array_module(x)\n        y = x - xp.log(xp.exp(x).sum(axis=dim, keepdims=True))\n",
     "x - log(sum(exp(x))) overflows"),
])
def test_softmax_mistakes_that_small_logits_hide_are_found(old, new, hint, tmp_path):
    report = _grade("softmax", _reference("softmax", old, new), tmp_path)
    assert not report.passed and hint in report.text()
    assert _grade("softmax", _reference("softmax"), tmp_path).passed


def test_linear_without_its_bias_gets_a_hint(tmp_path):
    source = _reference("matmul_linear", "        return y + bias if bias is not None else y\n", "        return y\n")
    report = _grade("matmul_linear", source, tmp_path)
    assert not report.passed and "your output lacks the bias: y = x W^T + b" in report.text()
