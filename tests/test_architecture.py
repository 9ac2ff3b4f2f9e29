"""The import rules of ../shared/DESIGN.md, read from the source with ``ast`` (imports inside functions included):
imports go one way (backend <- autograd <- functional <- nn <- models <- commands), the textbook operators import
no fast path, the training loop imports no task, and no command imports another command."""
import ast
from pathlib import Path
from typing import Dict, Set

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "minitorch_deblur"
# the `python -m minitorch_deblur.X` entry points; a package's modules all belong to its command, except that
# checkpoint/ and exercise/ are libraries whose __main__ alone is the command
COMMANDS = {"minitorch_deblur.evaluate", "minitorch_deblur.deblur", "minitorch_deblur.predict",
            "minitorch_deblur.train", "minitorch_deblur.checkpoint.__main__", "minitorch_deblur.exercise.__main__",
            "minitorch_deblur.gradcheck", "minitorch_deblur.lesson"}
TASKS = {"minitorch_deblur.train.classify", "minitorch_deblur.train.restore", "minitorch_deblur.train.gan"}


def _modules() -> Dict[str, Path]:
    """{dotted name: file} of every module of the package."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("minitorch_deblur",) + path.relative_to(PACKAGE).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def imports(name: str) -> Set[str]:
    """The package modules that module ``name`` imports (``from . import x`` counts as importing module x)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in MODULES)
    return found


def command_of(name: str) -> str:
    """The command a module belongs to, or '' for a library module."""
    for command in COMMANDS:
        if name == command or (name.startswith(command + ".") and not command.endswith("__main__")):
            return command
    return ""


def test_every_entry_point_is_a_listed_command():
    """A module with a ``__main__`` guard, or a package's __main__.py, is a command: listed, so the rule below sees
    it."""
    for name, path in MODULES.items():
        entry = path.name == "__main__.py" or "if __name__ == \"__main__\"" in path.read_text()
        if entry:
            assert command_of(name) or command_of(name.rpartition(".")[0]), f"{name} is an entry point: add it"


def test_the_training_loop_imports_no_task():
    assert "minitorch_deblur.train.loop" in MODULES
    assert not imports("minitorch_deblur.train.loop") & TASKS, "train/loop.py must drive the Task contract only"
    assert not imports("minitorch_deblur.train.task") & TASKS


@pytest.mark.parametrize("name", sorted(n for n in MODULES if command_of(n)))
def test_no_command_imports_another_command(name):
    others = {target for target in imports(name) if command_of(target) not in ("", command_of(name))}
    assert not others, f"{name} imports the command(s) {sorted(others)}: move what it needs into a library module"


def test_the_checker_sees_relative_and_function_level_imports():
    deblur = imports("minitorch_deblur.deblur")
    assert {"minitorch_deblur.checkpoint", "minitorch_deblur.imaging.photo_io"} <= deblur
    assert "minitorch_deblur.data.degrade" in deblur                      # imported inside restore_file
    assert command_of("minitorch_deblur.train.cli") == "minitorch_deblur.train"
    assert command_of("minitorch_deblur.checkpoint") == ""                # the library; __main__ is the command
    dispatch = imports("minitorch_deblur.functional.fast.dispatch")
    assert {"minitorch_deblur.autograd", "minitorch_deblur.functional.conv"} <= dispatch
    assert "minitorch_deblur.nn.fusion" in imports("minitorch_deblur.nn.module")   # inside Module.to


def _imports_below(prefix: str, forbidden: Set[str]) -> Set[str]:
    """What the modules named ``prefix`` (a module, or a package and everything in it) import from ``forbidden``
    (package prefixes, 'minitorch_deblur.' left out)."""
    found = set()
    for name in MODULES:
        if name == prefix or name.startswith(prefix + "."):
            found.update(f"{name} imports {target}" for target in imports(name)
                         if any(target == f"minitorch_deblur.{f}" or target.startswith(f"minitorch_deblur.{f}.")
                                for f in forbidden))
    return found


@pytest.mark.parametrize("engine", ["autograd", "backend"])
def test_the_engine_imports_nothing_above_it(engine):
    assert not _imports_below(f"minitorch_deblur.{engine}", {"functional", "nn", "models"})


@pytest.mark.parametrize("textbook", ["conv", "pool", "norm"])
def test_the_textbook_operators_import_no_fast_path(textbook):
    """functional/conv.py, pool.py, norm.py are what lessons print and exercises grade (functional/fast/ says why)."""
    assert not _imports_below(f"minitorch_deblur.functional.{textbook}", {"functional.fast"})


def test_functional_imports_nothing_above_it():
    assert not _imports_below("minitorch_deblur.functional", {"nn", "models", "train"})


def test_nn_imports_no_model_or_command():
    assert not _imports_below("minitorch_deblur.nn", {"models", "train", "imaging"})
