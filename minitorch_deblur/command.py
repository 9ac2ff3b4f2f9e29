"""What every command shares: one-line argparse errors, option validators, ``run`` (errors as one line), and the
file-safety helpers (never write over an input, distinct outputs, a lock on a run folder).

A library module, not a command: the commands import it, never each other.

    parser = Parser(prog=PROG, description=...)               # errors: 'PROG: error: ...', exit 2; adds --debug
    parser.add_argument("--batch-size", type=positive_int, default=100)
    args = parser.parse_args(argv)
    return run(work, args, PROG)                              # work(args); UserError / OSError / Ctrl-C: one line
"""
from __future__ import annotations

import argparse
import errno
import math
import os
import sys
import time
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator, List, NoReturn, Optional, Sequence, Tuple, Type

from .errors import UserError, error_line

MAX_SEED = 2**32 - 1


class Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (no usage block), exit 2, and a ``--debug`` option."""

    def __init__(self, *args, debug: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if debug:
            self.add_argument("--debug", action="store_true", help="show the full traceback of an error")

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (--help lists the options)\n")


# ------------------------------------------------------------------------------ argparse type= validators
def int_range(low: int, high: Optional[int] = None, what: str = "") -> Callable[[str], int]:
    """A ``type=`` for an integer in [low, high] (no upper bound when ``high`` is None)."""
    bound = what or (f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}")

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value
    parse.__name__ = "int"
    return parse


def float_range(low: float, high: float, low_open: bool = False, high_open: bool = False,
                what: str = "") -> Callable[[str], float]:
    """A ``type=`` for a finite number in the interval from low to high (either end open)."""
    bound = what or f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text!r}") from None
        inside = (math.isfinite(value) and (value > low if low_open else value >= low)
                  and (value < high if high_open else value <= high))
        if not inside:
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value
    parse.__name__ = "float"
    return parse


positive_int = int_range(1, what="an integer >= 1")
non_negative_int = int_range(0, what="an integer >= 0")
seed = int_range(0, MAX_SEED, what=f"an integer from 0 to {MAX_SEED}")
fraction = float_range(0, 1, high_open=True)            # [0, 1): e.g. a validation split
probability = float_range(0, 1)                          # [0, 1]
positive_float = float_range(0, math.inf, low_open=True, high_open=True, what="a finite number > 0")


# ------------------------------------------------------------------------------ errors as one line
def describe_os_error(error: OSError) -> str:
    """An OSError as what happened to which file and what to do."""
    where = f" ({error.filename})" if error.filename else ""
    if error.errno == errno.ENOSPC:
        return f"the disk is full{where}; free some space and run again (finished files are kept)"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "the file system is read-only" if error.errno == errno.EROFS else "permission denied"
        return f"cannot use {error.filename or 'a file'}: {why}; choose a path you can write to"
    return f"{error.strerror or error}{where}" if error.strerror else error_line(error)


def run(main_fn: Callable[[argparse.Namespace], int], args: argparse.Namespace, prog: str,
        user_errors: Tuple[Type[BaseException], ...] = ()) -> int:
    """Call ``main_fn(args)``; a UserError, an OSError or one of ``user_errors`` becomes one line on stderr and exit 2,
    Ctrl-C one line and exit 130. ``args.debug`` re-raises instead (the full traceback)."""
    _input_identity.cache_clear()   # the inputs of this run only
    try:
        return main_fn(args)
    except KeyboardInterrupt:
        if getattr(args, "debug", False):
            raise
        print(f"\n{prog}: error: interrupted (Ctrl-C); files already finished are kept, none is left half-written",
              file=sys.stderr)
        return 130
    except BrokenPipeError:   # the reader of the output stopped (``| head``): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # no second error when Python flushes
        return 141                                                         # 128 + SIGPIPE, what a shell reports
    except (UserError, OSError) + tuple(user_errors) as error:
        if getattr(args, "debug", False):
            raise
        message = describe_os_error(error) if isinstance(error, OSError) else error_line(error)
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2


def device(name: str) -> str:
    """``backend.resolve_device`` with its 'no GPU' RuntimeError as a UserError."""
    from .backend import resolve_device

    try:
        return resolve_device(name)
    except RuntimeError as error:
        raise UserError(f"--device {name}: {error_line(error)}") from None


# ------------------------------------------------------------------------------ never destroy a user's file
def same_file(a: os.PathLike, b: os.PathLike) -> bool:
    """Whether two paths name the same existing file (links and ``..`` included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve() and Path(a).exists()


@lru_cache(maxsize=None)
def _input_identity(path: str) -> Optional[Tuple[int, int]]:
    """(device, inode) of an input file, else None; read once however many outputs a run writes (inputs are never
    written, so it cannot go stale)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def refuse_input(written: os.PathLike, inputs: Sequence[os.PathLike], option: str) -> None:
    """UserError when the file about to be written is one of the command's inputs (links and ``..`` included).

    A path that does not exist yet is no input; otherwise one stat of it against the inputs' cached identities, so
    a folder of N photos costs N stats, not N * N."""
    if not os.path.lexists(written):
        return
    try:
        st = os.stat(written)
        target: Optional[Tuple[int, int]] = (st.st_dev, st.st_ino)
    except OSError:   # a dangling link: compare the paths themselves
        target = None
    for source in inputs:
        same = _input_identity(os.fspath(source)) == target if target else same_file(written, source)
        if same:
            raise UserError(f"{option} {written} is the input {source}; choose another path (inputs are never "
                            "overwritten)")


def distinct(paths: Sequence[Path]) -> List[Path]:
    """The paths in order, a later one that repeats an earlier one renamed <stem>.1<suffix>, <stem>.2<suffix>, ..."""
    taken, out = set(), []
    for path in paths:
        candidate, n = path, 0
        while os.path.normcase(candidate.resolve()) in taken:
            n += 1
            candidate = path.with_name(f"{path.stem}.{n}{path.suffix}")
        taken.add(os.path.normcase(candidate.resolve()))
        out.append(candidate)
    return out


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` for the block to write; renamed over ``target`` when the block ends,
    removed on any error or Ctrl-C (never half a file). An OSError names ``target``, not the temporary file."""
    target = Path(target)
    tmp = target.with_name(f".{target.stem}.tmp{target.suffix or '.png'}")
    try:
        yield tmp
        tmp.replace(target)
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(target)) from error
    finally:
        with suppress(OSError):
            tmp.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def folder_lock(folder: Path, what: str = "run folder") -> Iterator[Path]:
    """Hold ``folder/.lock`` (created with O_EXCL, holding our pid) for the block; a lock whose process is gone is
    taken over. Another live holder: UserError."""
    lock = Path(folder) / ".lock"
    for attempt in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            text = lock.read_text().strip() if lock.exists() else ""
            stale = (not _alive(int(text))) if text.isdigit() else time.time() - _mtime(lock) > 60
            if attempt or not stale:
                holder = f"process {text}" if text.isdigit() else "another process"
                raise UserError(f"{folder} is in use by {holder} (its {what} lock {lock}); wait for it to finish, "
                                "or use another folder") from None
            lock.unlink(missing_ok=True)
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
