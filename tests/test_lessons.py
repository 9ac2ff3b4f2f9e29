"""Every lesson runs end to end in its seconds-long ``--smoke`` mode, so none can rot.

The lessons run in-process (imported from lessons/ and called with their command line); 01 and 02 read the
embedded MNIST subset from an empty data folder with the network refused, and write their figures into tmp_path.
"""
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any, List

import numpy as np
import pytest

LESSONS = Path(__file__).resolve().parents[1] / "lessons"


def run_lesson(file_name: str, args: List[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Import lessons/<file_name> (its name starts with a digit, so not by ``import``) and run main() with args."""
    spec = importlib.util.spec_from_file_location(f"lesson_{file_name[:2]}", LESSONS / file_name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", [file_name, *args])
    return module.main()


def assert_next_line(out: str, names: str) -> None:
    """The lesson's output ends with its "Next:" line (lessons/README.md promises one), naming what comes next."""
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("Next:") and names in last, last


@pytest.mark.parametrize("lesson", sorted(p.name for p in LESSONS.glob("[0-9][0-9]_*.py")))
def test_every_lesson_prints_a_next_line(lesson):
    """Not only in the docstring: a print (or the rank-0 say) of a "Next:" line in main's code."""
    source = (LESSONS / lesson).read_text()
    assert re.search(r"(print|say)\((comm, )?\s*f?\"Next: ", source), lesson


def offline_args(tmp_path: Path) -> List[str]:
    return ["--smoke", "--out", str(tmp_path / "figures"), "--data-dir", str(tmp_path / "data")]


@pytest.mark.lesson0
def test_lesson00_autograd(monkeypatch, capsys):
    run_lesson("00_autograd.py", ["--smoke"], monkeypatch)
    out = capsys.readouterr().out
    assert "backward():" in out and "by hand:" in out
    assert "gradcheck(f, [0.7, 1.3]) in float64: PASS" in out
    assert "f(a, b) = log(1 + exp(a * b)) + a ** 2 / b" in out and "df/da = s*b + 2a/b" in out   # what it teaches
    assert out.index("f(a, b) = log") < out.index("f(a=0.7")                # the formula before its value
    assert_next_line(out, "lesson 01")


@pytest.mark.lesson1
def test_lesson01_mlp_mnist(no_network, monkeypatch, capsys, tmp_path):
    result = run_lesson("01_mlp_mnist.py", offline_args(tmp_path), monkeypatch)
    captured = capsys.readouterr()
    assert "embedded" in captured.err  # the offline fallback, said once
    assert "235,146 parameters" in captured.out and "eval mode: the identity" in captured.out
    assert "moved by lr = 1e-3" in captured.out and "epoch 1:" in captured.out and "/10 correct" in captured.out
    assert_next_line(captured.out, "lesson 02")
    assert result["test_accuracy"] > 0.2  # it learned something (chance is 0.1) from 500 digits in one epoch
    assert 0 <= result["digits_correct"] <= 10
    for figure in ("predictions.png", "loss.png"):
        assert (tmp_path / "figures" / figure).stat().st_size > 1000


@pytest.mark.lesson2
def test_lesson02_cnn_mnist(no_network, monkeypatch, capsys, tmp_path):
    result = run_lesson("02_cnn_mnist.py", offline_args(tmp_path), monkeypatch)
    out = capsys.readouterr().out
    assert "F.conv2d gives the same: True" in out
    assert "MaxPool2d ( 7 + 2*0 - 2) // 2 + 1 =  3   real (1, 128, 3, 3)" in out and "422,474" in out
    assert "eval mode, same input" in out and "CNN's gain over the MLP" in out
    assert_next_line(out, "lesson 03")
    # what it says about its own run is what ran: the images it trained on, the epochs it took (smoke: 256, 1)
    trained = int(re.search(r"each trained on ([\d,]+) images", out).group(1).replace(",", ""))
    assert f"this run: 1 epoch on {trained:,} images" in out and "epochs: 1" in out
    assert set(result) == {"cnn_accuracy", "mlp_accuracy"} and all(0 <= a <= 1 for a in result.values())
    for figure in ("filters.png", "feature_maps.png"):
        assert (tmp_path / "figures" / figure).stat().st_size > 1000


@pytest.mark.lesson3
def test_lesson03_srcnn(cifar_partial, monkeypatch, capsys, tmp_path):
    result = run_lesson("03_srcnn.py", ["--smoke", "--out", str(tmp_path / "l03"), "--data-dir", str(cifar_partial)],
                        monkeypatch)
    out = capsys.readouterr().out
    assert "metrics.psnr says" in out and "13x13 input pixels" in out and "20,099" in out
    assert "course +1.24 on 5 images" in out and set(result) == {"gain_db", "test_psnr", "input_psnr"}
    assert_next_line(out, "lesson 04")
    for figure in ("filters.png", "run/samples.png", "run/curves.png"):
        assert (tmp_path / "l03" / figure).stat().st_size > 1000


@pytest.mark.lesson4
def test_lesson04_cae_win5rb(cifar_partial, monkeypatch, capsys, tmp_path):
    result = run_lesson("04_cae_win5rb.py", ["--smoke", "--out", str(tmp_path / "l04"), "--data-dir",
                                             str(cifar_partial)], monkeypatch)
    out = capsys.readouterr().out
    assert "nearly a box filter" in out and "the decoder must re-invent" in out
    assert "zero_init_residual=True" in out and "1,276,169    2,611.4" in out and "cost 5.7x the CAE's FLOPs" in out
    assert set(result) == {"cae_test_mse", "win5rb_test_mse"}
    assert_next_line(out, "lesson 05")
    assert (tmp_path / "l04" / "compare.png").stat().st_size > 1000


@pytest.mark.lesson5
def test_lesson05_unet_gan(natural_images, no_network, monkeypatch, capsys, tmp_path):
    result = run_lesson("05_unet_gan.py", ["--smoke", "--out", str(tmp_path / "l05"), "--data-dir",
                                           str(natural_images)], monkeypatch)
    out = capsys.readouterr().out
    assert "the same number" in out and "<- uneven: a checkerboard" in out and "max difference 0.0e+00" in out
    assert "6,170,627 parameters" in out and "46x46 patch" in out and "held-out crops: blurred" in out
    assert set(result) == {"gain_db", "test_psnr"}
    assert_next_line(out, "lesson 06")
    for figure in ("run/losses.png", "run/samples/epoch_001.png"):
        assert (tmp_path / "l05" / figure).stat().st_size > 1000


def test_lesson07_real_blur(natural_images, no_network, monkeypatch, capsys, tmp_path):
    result = run_lesson("07_real_blur.py", ["--smoke", "--out", str(tmp_path / "l07"), "--data-dir",
                                            str(natural_images)], monkeypatch)
    out = capsys.readouterr().out
    assert "2.6x brighter" in out and "light lost" in out                     # linear light vs sRGB
    assert "REDS          320x180: scale 0.25" in out and "91 px (halo 45" in out and "200 px" in out
    assert "before" in out and "-> after" in out and "real pairs" in out      # trained; real-eval absent: skipped
    assert result["linear_streak"] > 2 * result["srgb_streak"] and result["highlight_peak"] > 0.99
    assert np.isfinite(result["psnr_before"]) and np.isfinite(result["psnr_after"])
    assert_next_line(out, "minitorch_deblur.deblur")
    for figure in ("kernels.png", "highlights.png", "train.png", "samples.png"):
        assert (tmp_path / "l07" / figure).stat().st_size > 1000
