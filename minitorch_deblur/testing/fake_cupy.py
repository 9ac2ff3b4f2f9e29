"""A counting stand-in for CuPy that computes with NumPy: how many kernels a GPU step launches, measured on a CPU.

    from minitorch_deblur.testing import fake_cupy
    with fake_cupy.installed() as counter:      # 'cuda' now means this stand-in
        model.to("cuda"); step(); counter.reset(); step()
        counter.launches, counter.copies         # what the GPU path of one step issues

``DeviceArray`` is a ``numpy.ndarray`` subclass that ``backend.get_array_module`` maps to this module
(``backend.register_device_module``). Every array operation on it counts as one kernel launch, as on CuPy:

    a ufunc call or reduction (``__array_ufunc__``)      1   (x + y, x.sum(axis), sqrt, x @ w, where)
    a creation that writes memory (zeros, ones, full)   1   (empty / empty_like: 0, they only allocate)
    a copy (copy, astype, a reshape that copies, advanced indexing, setitem, ascontiguousarray that copies) 1
    concatenate / stack of k arrays                     k   (one copy kernel per piece)
    a view (reshape, transpose, basic slicing)          0
    an ElementwiseKernel / ReductionKernel / RawKernel  1   (it runs its NumPy reference, cuda_references.py)

Host <-> device transfers count as copies: ``asarray``/``array`` of a host array or a Python number, ``.get()``,
``asnumpy``, ``float(x)``, ``x.item()``, ``bool(x)``. Mixing a host ``numpy.ndarray`` into a device ufunc raises
TypeError, as CuPy does. cuBLAS may add a split-K reduction kernel to a GEMM; those are not counted.
"""
from __future__ import annotations

import sys
import types
from collections import Counter
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, Tuple

import numpy as np


class LaunchCounter:
    """Launches and copies since the last ``reset``, with the names of what launched (``by_name``)."""

    def __init__(self) -> None:
        self.by_name: Counter = Counter()
        self.launches = 0
        self.copies = 0

    def launch(self, name: str, n: int = 1) -> None:
        self.launches += n
        self.by_name[name] += n

    def copy(self, name: str) -> None:
        self.copies += 1
        self.by_name["copy:" + name] += 1

    def reset(self) -> None:
        self.by_name.clear()
        self.launches = self.copies = 0

    @property
    def total(self) -> int:
        return self.launches + self.copies


COUNTER = LaunchCounter()


def _plain(a: Any) -> Any:
    """DeviceArray -> its plain ndarray view; tuples/lists walked; anything else as it is."""
    if isinstance(a, DeviceArray):
        return a.view(np.ndarray)
    if isinstance(a, (list, tuple)):
        return type(a)(_plain(x) for x in a)
    return a


def _device(a: Any) -> Any:
    """ndarray results -> DeviceArray views (NumPy scalars become 0-d arrays, as CuPy returns)."""
    if isinstance(a, np.ndarray):
        return a if isinstance(a, DeviceArray) else a.view(DeviceArray)
    if isinstance(a, np.generic):
        return np.asarray(a).view(DeviceArray)
    if isinstance(a, tuple):
        return tuple(_device(x) for x in a)
    return a


def _refuse_host(name: str, args: Any) -> None:
    for a in args:
        if isinstance(a, np.ndarray) and not isinstance(a, DeviceArray):
            raise TypeError(f"fake_cupy: {name} got a host numpy.ndarray {a.shape} among device arrays "
                            "(CuPy raises here too): move it with to_device(x, 'cuda') first")


def _shares(result: Any, sources: Tuple[Any, ...]) -> bool:
    return isinstance(result, np.ndarray) and any(
        isinstance(s, np.ndarray) and np.may_share_memory(result, s) for s in sources)


class DeviceArray(np.ndarray):
    """An array on the stand-in device: NumPy memory, CuPy's launch accounting (see the module docstring)."""

    __array_priority__ = 100

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        _refuse_host(ufunc.__name__, inputs)
        COUNTER.launch(f"{ufunc.__name__}.{method}" if method != "__call__" else ufunc.__name__)
        if "out" in kwargs:
            kwargs["out"] = _plain(kwargs["out"])
        return _device(getattr(ufunc, method)(*_plain(inputs), **kwargs))

    def __array_function__(self, func: Any, types_: Any, args: Any, kwargs: Any) -> Any:
        return _call(func.__name__, func, args, kwargs)

    # -- copies and conversions
    def get(self, stream: Any = None) -> np.ndarray:
        COUNTER.copy("get")
        return np.array(self.view(np.ndarray))

    def __float__(self) -> float:
        COUNTER.copy("float")
        return float(self.view(np.ndarray))

    def __int__(self) -> int:
        COUNTER.copy("int")
        return int(self.view(np.ndarray))

    def __bool__(self) -> bool:
        COUNTER.copy("bool")
        return bool(self.view(np.ndarray))

    def item(self, *args: Any) -> Any:
        COUNTER.copy("item")
        return self.view(np.ndarray).item(*args)

    def tolist(self) -> Any:
        COUNTER.copy("tolist")
        return self.view(np.ndarray).tolist()

    def copy(self, order: str = "C") -> "DeviceArray":
        COUNTER.launch("copy")
        return self.view(np.ndarray).copy(order).view(DeviceArray)

    def astype(self, dtype: Any, order: str = "K", casting: str = "unsafe", subok: bool = True,
               copy: bool = True) -> "DeviceArray":
        if not copy and np.dtype(dtype) == self.dtype:
            return self
        COUNTER.launch("astype")
        return self.view(np.ndarray).astype(dtype, order=order, casting=casting).view(DeviceArray)

    def view(self, *args: Any, **kwargs: Any) -> Any:
        kind = args[0] if args else kwargs.get("type")
        if isinstance(kind, type) and issubclass(kind, np.ndarray) and kind is not np.ndarray:
            return super().view(DeviceArray)          # autograd's Grad view stays a device array
        return super().view(*args, **kwargs)

    def reshape(self, *shape: Any, **kwargs: Any) -> "DeviceArray":
        base = self.view(np.ndarray)
        out = base.reshape(*shape, **kwargs)
        if out.size and not np.may_share_memory(out, base):
            COUNTER.launch("reshape_copy")
        return out.view(DeviceArray)

    def ravel(self, order: str = "C") -> "DeviceArray":
        return self.reshape(-1, order=order)

    def flatten(self, order: str = "C") -> "DeviceArray":
        return self.copy(order).reshape(-1)

    def fill(self, value: Any) -> None:
        COUNTER.launch("fill")
        self.view(np.ndarray).fill(value)

    def __getitem__(self, key: Any) -> Any:
        base = self.view(np.ndarray)
        out = base[_plain(key)]
        if isinstance(out, np.generic):          # CuPy gives a 0-d view of the element
            out = base[(key if isinstance(key, tuple) else (key,)) + (Ellipsis,)]
        if isinstance(out, np.ndarray) and out.size and not np.may_share_memory(out, base):
            COUNTER.launch("take")
        return _device(out) if isinstance(out, (np.ndarray, np.generic)) else out

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(value, np.ndarray) and not isinstance(value, DeviceArray) and value.ndim:
            COUNTER.copy("setitem_from_host")
        else:
            COUNTER.launch("setitem")
        self.view(np.ndarray)[_plain(key)] = _plain(value)

    # -- reductions with one kernel on CuPy (NumPy's mean/var are several ufunc calls)
    def _reduce(self, name: str, launches: int, *args: Any, **kwargs: Any) -> Any:
        COUNTER.launch(name, launches)
        return _device(getattr(self.view(np.ndarray), name)(*_plain(args), **_plain(kwargs)))

    def mean(self, *args: Any, **kwargs: Any) -> Any:
        return self._reduce("mean", 1, *args, **kwargs)

    def var(self, *args: Any, **kwargs: Any) -> Any:
        return self._reduce("var", 3, *args, **kwargs)

    def std(self, *args: Any, **kwargs: Any) -> Any:
        return self._reduce("std", 4, *args, **kwargs)

    def conj(self) -> "DeviceArray":
        return self._reduce("conj", 1) if self.dtype.kind == "c" else self

    def conjugate(self) -> "DeviceArray":
        return self.conj()


def _call(name: str, func: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    """A NumPy function on device arrays: one launch unless its result is a view of an input."""
    _refuse_host(name, args)
    plain_args, plain_kwargs = _plain(args), {k: _plain(v) for k, v in kwargs.items()}
    result = func(*plain_args, **plain_kwargs)
    flat = [a for a in plain_args if isinstance(a, np.ndarray)]
    flat += [x for a in plain_args if isinstance(a, (list, tuple)) for x in a if isinstance(x, np.ndarray)]
    if name in ("concatenate", "stack", "hstack", "vstack"):
        COUNTER.launch(name, len(args[0]))
    elif name == "pad":
        COUNTER.launch(name, 2)                  # fill the border, copy the inside
    elif name not in _FREE and not _shares(result, tuple(flat)):
        COUNTER.launch(name)
    return _device(result)


_FREE = {"shape", "ndim", "size", "result_type", "may_share_memory", "shares_memory", "broadcast_shapes",
         "empty", "empty_like", "iscomplexobj", "isscalar"}


# ---------------------------------------------------------------------------------------------- the module
def _host_to_device(a: Any, dtype: Any = None, copy: bool = True) -> DeviceArray:
    if isinstance(a, DeviceArray):
        if dtype is not None and np.dtype(dtype) != a.dtype:
            return a.astype(dtype)
        return a.copy() if copy else a
    COUNTER.copy("host_to_device")
    return np.array(a, dtype=dtype).view(DeviceArray)


def asarray(a: Any, dtype: Any = None, order: Any = None, **_: Any) -> DeviceArray:
    return _host_to_device(a, dtype, copy=False)


def array(a: Any, dtype: Any = None, copy: bool = True, **_: Any) -> DeviceArray:
    return _host_to_device(a, dtype, copy=copy)


def ascontiguousarray(a: Any, dtype: Any = None) -> DeviceArray:
    if not isinstance(a, DeviceArray):
        return _host_to_device(np.ascontiguousarray(a), dtype, copy=False)
    if a.flags.c_contiguous and (dtype is None or np.dtype(dtype) == a.dtype):
        return a
    return _call("ascontiguousarray", np.ascontiguousarray, (a,), {} if dtype is None else {"dtype": dtype})


def asnumpy(a: Any) -> np.ndarray:
    return a.get() if isinstance(a, DeviceArray) else np.asarray(a)


def _creation(name: str, launches: int) -> Callable[..., DeviceArray]:
    func = getattr(np, name)

    def create(*args: Any, **kwargs: Any) -> DeviceArray:
        COUNTER.launch(name, launches)
        return func(*_plain(args), **kwargs).view(DeviceArray)
    create.__name__ = name
    return create


class _Runtime:
    @staticmethod
    def getDevice() -> int:  # noqa: N802 (CuPy's name)
        return 0

    @staticmethod
    def getDeviceCount() -> int:  # noqa: N802
        return 1

    @staticmethod
    def deviceSynchronize() -> None:  # noqa: N802
        return None


class _Kernel:
    """ElementwiseKernel / ReductionKernel / RawKernel: runs ``REFERENCES[name]`` with NumPy, counts one launch.

    Elementwise and reduction references take the inputs and return the output(s); outputs passed to the call
    are written in place. A RawKernel's reference takes the argument tuple and writes its outputs in place."""

    def __init__(self, kind: str, name: str, n_inputs: int) -> None:
        from .cuda_references import IN_PLACE, REFERENCES

        if name not in REFERENCES:
            raise KeyError(f"fake_cupy: kernel {name!r} has no NumPy reference in testing/cuda_references.py")
        self.kind, self.name, self.n_inputs, self.reference = kind, name, n_inputs, REFERENCES[name]
        self.in_place = name in IN_PLACE

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        COUNTER.launch(self.name)
        if self.kind == "raw":
            grid, block, arguments = args[:3]
            _refuse_host(self.name, arguments)
            self.reference(*_plain(tuple(arguments)))
            return None
        _refuse_host(self.name, args)
        inputs, outputs = args[:self.n_inputs], args[self.n_inputs:]
        kwargs.pop("size", None)
        if "out" in kwargs:                        # a ReductionKernel's out=
            outputs = (kwargs.pop("out"),)
        if self.in_place:
            self.reference(*_plain(tuple(args)))
            return outputs[0] if len(outputs) == 1 else tuple(outputs)
        result = self.reference(*_plain(inputs), **kwargs)
        results = result if isinstance(result, tuple) else (result,)
        if not outputs:
            return _device(result)
        for out, value in zip(outputs, results):
            out.view(np.ndarray)[...] = np.reshape(value, out.shape)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _as_strided(x: Any, shape: Any = None, strides: Any = None, **_: Any) -> DeviceArray:
    """A strided view of a device array (no launch)."""
    return np.lib.stride_tricks.as_strided(_plain(x), shape, strides).view(DeviceArray)


def _count_params(params: str) -> int:
    return len([p for p in params.split(",") if p.strip()])


def ElementwiseKernel(in_params: str, out_params: str, operation: str, name: str = "kernel",  # noqa: N802
                      **_: Any) -> _Kernel:
    return _Kernel("elementwise", name, _count_params(in_params))


def ReductionKernel(in_params: str, out_params: str, map_expr: str, reduce_expr: str,  # noqa: N802
                    post_map_expr: str, identity: str, name: str = "reduce_kernel", **_: Any) -> _Kernel:
    return _Kernel("reduction", name, _count_params(in_params))


def RawKernel(code: str, name: str, **_: Any) -> _Kernel:  # noqa: N802
    return _Kernel("raw", name, 0)


def _module() -> types.ModuleType:
    """The stand-in 'cupy' module: the names above, creation functions, NumPy's dtypes and constants, and every
    other NumPy function counted by ``_call``."""
    module = types.ModuleType("fake_cupy_device")
    namespace: Dict[str, Any] = {
        "ndarray": DeviceArray, "asarray": asarray, "array": array, "ascontiguousarray": ascontiguousarray,
        "asnumpy": asnumpy, "ElementwiseKernel": ElementwiseKernel, "ReductionKernel": ReductionKernel,
        "RawKernel": RawKernel, "counter": COUNTER,
        "cuda": types.SimpleNamespace(runtime=_Runtime, Device=lambda *a: types.SimpleNamespace(id=0)),
        "lib": types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided)),
    }
    for name in ("zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "arange", "eye", "linspace"):
        namespace[name] = _creation(name, 1)
    for name in ("empty", "empty_like"):
        namespace[name] = _creation(name, 0)
    module.__dict__.update(namespace)

    def fallback(name: str) -> Any:
        value = getattr(np, name)
        if isinstance(value, np.ufunc):
            return _UFuncs(value)
        if callable(value) and not isinstance(value, type) and not name.startswith("_"):
            return lambda *args, **kwargs: _call(name, value, args, kwargs)
        return value
    module.__getattr__ = fallback  # type: ignore[attr-defined]
    return module


class _UFuncs:
    """A NumPy ufunc called through the module (xp.sqrt(x), xp.maximum(a, b)): Python numbers become device 0-d."""

    def __init__(self, ufunc: np.ufunc) -> None:
        self.ufunc = ufunc

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        _refuse_host(self.ufunc.__name__, args)
        if not any(isinstance(a, DeviceArray) for a in args):
            COUNTER.launch(self.ufunc.__name__)
            return _device(self.ufunc(*_plain(args), **_plain(kwargs)))
        return self.ufunc(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ufunc, name)


FAKE = _module()

#: caches that hold kernels or arrays of the device module: emptied on entering and leaving ``installed``, so the
#: stand-in's never serve real CuPy calls (nor the other way round)
DEVICE_CACHES = ("minitorch_deblur.functional.fast.cuda_kernels:_kernel",
                 "minitorch_deblur.functional.fast.conv_fft:_on_gpu")


def _clear_device_caches() -> None:
    import importlib

    for entry in DEVICE_CACHES:
        module_name, attribute = entry.split(":")
        try:
            target = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError):
            continue
        getattr(target, "cache_clear", target)()


@contextmanager
def installed() -> Iterator[LaunchCounter]:
    """Inside the block 'cuda' is this stand-in (``backend.register_device_module``); yields the counter."""
    from .. import backend

    undo = backend.register_device_module(FAKE, DeviceArray)
    previous = sys.modules.get("cupy")
    sys.modules["cupy"] = FAKE          # cuda_kernels.py imports cupy by name
    _clear_device_caches()
    COUNTER.reset()
    try:
        yield COUNTER
    finally:
        _clear_device_caches()
        undo()
        if previous is None:
            sys.modules.pop("cupy", None)
        else:
            sys.modules["cupy"] = previous
