"""``Module``: the base class of every layer and model.

Assigning a ``Parameter`` or a ``Module`` as an attribute registers it (``self.fc = Linear(4, 2)``), so
``parameters()``, ``state_dict()``, ``train()``/``eval()`` and ``to(device)`` reach the whole tree. Buffers are
raw arrays that belong to the model but are not learned (batch norm's running statistics)::

    class MLP(Module):
        def __init__(self):
            super().__init__()
            self.fc1 = Linear(784, 256)
            self.fc2 = Linear(256, 10)

        def forward(self, x):
            return self.fc2(self.fc1(x).relu())
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Set, Tuple

import numpy as np

from ..autograd import Tensor, array_of, forget_grads
from ..backend import device_of, get_array_module, shape_str, to_device
from ..errors import CheckpointError
from .parameter import Parameter


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped."""

    missing_keys: List[str]
    unexpected_keys: List[str]


class StateDictMismatch(CheckpointError, RuntimeError):
    """A state dict that does not fit the model (a RuntimeError, as in PyTorch; a CheckpointError, so commands print
    it as one line)."""


def state_dict_problems(expected: Dict[str, Tuple[int, ...]], given: Dict[str, Tuple[int, ...]],
                        strict: bool = True) -> str:
    """Why arrays of shapes ``given`` do not fit parameters and buffers of shapes ``expected`` ({name: shape}), as
    one line naming the missing, unexpected (when ``strict``) and mis-shaped keys; '' when they fit."""
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    mis_shaped = [f"{k}: model expects {shape_str(shape)}, checkpoint has {shape_str(given[k])}"
                  for k, shape in expected.items() if k in given and tuple(shape) != tuple(given[k])]
    problems = []
    if strict and missing:
        problems.append("missing keys: " + _some(missing))
    if strict and unexpected:
        problems.append("unexpected keys: " + _some(unexpected))
    if mis_shaped:
        problems.append("mis-shaped keys: " + _some(mis_shaped, "; "))
    return "; ".join(problems)


def _some(items: List[str], sep: str = ", ", most: int = 8) -> str:
    """The first ``most`` items joined, then how many more (a wrong model's 200 keys stay readable)."""
    more = f"{sep}and {len(items) - most} more" if len(items) > most else ""
    return sep.join(items[:most]) + more


class Module:
    """Base class: registers parameters, buffers and sub-modules; ``module(x)`` calls ``forward(x)``."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, (Parameter, Module)):
            for table in (self.__dict__, params, buffers, modules):
                table.pop(name, None)
            (params if isinstance(value, Parameter) else modules)[name] = value
        elif name in params or name in modules:
            if value is not None:
                kind, want = ("parameter", "Parameter") if name in params else ("sub-module", "Module")
                raise TypeError(f"cannot assign a {type(value).__name__} to {kind} '{name}' of "
                                f"{type(self).__name__} (expected a {want} or None)")
            (params if name in params else modules)[name] = None
        elif name in buffers:
            buffers[name] = array_of(value)  # stays a buffer
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:  # only called when normal lookup fails
        for table in ("_parameters", "_buffers", "_modules"):
            d = self.__dict__.get(table)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        """Register ``param`` (None allowed: an absent bias shows up as None, not in ``parameters()``)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter({name!r}): expected a Parameter or None, got {type(param).__name__}")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name: str, array: Any) -> None:
        """Register a raw xp array (not learned, saved in ``state_dict``, moved by ``to``); None allowed."""
        if isinstance(array, Tensor):
            array = array.data
        self.__dict__.pop(name, None)
        self._buffers[name] = array

    def add_module(self, name: str, module: Optional["Module"]) -> None:
        self.__dict__.pop(name, None)
        self._modules[name] = module

    # ------------------------------------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "", memo: Optional[Set[int]] = None) -> Iterator[Tuple[str, "Module"]]:
        """(dotted name, module) for self and every descendant, each module once ('' is self)."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, table: str, recurse: bool) -> Iterator[Tuple[str, Any]]:
        seen: Set[int] = set()
        mods = self.named_modules() if recurse else iter([("", self)])
        for prefix, m in mods:
            for name, v in getattr(m, table).items():
                if v is None or id(v) in seen:
                    continue
                seen.add(id(v))
                yield (f"{prefix}.{name}" if prefix else name), v

    def named_parameters(self, recurse: bool = True) -> Iterator[Tuple[str, Parameter]]:
        """('features.0.weight', Parameter) pairs; a parameter shared by two layers appears once."""
        return self._named_members("_parameters", recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse):
            yield p

    def named_buffers(self, recurse: bool = True) -> Iterator[Tuple[str, Any]]:
        return self._named_members("_buffers", recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Any]:
        for _, b in self.named_buffers(recurse):
            yield b

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Total number of scalars in the parameters (Linear(784, 256): 784*256 + 256 = 200,960)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------------------------------ modes, grads
    def train(self, mode: bool = True) -> "Module":
        """Set ``.training`` on self and every descendant (dropout and batch norm read it)."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's ``.grad``: None (PyTorch's default; the next backward writes fresh gradients),
        or zeros in place with ``set_to_none=False``."""
        forget_grads(self.parameters(), set_to_none)

    def apply(self, fn: Any) -> "Module":
        """Call ``fn(module)`` on every submodule, children first, then on this one (PyTorch's order); returns
        self. The usual use: ``model.apply(init_weights)``."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, flag: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad = flag
        return self

    # ------------------------------------------------------------------------------------------ device
    def to(self, device: str) -> "Module":
        """Move parameters (in place: the same Parameter objects, so an optimiser keeps working) and buffers.
        On a GPU, each Conv2d + ReLU / LeakyReLU pair of a Sequential then runs fused (nn/fusion.py)."""
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None:
                    p.data = to_device(p.data, device)
                    if p.grad is not None:
                        p.grad = to_device(p.grad, device)
            for name, b in m._buffers.items():
                if b is not None:
                    m._buffers[name] = to_device(b, device)
        if device == "cpu":
            return self
        from .fusion import fuse  # noqa: PLC0415  (fusion.py imports the layers, which import this file)
        return fuse(self)

    def cpu(self) -> "Module":
        return self.to("cpu")

    def cuda(self) -> "Module":
        return self.to("cuda")

    @property
    def device(self) -> str:
        """The device of the first parameter (or buffer); 'cpu' for a module with neither."""
        for t in self.parameters():
            return t.device
        for b in self.buffers():
            return device_of(b)
        return "cpu"

    # ------------------------------------------------------------------------------------------ checkpoints
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Ordered {dotted name: NumPy copy} of every parameter and buffer ('features.0.weight', 'bn.running_mean')."""
        return OrderedDict((key, np.array(to_device(_array_of(m, name, is_param), "cpu"), copy=True))
                           for key, (m, name, is_param) in self._state_targets().items())

    def _state_targets(self) -> "OrderedDict[str, Tuple[Module, str, bool]]":
        """{dotted name: (owner module, attribute, is_parameter)} in state_dict order."""
        out: "OrderedDict[str, Tuple[Module, str, bool]]" = OrderedDict()
        for prefix, m in self.named_modules():
            for is_param, table in ((True, m._parameters), (False, m._buffers)):
                for name, v in table.items():
                    if v is not None:
                        out[f"{prefix}.{name}" if prefix else name] = (m, name, is_param)
        return out

    def load_state_dict(self, state_dict: Dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy arrays into the parameters and buffers in place, on the model's own device and dtype.

        Raises one ``StateDictMismatch`` (a RuntimeError) naming every missing key, unexpected key (when ``strict``)
        and mis-shaped key (always), so a checkpoint that does not fit the model says exactly why. Nothing is loaded
        on error.
        """
        targets = self._state_targets()
        expected = {key: tuple(_array_of(m, name, is_param).shape) for key, (m, name, is_param) in targets.items()}
        problems = state_dict_problems(expected, {k: tuple(np.shape(array_of(v))) for k, v in state_dict.items()},
                                       strict)
        if problems:
            raise StateDictMismatch(f"load_state_dict: the checkpoint does not match {type(self).__name__}: "
                                    f"{problems} (check that the model was built with the same architecture and "
                                    "arguments; pass strict=False to load only the matching keys)")
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        for key, (m, name, is_param) in targets.items():
            if key in state_dict:
                have = _array_of(m, name, is_param)
                value = to_device(array_of(state_dict[key]), device_of(have))
                have[...] = get_array_module(have).asarray(value, dtype=have.dtype)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------------------------------ calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The arguments shown inside the parentheses, e.g. 'in_features=784, out_features=256, bias=True'."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + _indent(repr(m)) for name, m in self._modules.items()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = ([_indent(extra)] if extra else []) + lines
        return f"{type(self).__name__}(\n  " + "\n  ".join(body) + "\n)"


def _array_of(m: Module, name: str, is_param: bool) -> Any:
    return m._parameters[name].data if is_param else m._buffers[name]


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")
