"""The array backend: NumPy on the CPU, CuPy on a GPU, chosen per array.

Every operator starts with ``xp = get_array_module(x)`` and then writes the same line of array code for both
devices. CuPy is imported only when a GPU is asked for, so ``import minitorch_deblur`` needs NumPy alone.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

DEVICES = ("cpu", "cuda")

_cupy: Any = None
_cupy_error: Optional[str] = None


def _try_cupy() -> Any:
    """Return the cupy module if it imports and sees a CUDA device, else None (the reason kept for errors)."""
    global _cupy, _cupy_error
    if _cupy is not None or _cupy_error is not None:
        return _cupy
    try:
        import cupy  # noqa: PLC0415 (imported only when a GPU is asked for)

        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("CuPy found no CUDA device")
        _cupy = cupy
    except Exception as exc:  # ImportError, CUDARuntimeError, driver errors...
        _cupy_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return _cupy


def gpu_available() -> bool:
    """True when CuPy imports and a CUDA device is present."""
    return _try_cupy() is not None


def cupy_module() -> Any:
    """The cupy module, or one clear RuntimeError saying why the GPU cannot be used."""
    cp = _try_cupy()
    if cp is None:
        raise RuntimeError(
            f"device 'cuda' was requested but no GPU is usable ({_cupy_error}); "
            "install the GPU extra with `pip install -e .[gpu]` on a machine with a CUDA device, or use device='cpu'"
        )
    return cp


_stand_in_types: Tuple[type, ...] = ()   # array types of a CuPy stand-in (register_device_module), tests only


def _is_cupy_array(x: Any) -> bool:
    return type(x).__module__.startswith("cupy") or isinstance(x, _stand_in_types)


def register_device_module(module: Any, array_type: type) -> Callable[[], None]:
    """Tests only: make ``module`` the 'cuda' array module and ``array_type`` its arrays (a stand-in for CuPy that
    computes with NumPy and counts launches: testing/fake_cupy.py). Returns the function that undoes it."""
    global _cupy, _cupy_error, _stand_in_types
    saved = (_cupy, _cupy_error, _stand_in_types)
    _cupy, _cupy_error, _stand_in_types = module, None, (array_type,)

    def undo() -> None:
        global _cupy, _cupy_error, _stand_in_types
        _cupy, _cupy_error, _stand_in_types = saved
    return undo


def get_array_module(*arrays: Any) -> Any:
    """numpy or cupy, whichever module the given arrays belong to (numpy for scalars and lists)."""
    for a in arrays:
        if _is_cupy_array(a):
            return _try_cupy() or cupy_module()
    return np


def device_of(x: Any) -> str:
    """'cuda' for a CuPy array, 'cpu' otherwise."""
    return "cuda" if _is_cupy_array(x) else "cpu"


def resolve_device(device: Optional[str]) -> str:
    """Turn 'auto' / None / 'cpu' / 'cuda' / 'cuda:0' into 'cpu' or 'cuda' ('auto' is cuda only when usable)."""
    if device is None or device == "auto":
        return "cuda" if gpu_available() else "cpu"
    name = str(device).split(":")[0]
    if name not in DEVICES:
        raise ValueError(f"unknown device {device!r}: use one of 'auto', 'cpu', 'cuda'")
    if name == "cuda":
        cupy_module()
    return name


def to_device(array: Any, device: str) -> Any:
    """Copy an array to 'cpu' (NumPy) or 'cuda' (CuPy); returns the same object when already there."""
    device = resolve_device(device)
    if device == "cpu":
        return array.get() if _is_cupy_array(array) else np.asarray(array)
    cp = cupy_module()
    return array if _is_cupy_array(array) else cp.asarray(array)


def xp_for(device: str) -> Any:
    """The array module of a device name."""
    return cupy_module() if resolve_device(device) == "cuda" else np


class Generator:
    """A seeded random generator usable on both devices.

    Draws are made with NumPy's PCG64 and moved to the requested device, so a seed gives the same numbers on the
    CPU and on the GPU (which is what makes CPU/GPU runs comparable). ``device='cuda'`` arrays are returned as CuPy.
    """

    def __init__(self, seed: Optional[int] = None) -> None:
        self.seed = seed
        self.np_rng = np.random.default_rng(seed)

    def manual_seed(self, seed: int) -> "Generator":
        self.seed = seed
        self.np_rng = np.random.default_rng(seed)
        return self

    def _out(self, a: np.ndarray, device: str) -> Any:
        return a if device == "cpu" else to_device(a, device)

    def random(self, shape: Sequence[int], dtype: Any = np.float32, device: str = "cpu") -> Any:
        """Uniform [0, 1) of the given shape."""
        return self._out(self.np_rng.random(tuple(shape), dtype=np.float64).astype(dtype, copy=False), device)

    def uniform(self, low: float, high: float, shape: Sequence[int], dtype: Any = np.float32,
                device: str = "cpu") -> Any:
        return self._out(self.np_rng.uniform(low, high, tuple(shape)).astype(dtype, copy=False), device)

    def normal(self, mean: float, std: float, shape: Sequence[int], dtype: Any = np.float32,
               device: str = "cpu") -> Any:
        return self._out(self.np_rng.normal(mean, std, tuple(shape)).astype(dtype, copy=False), device)

    def integers(self, low: int, high: int, shape: Sequence[int] = (), device: str = "cpu") -> Any:
        return self._out(np.asarray(self.np_rng.integers(low, high, tuple(shape))), device)

    def permutation(self, n: int) -> np.ndarray:
        """A random permutation of range(n), always on the CPU (it indexes host-side datasets)."""
        return self.np_rng.permutation(n)

    def spawn(self) -> "Generator":
        """An independent child generator, seeded from this one."""
        return Generator(int(self.np_rng.integers(0, 2**63 - 1)))


_default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Reseed the global generator used for initialisation and dropout when no generator is passed."""
    return _default_generator.manual_seed(seed)


def default_generator() -> Generator:
    return _default_generator


def shape_str(shape: Tuple[int, ...]) -> str:
    """(2, 3, 4) -> '(2, 3, 4)', (3,) -> '(3,)': how every error message prints a shape."""
    return str(tuple(int(s) for s in shape))


def reuse_freed_memory() -> bool:
    """Let the memory of freed arrays serve the next allocations instead of going back to the OS (glibc malloc).

    A training step allocates the same activations every step. By default glibc returns big blocks to the OS when
    they are freed, so every step's activations land on fresh pages that the kernel must zero on first touch:
    10-25% of a CNN or CAE training step on 2 cores (measured with benchmarks/train_step.py). After this call the
    process keeps its peak memory for reuse; the peak itself does not grow. Process-wide and permanent, so only the
    training commands and the benchmarks call it: importing the package changes nothing. Returns whether it took
    effect (False off Linux/glibc). Setting MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ does the same.
    """
    import ctypes  # noqa: PLC0415 (only the commands that ask pay for it)

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's mallopt parameter numbers
    return bool(libc.mallopt(m_mmap_threshold, 1 << 30)) and bool(libc.mallopt(m_trim_threshold, 2 ** 31 - 1))


# ------------------------------------------------------------------------------------------------------ TF32
_tf32 = os.environ.get("CUPY_TF32", "0").strip() not in ("", "0")


def use_tf32(flag: bool = True) -> bool:
    """Let float32 matrix products on the GPU use TF32 tensor cores (Ampere and newer: A100, H100, H200...).

    TF32 keeps float32's range but rounds the inputs of each multiply to a 10-bit mantissa (about 3 decimal
    digits; sums stay float32): matmuls and convolutions as GEMMs run several times faster, with errors near 1e-3
    relative instead of 1e-6. PyTorch's convolutions use it by default; ours do not (default off: plain FP32).
    It applies to CuPy's cuBLAS calls (matmul, dot, tensordot, einsum) through CuPy's compute type, now if CuPy is
    in use, else through $CUPY_TF32, which CuPy reads at its first float32 product. On the CPU it changes nothing.
    Returns the new setting.
    """
    global _tf32
    _tf32 = bool(flag)
    os.environ["CUPY_TF32"] = "1" if _tf32 else "0"
    if _cupy is not None:
        _apply_tf32()
    return _tf32


def tf32_enabled() -> bool:
    """Whether float32 GPU matmuls may use TF32 (``use_tf32``, or $CUPY_TF32 at import)."""
    return _tf32


def _apply_tf32() -> None:
    """Set CuPy's float32 compute type (TF32 or its default); a stand-in for CuPy (tests) is left alone."""
    if getattr(_cupy, "__name__", "") != "cupy":
        return
    try:
        from cupy._core import _routines_linalg as linalg  # noqa: PLC0415 (CuPy is in use here)
    except ImportError:
        return
    linalg.set_compute_type(np.float32, linalg.COMPUTE_TYPE_TF32 if _tf32 else linalg.COMPUTE_TYPE_DEFAULT)
