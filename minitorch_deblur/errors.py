"""Errors a user causes, as opposed to bugs: a bad option, a missing or corrupt file, a checkpoint of another model.

Every command prints a ``UserError`` as one line on stderr (``error_line``) and exits 2, with no traceback unless
``--debug``. Raise one with what was wrong and how to fix it: the option or file, the value, what it must be.
"""
from __future__ import annotations


class UserError(Exception):
    """What the user asked for cannot be done; the message says why and how to fix it."""


class CheckpointError(UserError, ValueError):
    """A checkpoint file that cannot be loaded: truncated, corrupt, of another model or format version."""


def error_line(error: BaseException) -> str:
    """An error as one line for a command's stderr: its first line, plus a later line that says what to pass
    (e.g. '... pass allow_partial=True (--allow-partial) to use it.'). An error whose class sets ``listing`` (a
    missing dataset: each file, its checksum and its folder) is printed whole."""
    if getattr(error, "listing", False):   # its lines are what to do (a dataset's files, checksums, folder): keep them
        return str(error)
    lines = str(error).splitlines() or [type(error).__name__]
    hints = [line for line in lines[1:] if "(--" in line]
    return " ".join([lines[0]] + hints[:1])
