"""The exercise grader as a safe harness (issue 23, section 5): each check runs in a child process with a time
limit; a loop, an exit or a crash in the learner's code is a failure with a hint, and ``list`` runs nothing."""
import time
from pathlib import Path

import pytest

from minitorch_deblur import exercise
from minitorch_deblur.exercise import harness
from minitorch_deblur.exercise.__main__ import main
from minitorch_deblur.exercise.skeleton import PACKAGE

CONV = exercise.BY_NAME["conv2d"]
ANCHOR = "        kernel, stride, padding, (ho, wo) = conv_args(x, weight, bias, stride, padding)\n"


def _learner(tmp_path: Path, line: str = "", top: str = "") -> Path:
    """exercises/conv2d.py: the built-in conv.py with ``line`` first in Conv2d.forward and ``top`` after the
    __future__ import."""
    source = (PACKAGE / CONV.source).read_text()
    assert source.count(ANCHOR) == 1
    source = source.replace(ANCHOR, line + ANCHOR)
    future = "from __future__ import annotations\n"
    source = source.replace(future, future + top, 1)
    path = tmp_path / "exercises" / "conv2d.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(source)
    return path


def _check(tmp_path, line="", top="", timeout=20.0):
    report, printed = exercise.check_in_child(CONV, _learner(tmp_path, line, top), timeout)
    return report, report.text(), printed


def test_an_infinite_loop_fails_within_the_timeout(tmp_path):
    start = time.perf_counter()
    report, text, _ = _check(tmp_path, "        while True:\n            pass\n", timeout=2)
    assert time.perf_counter() - start < 12
    assert not report.passed and "timed out after 2 s: an infinite loop?" in text


@pytest.mark.parametrize("line, says", [
    ("        raise SystemExit(0)\n", "your code called exit(0) at conv2d.py:"),
    ("        import sys; sys.exit()\n", "your code called exit(None)"),
    ("        import os; os._exit(0)\n", "ended the grader's process (exit status 0)"),
    ("        import os; os._exit(3)\n", "(exit status 3)"),
    ("        import ctypes; ctypes.string_at(0)\n", "died of signal SIGSEGV"),
    ("        import os, signal; os.kill(os.getpid(), signal.SIGKILL)\n", "died of signal SIGKILL"),
])
def test_an_exit_or_a_crash_in_the_learners_code_is_a_failure_with_a_hint(tmp_path, line, says):
    report, text, _ = _check(tmp_path, line)
    assert not report.passed and says in text and "hint:" in text


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_process_the_learners_code_leaves_running_is_stopped(tmp_path):
    pid_file = tmp_path / "pid"
    line = (f"        import subprocess, pathlib; pathlib.Path({str(pid_file)!r}).write_text("
            "str(subprocess.Popen(['sleep', '60']).pid))\n")
    report, text, _ = _check(tmp_path, line)
    assert report.passed, text
    pid = int(pid_file.read_text())
    for _ in range(50):
        if not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"sleep {pid} still runs after the check")


def test_an_exit_at_import_is_a_failure(tmp_path):
    report, text, _ = _check(tmp_path, top="import os\nos._exit(0)\n")
    assert not report.passed and "exit status 0" in text


def test_a_correct_solution_passes_and_shows_what_it_printed(tmp_path):
    report, text, printed = _check(tmp_path, '        print("forward called")\n')
    assert report.passed, text
    assert "forward called" in printed and "output while grading" in harness.printed_tail(printed)


def test_a_correct_solution_passes_in_a_spawned_process_too(tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "START_METHOD", "spawn")
    report, text, _ = _check(tmp_path, timeout=60)
    assert report.passed, text


def test_the_command_fails_with_exit_1_and_list_runs_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "MARKER"
    _learner(tmp_path, top=f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n")
    assert main(["list"]) == 0
    assert "conv2d             written, not checked since your last edit" in capsys.readouterr().out
    assert not marker.exists(), "list executed the learner's file"
    assert main(["check", "conv2d", "--timeout", "30"]) == 0 and "PASSED" in capsys.readouterr().out
    marker.unlink()
    assert main(["list"]) == 0 and "conv2d             passing" in capsys.readouterr().out
    assert not marker.exists()
    _learner(tmp_path, "        raise SystemExit(0)\n")
    assert main(["check", "conv2d", "--timeout", "30"]) == 1
    assert "your code called exit(0)" in capsys.readouterr().out
    assert main(["list"]) == 0 and "conv2d             failing: your code called exit(0)" in capsys.readouterr().out


def test_list_reads_which_blanks_are_left(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["start", "conv2d"]) == 0
    path = Path("exercises/conv2d.py")
    path.write_text(path.read_text().replace('raise NotImplementedError("conv2d: write Conv2d.forward")',
                                             "return x", 1))
    capsys.readouterr()
    assert main(["list"]) == 0
    assert "conv2d             started: 1 of 2 still to write (Conv2d.backward)" in capsys.readouterr().out
    path.write_text("def broken(:\n")
    assert main(["list"]) == 0 and "conv2d             syntax error at line 1" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["0", "-1", "abc", "inf"])
def test_a_bad_timeout_is_one_line_and_exit_2(value, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["check", "conv2d", "--timeout", value])
    assert stop.value.code == 2 and "must be a positive number of seconds" in capsys.readouterr().err
