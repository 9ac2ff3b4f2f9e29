"""Exercises that grade themselves:  python -m minitorch_deblur.exercise list | start NAME | check NAME | solution NAME

``start conv2d`` (or ``start --lesson 2``) writes ``exercises/<name>.py``: the real operator's file with the bodies
to write replaced by ``raise NotImplementedError`` and a header with the formula and hints. ``check conv2d``
grades that file with the project's own op table and gradient checker (grade.py) and says what failed, where,
and why it might have. ``check --all`` grades every exercise started; ``solution conv2d`` prints the built-in code.
"""
from .grade import Report, check
from .table import BY_NAME, EXERCISES, Exercise

__all__ = ["BY_NAME", "EXERCISES", "Exercise", "Report", "check"]
