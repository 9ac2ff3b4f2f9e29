"""A skeleton: the real operator's file with the bodies of the exercise's functions replaced by
``raise NotImplementedError``; docstrings, signatures and comments stay, and a header says what to do."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Tuple

from .table import Exercise

PACKAGE = Path(__file__).resolve().parent.parent
MARK = "raise NotImplementedError"


def _targets(tree: ast.Module, blanks: Tuple[str, ...]) -> Dict[str, ast.FunctionDef]:
    found: Dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in blanks:
            found[node.name] = node
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and f"{node.name}.{item.name}" in blanks:
                    found[f"{node.name}.{item.name}"] = item
    return found


def skeleton_source(exercise: Exercise, tests: str) -> str:
    """The exercise's file with its blanks emptied and the header on top."""
    source = (PACKAGE / exercise.source).read_text()
    lines = source.splitlines()
    found = _targets(ast.parse(source), exercise.blanks)
    missing = set(exercise.blanks) - set(found)
    if missing:
        raise RuntimeError(f"exercise {exercise.name}: {exercise.source} has no {sorted(missing)}")
    cuts: List[Tuple[int, int, str]] = []
    for name, node in found.items():
        body = node.body
        first = body[1] if isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None),
                                                                        ast.Constant) and len(body) > 1 else body[0]
        if first is body[0] and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            continue   # a docstring alone: nothing to blank
        indent = " " * first.col_offset
        cuts.append((first.lineno - 1, node.end_lineno, f'{indent}{MARK}("{exercise.name}: write {name}")'))
    for start, stop, text in sorted(cuts, reverse=True):
        lines[start:stop] = [text]
    header = [
        f"# Exercise {exercise.name} (lesson {exercise.lesson}): write {', '.join(exercise.blanks)}.",
        f"# This is {exercise.source} with those bodies removed. Formula: {exercise.formula}",
        f"# Graded by: python -m minitorch_deblur.exercise check {exercise.name}  ({tests})",
    ] + [f"# Hint: {h}" for h in exercise.hints] + [
        "# Relative imports (from ..autograd import ...) work: the grader loads this file inside the package.", ""]
    return "\n".join(header + lines) + "\n"


def solution_source(exercise: Exercise) -> str:
    """The built-in implementation of the exercise's blanks, function by function."""
    source = (PACKAGE / exercise.source).read_text()
    lines = source.splitlines()
    found = _targets(ast.parse(source), exercise.blanks)
    parts = [f"# {exercise.source}: {name}\n" + "\n".join(lines[node.lineno - 1 - len(node.decorator_list):
                                                                 node.end_lineno])
             for name, node in found.items()]
    return "\n\n".join(parts) + "\n"
