"""Every lesson runs end to end in its seconds-long ``--smoke`` mode, so none can rot.

The lessons run in-process (imported from lessons/ and called with their command line); 01 and 02 read the
embedded MNIST subset from an empty data folder with the network refused, and write their figures into tmp_path.
"""
import importlib.util
import sys
from pathlib import Path
from typing import Any, List

import pytest

LESSONS = Path(__file__).resolve().parents[1] / "lessons"


def run_lesson(file_name: str, args: List[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Import lessons/<file_name> (its name starts with a digit, so not by ``import``) and run main() with args."""
    spec = importlib.util.spec_from_file_location(f"lesson_{file_name[:2]}", LESSONS / file_name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", [file_name, *args])
    return module.main()


def offline_args(tmp_path: Path) -> List[str]:
    return ["--smoke", "--out", str(tmp_path / "figures"), "--data-dir", str(tmp_path / "data")]


@pytest.mark.lesson0
def test_lesson00_autograd(monkeypatch, capsys):
    run_lesson("00_autograd.py", ["--smoke"], monkeypatch)
    out = capsys.readouterr().out
    assert "backward():" in out and "by hand:" in out
    assert "gradcheck(f, [0.7, 1.3]) in float64: PASS" in out


@pytest.mark.lesson1
def test_lesson01_mlp_mnist(no_network, monkeypatch, capsys, tmp_path):
    result = run_lesson("01_mlp_mnist.py", offline_args(tmp_path), monkeypatch)
    captured = capsys.readouterr()
    assert "embedded" in captured.err  # the offline fallback, said once
    assert "235,146 parameters" in captured.out and "eval mode: the identity" in captured.out
    assert "moved by lr = 1e-3" in captured.out and "epoch 1:" in captured.out and "/10 correct" in captured.out
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
    assert (tmp_path / "l04" / "compare.png").stat().st_size > 1000


@pytest.mark.lesson5
def test_lesson05_unet_gan(natural_images, no_network, monkeypatch, capsys, tmp_path):
    result = run_lesson("05_unet_gan.py", ["--smoke", "--out", str(tmp_path / "l05"), "--data-dir",
                                           str(natural_images)], monkeypatch)
    out = capsys.readouterr().out
    assert "the same number" in out and "<- uneven: a checkerboard" in out and "max difference 0.0e+00" in out
    assert "6,170,627 parameters" in out and "46x46 patch" in out and "held-out crops: blurred" in out
    assert set(result) == {"gain_db", "test_psnr"}
    for figure in ("run/losses.png", "run/samples/epoch_001.png"):
        assert (tmp_path / "l05" / figure).stat().st_size > 1000
