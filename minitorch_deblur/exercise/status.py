"""What ``exercise list`` shows, decided without running anything in the learner's file.

Two sources, both read-only: the file's syntax tree (``ast.parse`` executes nothing) says which blanks still hold
the skeleton's ``raise NotImplementedError`` marker; ``exercises/.grades.json``, written by ``check`` after each
graded run, holds the file's SHA-256 and the verdict. A file whose hash matches its record shows that verdict;
an edited file shows 'not checked since your last edit'.
"""
from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path
from typing import Dict, List

from .grade import Report
from .skeleton import _targets
from .table import Exercise

RECORD = ".grades.json"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _blank(node: ast.FunctionDef) -> bool:
    """The body is still the marker: [docstring] raise NotImplementedError(...)."""
    body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def unwritten(exercise: Exercise, source: str) -> List[str]:
    """The exercise's blanks that still hold the marker (a blank missing from the file counts as unwritten)."""
    found = _targets(ast.parse(source), exercise.blanks)
    return [b for b in exercise.blanks if b not in found or _blank(found[b])]


def _records(folder: Path) -> Dict[str, dict]:
    try:
        data = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(exercise: Exercise, path: Path, report: Report) -> None:
    """Remember the verdict on this exact file (best effort: a read-only folder just keeps no record)."""
    data = _records(path.parent)
    data[exercise.name] = {"sha256": digest(path), "passed": report.passed,
                           "summary": report.lines[-1] if report.lines else ""}
    try:
        (path.parent / RECORD).write_text(json.dumps(data, indent=1, sort_keys=True))
    except OSError:
        pass


def status(exercise: Exercise, path: Path) -> str:
    """'not started', 'started: N of M to write', 'passing', 'failing: ...', or 'not checked since your last edit'."""
    if not path.is_file():
        return "not started"
    try:
        source = path.read_text()
        todo = unwritten(exercise, source)
    except (OSError, UnicodeDecodeError) as error:
        return f"unreadable: {error}"
    except SyntaxError as error:
        return f"syntax error at line {error.lineno}: {error.msg}"
    if todo:
        return f"started: {len(todo)} of {len(exercise.blanks)} still to write ({', '.join(todo)})"
    entry = _records(path.parent).get(exercise.name)
    if not isinstance(entry, dict) or entry.get("sha256") != digest(path):
        return "written, not checked since your last edit"
    return "passing" if entry.get("passed") is True else f"failing: {entry.get('summary', '')}"
