"""The grading process's side: ``run`` grades the learner's file and writes the report as JSON into a folder the
parent made. harness.py starts it (forked, or spawned where fork is missing) and alone decides the verdict: a
child that ends without writing its report (``os._exit``, a crash, a timeout) fails there."""
from __future__ import annotations

import faulthandler
import json
import os
import sys
import traceback
from dataclasses import asdict
from pathlib import Path

from .grade import Report, check
from .table import BY_NAME

REPORT = "report.json"
OUTPUT = "output.txt"


def _where(error: BaseException, path: Path) -> str:
    """' at x.py:12: raise SystemExit(0)' for the last frame in the learner's file ('' if none)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve() == path.resolve()]
    return f" at {path.name}:{frames[-1].lineno}: {frames[-1].line}" if frames else ""


def grade(name: str, path: Path) -> Report:
    """grade.check, with an exit or a KeyboardInterrupt raised by the learner's code turned into a failing report."""
    try:
        return check(BY_NAME[name], path)
    except SystemExit as error:
        return Report(name, False, [f"your code called exit({error.code!r}){_where(error, path)}"],
                      ["an operator must return its result; exit() / sys.exit() ends the grader, so it counts as "
                       "a failure"])
    except KeyboardInterrupt as error:
        return Report(name, False, [f"your code raised KeyboardInterrupt{_where(error, path)}"])


def _redirect_output(file: Path) -> None:
    """Send this process's stdout and stderr (Python's and the C level's) to ``file`` for the parent to show."""
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for target in (1, 2):
        os.dup2(fd, target)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)


def run(name: str, path: str, folder: str) -> None:
    """The child's whole life: its own session (a timeout kills what it starts), output to a file, grade, report."""
    os.setsid() if hasattr(os, "setsid") else None
    _redirect_output(Path(folder) / OUTPUT)
    faulthandler.enable(sys.stderr)                 # a crash leaves a Python traceback for the parent to show
    report = grade(name, Path(path))
    part = Path(folder) / (REPORT + ".part")
    part.write_text(json.dumps(asdict(report)))
    os.replace(part, Path(folder) / REPORT)         # the parent sees the whole report or none
    sys.stdout.flush()
    sys.stderr.flush()
