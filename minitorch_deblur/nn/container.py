"""Containers: ``Sequential`` (run children in order) and ``ModuleList`` (a registered list of modules)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Iterator, Union

from .module import Module


def _index(n: int, idx: int, owner: str) -> int:
    """A non-negative index into n items, or an IndexError naming the container."""
    i = idx + n if idx < 0 else idx
    if not 0 <= i < n:
        raise IndexError(f"{owner}: index {idx} is out of range for {n} modules")
    return i


class Sequential(Module):
    """``Sequential(a, b, c)(x) == c(b(a(x)))``; also ``Sequential(OrderedDict(name=module, ...))``.

    Children are named '0', '1', ... (or by the dict keys), so parameters read 'features.0.weight'.
    Indexing returns a child, a slice returns a new Sequential of the same children.
    """

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, _checked(m, name))
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), _checked(m, str(i)))

    def __getitem__(self, idx: Union[int, slice]) -> Any:
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        return items[_index(len(items), idx, "Sequential")][1]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self)), _checked(module, str(len(self))))
        return self

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x


class ModuleList(Module):
    """A list whose modules are registered (so their parameters are found); it has no forward of its own."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self.extend(modules)

    def __getitem__(self, idx: Union[int, slice]) -> Any:
        values = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(values[idx])
        return values[_index(len(values), idx, "ModuleList")]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(str(_index(len(self), idx, "ModuleList")), _checked(module, str(idx)))

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self)), _checked(module, str(len(self))))
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        for m in modules:
            self.append(m)
        return self


def _checked(m: Any, name: str) -> Module:
    if not isinstance(m, Module):
        raise TypeError(f"container entry {name} is a {type(m).__name__}, not a Module (wrap functions in a Module)")
    return m
