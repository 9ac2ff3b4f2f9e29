"""The direction of imports (DESIGN.md): backend <- autograd <- functional <- nn <- models <- commands, and the
textbook convolution apart from its fast paths. Every module under minitorch_deblur/ is parsed with ``ast``,
imports inside functions included."""
import ast
from pathlib import Path
from typing import Iterator, List

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "minitorch_deblur"


def _imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, as a dotted name from the package root ('functional.elementwise')."""
    here = path.relative_to(PACKAGE).with_suffix("").parts
    package = here[:-1] if here[-1] != "__init__" else here[:-1]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("minitorch_deblur"):
                    yield alias.name.partition(".")[2]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if not (node.module or "").startswith("minitorch_deblur"):
                    continue
                base: List[str] = (node.module or "").split(".")[1:]
            else:
                base = list(package[:len(package) - node.level + 1]) + (node.module.split(".") if node.module else [])
            yield ".".join(base)
            for alias in node.names:   # `from . import conv_fft` imports a module too
                yield ".".join(base + [alias.name])


def _modules(folder: str = "") -> List[Path]:
    root = PACKAGE / folder
    return sorted(root.rglob("*.py")) if root.is_dir() else [root]


def _offenders(files: List[Path], forbidden: List[str]) -> List[str]:
    return [f"{path.relative_to(PACKAGE)} imports {name}" for path in files for name in _imports(path)
            if any(name == f or name.startswith(f + ".") for f in forbidden)]


def test_the_import_parser_sees_relative_and_nested_imports():
    names = set(_imports(PACKAGE / "functional" / "fast" / "dispatch.py"))
    assert {"autograd", "functional.conv", "functional.fast.conv_fft", "functional.fast.conv2d_fast"} <= names
    assert "nn.fusion" in set(_imports(PACKAGE / "nn" / "module.py"))   # imported inside Module.to


@pytest.mark.parametrize("engine", ["autograd.py", "backend.py"])
def test_the_engine_imports_nothing_above_it(engine):
    assert not _offenders(_modules(engine), ["functional", "nn", "models"])


@pytest.mark.parametrize("textbook", ["functional/conv.py", "functional/pool.py", "functional/norm.py"])
def test_the_textbook_operators_import_no_fast_path(textbook):
    assert not _offenders(_modules(textbook), ["functional.fast"])


def test_functional_imports_nothing_above_it():
    assert not _offenders(_modules("functional"), ["nn", "models", "train"])
