"""The safe harness: each check runs the learner's file in a child process (child.py) with a time limit.

The child is forked (spawned where fork is missing); the parent never imports the learner's file. It reads the child's JSON report and decides the verdict itself: a
pass needs exit status 0 AND a complete report that says passed. An exit (``sys.exit``, ``os._exit``), a crash
(a signal, a non-zero status) or a timeout is a failure with a hint. What the child printed is shown after the
report. A learner who monkeypatches the grader inside the child can forge its report: this keeps honest mistakes
(a loop, an exit, a segfault) from hanging or fooling the grader, it is no defence against deliberate cheating.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import tempfile
from pathlib import Path
from typing import Any, Optional, Tuple

from . import child
from .grade import Report
from .table import Exercise

DEFAULT_TIMEOUT = 60.0   # seconds; a built-in solution takes under a second
START_METHOD: Optional[str] = None   # None: fork where available, else spawn (tests set "spawn" to try it)
SHOWN_LINES = 20         # the last lines of the child's stdout/stderr shown to the learner


def seconds(text: str) -> float:
    """argparse type of ``--timeout``: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _context() -> Any:
    """fork where the system has it (the child starts with the grader already imported: no start-up cost), else
    spawn (a fresh interpreter that imports the package first)."""
    method = START_METHOD or ("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    return multiprocessing.get_context(method)


def _run(exercise: Exercise, path: Path, folder: Path, timeout: float) -> Optional[int]:
    """Run child.run in its own process; its exit status (negative: killed by that signal), None on a timeout.
    The child leads its own session, so a timeout kills whatever it started too; Ctrl-C here stops it as well."""
    proc = _context().Process(target=child.run, args=(exercise.name, str(path), str(folder)), daemon=True)
    proc.start()
    try:
        proc.join(timeout)
    finally:
        timed_out = proc.exitcode is None
        _kill(proc.pid, alive=timed_out)            # the child on a timeout; always what it left running
        proc.join()
    return None if timed_out else proc.exitcode


def _kill(pid: int, alive: bool) -> None:
    """SIGKILL the child's session (it and anything it started); the child alone when it has none yet. After the
    child was reaped (``alive`` False) only its session is signalled: its pid may already be someone else's."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        if alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _read(result: Path, exercise: Exercise) -> Optional[Report]:
    """The child's report, or None when it is missing or malformed."""
    try:
        data = json.loads(result.read_text())
        report = Report(str(data["exercise"]), data["passed"] is True, [str(x) for x in data["lines"]],
                        [str(x) for x in data["hints"]])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return report if report.exercise == exercise.name else None


def _ended(exercise: Exercise, status: Optional[int], timeout: float) -> Report:
    """The failing report of a child that did not report."""
    if status is None:
        return Report(exercise.name, False, [f"timed out after {timeout:g} s: an infinite loop?"],
                      ["a loop whose condition never changes, or a huge input? the built-in solution takes under a "
                       "second (--timeout N allows more)"])
    if status < 0:
        name = signal.Signals(-status).name if -status in signal.Signals._value2member_map_ else str(-status)
        hint = ("killed from outside: often the system running out of memory (a huge array?)" if name == "SIGKILL"
                else "a crash in NumPy is often an out-of-bounds view: check the shapes and strides you give "
                "np.lib.stride_tricks.as_strided")
        return Report(exercise.name, False, [f"the grader's process died of signal {name} while running your code"],
                      [hint])
    return Report(exercise.name, False, [f"your code ended the grader's process (exit status {status}) before it "
                                         "could report: os._exit() or exit() in your code?"],
                  ["an operator must return its result; ending the process counts as a failure"])


def check_in_child(exercise: Exercise, path: Path, timeout: float = DEFAULT_TIMEOUT) -> Tuple[Report, str]:
    """Grade ``path`` in a child process: (the verdict, what the child printed)."""
    with tempfile.TemporaryDirectory(prefix="minitorch-grade-") as name:
        folder = Path(name)
        status = _run(exercise, path.resolve(), folder, timeout)
        report = _read(folder / child.REPORT, exercise) if status == 0 else None
        try:
            printed = (folder / child.OUTPUT).read_text(errors="replace")
        except OSError:
            printed = ""
    return (report if report is not None else _ended(exercise, status, timeout)), printed


def printed_tail(printed: str) -> str:
    """The last SHOWN_LINES lines the child printed, indented under a heading ('' when it printed nothing)."""
    lines = printed.strip("\n").splitlines()
    if not lines:
        return ""
    head = "  output while grading" + (f" (last {SHOWN_LINES} of {len(lines)} lines)" if len(lines) > SHOWN_LINES
                                       else "") + ":"
    return "\n".join([head] + [f"    | {line[:200]}" for line in lines[-SHOWN_LINES:]])
