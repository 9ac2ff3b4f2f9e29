"""Bad input gets an error that names the operator and the shapes (conv/pool errors live in test_conv/test_pool)."""
import numpy as np
import pytest

import minitorch_deblur as mt
import minitorch_deblur.functional as F

pytestmark = pytest.mark.lesson0


@pytest.mark.parametrize("call, pattern", [
    (lambda: F.linear(mt.ones(2, 5), mt.ones(3, 4)),
     r"linear: input of shape \(2, 5\) does not match weight of shape \(3, 4\)"),
    (lambda: F.linear(mt.ones(2, 4), mt.ones(3, 4), mt.ones(4)), r"linear: bias of shape \(4,\) should be \(3,\)"),
    (lambda: mt.ones(2, 3) @ mt.ones(2, 3), r"matmul: shapes \(2, 3\) and \(2, 3\) do not chain"),
    (lambda: F.cat([mt.ones(2, 3), mt.ones(3, 4)], dim=1), r"cat: all inputs must match except along dim 1.*\(2, 3\), \(3, 4\)"),
    (lambda: mt.ones(2, 3).reshape(4, 2), r"reshape: cannot view a tensor of shape \(2, 3\) \(6 elements\) as \(4, 2\)"),
    (lambda: mt.ones(2, 3).sum(dim=2), r"sum: dim 2 is out of range for a tensor of shape \(2, 3\)"),
    (lambda: F.pad(mt.ones(1, 1, 2, 2), (3, 3), mode="reflect"), r"pad: reflect padding \(3, 3\) must be smaller"),
    (lambda: F.mse_loss(mt.ones(2, 3), mt.ones(3, 2)), r"mse_loss: input \(2, 3\) and target \(3, 2\)"),
    (lambda: F.cross_entropy(mt.ones(4, 10), np.zeros(3, dtype=np.int64)),
     r"cross_entropy: expected input \(N, C\) and integer target \(N,\), got input \(4, 10\) and target \(3,\)"),
    (lambda: F.cross_entropy(mt.ones(2, 10), np.array([1, 10])), r"cross_entropy: target holds class 10, outside \[0, 9\]"),
    (lambda: F.cross_entropy(mt.ones(2, 10), np.array([1.0, 2.0])), r"cross_entropy: target must hold integer"),
    (lambda: mt.ones(2, 3)[5], r"getitem: index 5 does not fit a tensor of shape \(2, 3\)"),
    (lambda: mt.ones(2, 3).permute(0, 0), r"permute: dims \(0, 0\) are not a permutation"),
])
def test_error_names_the_op_and_shapes(call, pattern):
    with pytest.raises((ValueError, TypeError, IndexError), match=pattern):
        call()


def test_a_missing_dataset_prints_every_file_its_checksum_and_folder(capsys, tmp_path):
    """Offline, the command's error lists what to put where (offline_message), not only its first line."""
    import argparse

    from minitorch_deblur import command
    from minitorch_deblur.data.root import MissingDataError, offline_message

    text = offline_message(tmp_path / "cifar10", [("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", 10)],
                           ["https://example.org/"], "CIFAR-10", "URLError")

    def fails(args):
        raise MissingDataError(text)

    assert command.run(fails, argparse.Namespace(), "prog") == 2
    err = capsys.readouterr().err
    assert "cifar-10-python.tar.gz  md5 c58f30108f718f92721af3b95e74349a" in err and f"{tmp_path / 'cifar10'}/" in err


def test_a_closed_pipe_ends_a_command_quietly():
    """``... | head`` closes the pipe: exit 141 (128 + SIGPIPE) with nothing on stderr, as Unix tools do."""
    import subprocess
    import sys

    script = ("import argparse, sys\nfrom minitorch_deblur import command\n"
              "def fails(args):\n    raise BrokenPipeError(32, 'Broken pipe')\n"
              "sys.exit(command.run(fails, argparse.Namespace(), 'prog'))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 141 and done.stderr == ""
