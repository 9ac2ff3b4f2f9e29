"""The exercise command line (see __init__.py)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from .. import command
from ..command import Parser
from ..errors import UserError
from . import status as grades
from .harness import DEFAULT_TIMEOUT, check_in_child, printed_tail, seconds
from .skeleton import skeleton_source, solution_source
from .table import BY_NAME, EXERCISES, Exercise

PROG = "python -m minitorch_deblur.exercise"
FOLDER = Path("exercises")
# The course's order: by lesson, the table's order within one (after conv2d: max_pool2d, avg_pool2d, batch_norm)
COURSE = sorted(EXERCISES, key=lambda e: e.lesson)
IGNORE = "# written by exercise start: your exercises stay out of the clone's git status\n*\n"


def _path(exercise: Exercise) -> Path:
    return FOLDER / f"{exercise.name}.py"


def _tests(exercise: Exercise) -> str:
    return f"op-table rows {', '.join(exercise.rows)}" if exercise.rows else f"{exercise.name} beside the built-in"


def status(exercise: Exercise) -> str:
    """The file's status, read without running it (status.py): its blanks and the record of its last check."""
    return grades.status(exercise, _path(exercise))


def _select(names: Sequence[str], lesson: Optional[int]) -> List[Exercise]:
    if lesson is not None:
        chosen = [e for e in EXERCISES if e.lesson == lesson]
        if not chosen:
            raise UserError(f"no exercises for lesson {lesson} (lessons: {sorted({e.lesson for e in EXERCISES})})")
        return chosen
    unknown = [n for n in names if n not in BY_NAME]
    if unknown or not names:
        raise UserError(f"{'unknown exercise ' + repr(unknown[0]) if unknown else 'name one'}; "
                        f"choose from: {', '.join(BY_NAME)} (or --lesson N)")
    return [BY_NAME[n] for n in names]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse, then run the subcommand; user errors are one line and exit 2 (command.run)."""
    parser = Parser(prog=PROG, debug=False, description="Write the operators yourself; the framework grades them.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every exercise by lesson, with its status",
                   description="Every exercise in the course's order, grouped by lesson, with its status.")
    for name, text in (("start", "write the skeleton into exercises/ (and exercises/.gitignore, so git status "
                                 "ignores the folder)"),
                       ("check", "grade your file exercises/NAME.py"),
                       ("solution", "show the built-in code")):
        p = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        p.add_argument("names", nargs="*", metavar="NAME",
                       help=f"exercises by name, e.g. conv2d ({PROG} list shows them all)")
        p.add_argument("--lesson", type=int, metavar="N", help="every exercise of lesson N instead of names")
        if name == "start":
            p.add_argument("--force", action="store_true", help="overwrite your file")
        if name == "check":
            p.add_argument("--all", action="store_true", help="every exercise you have started")
            p.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                           help=f"time limit of one check, run in its own process (default {DEFAULT_TIMEOUT:g})")
    return command.run(_run, parser.parse_args(argv), PROG)


def _run(args: argparse.Namespace) -> int:
    if args.command == "list":
        for lesson in sorted({e.lesson for e in COURSE}):
            print(f"lesson {lesson}:")
            for e in (e for e in COURSE if e.lesson == lesson):
                print(f"  {e.name:18s} {status(e)}")
        return 0
    if args.command == "check" and args.all:
        chosen = [e for e in EXERCISES if _path(e).is_file()]
        if not chosen:
            print(f"no exercise started yet: {PROG} start conv2d")
            return 1
    else:
        chosen = _select(args.names, args.lesson)
    failed = 0
    for e in chosen:
        path = _path(e)
        if args.command == "start":
            if path.exists() and not args.force:
                print(f"{path} exists: your work is kept (--force overwrites it)", file=sys.stderr)
                failed += 1
                continue
            FOLDER.mkdir(exist_ok=True)
            ignore = FOLDER / ".gitignore"
            if not ignore.exists():
                ignore.write_text(IGNORE)
                print(f"wrote {ignore} ('*'): git status will not list your exercises (delete it to commit them)")
            path.write_text(skeleton_source(e, _tests(e)))
            print(f"wrote {path}: write {', '.join(e.blanks)}, then: {PROG} check {e.name}")
        elif args.command == "solution":
            print(solution_source(e))
        else:
            if not path.is_file():
                print(f"{e.name}: not started ({PROG} start {e.name})")
                failed += 1
                continue
            report, printed = check_in_child(e, path, args.timeout)
            grades.record(e, path, report)
            print(report.text())
            tail = printed_tail(printed)
            if tail:
                print(tail)
            if report.passed:
                later = [x for x in COURSE[COURSE.index(e) + 1:] if not _path(x).is_file()]
                if later:
                    print(f"  next: {PROG} start {later[0].name}")
            failed += not report.passed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
