"""Exercises that grade themselves:  python -m minitorch_deblur.exercise list | start NAME | check NAME | solution NAME

``start conv2d`` (or ``start --lesson 2``) writes ``exercises/<name>.py``: the real operator's file with the bodies
to write replaced by ``raise NotImplementedError`` and a header with the formula and hints. ``check conv2d``
grades that file with the project's own op table and gradient checker (grade.py) and says what failed, where,
and why it might have. ``check --all`` grades every exercise started; ``solution conv2d`` prints the built-in code.

The command grades each file in a child process with a time limit (harness.py, ``--timeout``, default 60 s): an
infinite loop, ``exit()``, ``os._exit()`` or a crash in the learner's code is a failure with a hint, and the
verdict is decided in the parent. ``list`` runs nothing: it reads the file's syntax tree and the record of its
last check (status.py). Limit: the learner's code runs in the same process as the grading checks, so a learner
who monkeypatches the grader (or writes its report) can fake a pass. This catches mistakes, not cheating.
``check`` here grades in this process (fast, for tests); ``check_in_child`` is the command's safe harness.
"""
from .grade import Report, check
from .harness import check_in_child
from .table import BY_NAME, EXERCISES, Exercise

__all__ = ["BY_NAME", "EXERCISES", "Exercise", "Report", "check", "check_in_child"]
