"""Every CUDA source the package builds compiles with NVRTC, checked on a CPU: no GPU and no driver needed.

What is compiled: each entry of ``cuda_kernels.SOURCES`` (after importing every module of the package, so kernels
that other modules ``register`` are there too), for T = float and T = double where it has type variables, as one
NVRTC program per kernel per type, with CuPy's own headers (``cupy/carray.cuh``...) and CuPy's compiler options
(``--std=c++17``, its include folders) plus ``-arch=compute_90`` (H100/H200), then read back as PTX:

- a ``Raw`` kernel: its source as written (CuPy's RawKernel adds nothing).
- an ``Elementwise`` body: inside the __global__ function CuPy's ElementwiseKernel generates (``_kernel.pyx``:
  ``CUPY_FOR(i, _ind.size())``, a ``CArray<type, ndim, c_contiguous, 32-bit index>`` per array parameter, each
  non-raw parameter bound as ``T &name = _raw_name[_ind.get()]``). Every array is given ndim 1, contiguous, 32-bit
  indexing, and every non-raw parameter is bound as an array element (CuPy passes a scalar argument by value
  instead: the same type in the body).
- a ``Reduction``: its expressions inside a one-loop kernel shaped like CuPy's (``REDUCE(a, b)`` and
  ``POST_MAP(a)`` macros, ``_type_reduce`` = reduce_type or the output's type, inputs bound per element, the
  output bound once); CuPy's shared-memory tree around them is left out.

Needs the wheels ``cupy-cuda12x`` and ``nvidia-cuda-nvrtc-cu12`` (``pip install -e .[nvrtc]``, which .ci/run does);
skipped with that sentence without them. ``cupy.cuda.compiler.compile_using_nvrtc`` needs a driver, so the test
calls the NVRTC binding of ``cupy_backends`` directly.
"""
from __future__ import annotations

import ctypes
import importlib
import importlib.util
import pkgutil
import re
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import pytest

import minitorch_deblur
from minitorch_deblur.functional.fast import cuda_kernels as K

ARCH = "-arch=compute_90"
VARIANTS = {"float": np.float32, "double": np.float64}
PACKAGE = Path(minitorch_deblur.__file__).parent
WHEELS = ("NVRTC wheels absent: `pip install -e .[nvrtc]` (cupy-cuda12x, nvidia-cuda-nvrtc-cu12) compile-checks the "
          "CUDA kernels on a CPU")


def _import_package() -> None:
    """Import every module of the package, so kernels registered outside cuda_kernels.py are in SOURCES."""
    for info in pkgutil.walk_packages([str(PACKAGE)], "minitorch_deblur."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)


_import_package()
KEYS = sorted(K.SOURCES)


def _preload_nvrtc() -> None:
    """Load libnvrtc.so.12 from the nvidia-cuda-nvrtc-cu12 wheel (if present) before cupy_backends looks for it."""
    spec = importlib.util.find_spec("nvidia")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for lib in sorted((Path(folder) / "cuda_nvrtc" / "lib").glob("libnvrtc.so*")):
            try:
                ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
                return
            except OSError:
                continue


@pytest.fixture(scope="module")
def nvrtc():
    """cupy_backends' NVRTC binding, working; else the test skips with the reason."""
    _preload_nvrtc()
    try:
        from cupy_backends.cuda.libs import nvrtc as binding

        binding.getVersion()
    except Exception as error:  # ImportError, or the shared library missing
        pytest.skip(f"{WHEELS} ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})")
    return binding


def _cupy_headers_and_options() -> Tuple[str, List[str]]:
    """The #include lines and compiler options CuPy's compile_with_cache uses for kernels."""
    import cupy._core.core as core

    headers = getattr(core, "_cupy_header_list", ["cupy/complex.cuh", "cupy/carray.cuh", "cupy/atomics.cuh"])
    try:
        options = list(core.assemble_cupy_compiler_options(()))
    except Exception:  # an older or newer CuPy: its header folder and the language level are what matter
        options = ["--std=c++17", "-I" + core._get_header_dir_path()]
    return "".join(f"#include <{h}>\n" for h in headers), options + [ARCH]


def compile_ptx(nvrtc, source: str, name: str, extra: Tuple[str, ...] = ()) -> str:
    """PTX of a CUDA source with CuPy's headers and options (plus ``extra``); an AssertionError with NVRTC's log
    when it fails."""
    headers, options = _cupy_headers_and_options()
    program = nvrtc.createProgram(headers + source, f"{name}.cu", [], [])
    try:
        try:
            nvrtc.compileProgram(program, options + list(extra))
        except nvrtc.NVRTCError as error:
            raise AssertionError(f"NVRTC cannot compile kernel {name} ({error}):\n{nvrtc.getProgramLog(program)}"
                                 f"\n--- the source compiled ---\n{source}") from None
        ptx = nvrtc.getPTX(program)
        return ptx.decode(errors="replace") if isinstance(ptx, bytes) else ptx
    finally:
        nvrtc.destroyProgram(program)


class Param:
    """One parameter of an ElementwiseKernel / ReductionKernel signature, e.g. 'raw T x' or 'int32 N'."""

    def __init__(self, text: str, is_const: bool) -> None:
        *flags, self.type, self.name = text.split()
        unknown = set(flags) - {"raw", "_non_const"}
        assert not unknown, f"parameter {text!r}: unknown keyword(s) {sorted(unknown)}"
        self.raw = "raw" in flags
        self.const = is_const and "_non_const" not in flags

    def ctype(self, types: Dict[str, str]) -> str:
        if len(self.type) == 1:
            return types[self.type]
        from cupy._core._scalar import get_typename

        return get_typename(np.dtype(self.type).type)


def _params(in_params: str, out_params: str) -> List[Param]:
    return [Param(p, True) for p in in_params.split(",") if p.strip()] + \
           [Param(p, False) for p in out_params.split(",") if p.strip()]


def _signature(params: List[Param], types: Dict[str, str], indexers: str) -> str:
    """CuPy's kernel parameter list: an array per parameter (raw: its own name; else _raw_<name>), then indexers."""
    args = [f"{'const ' if p.const else ''}CArray<{p.ctype(types)}, 1, 1, 1> {'' if p.raw else '_raw_'}{p.name}"
            for p in params]
    return ", ".join(args + [indexers])


def _bind(params: List[Param], types: Dict[str, str], index: str) -> str:
    """The per-element references CuPy declares for non-raw parameters (a type variable keeps its name)."""
    return "\n".join(f"{'const ' if p.const else ''}{p.type if len(p.type) == 1 else p.ctype(types)} &{p.name} = "
                     f"_raw_{p.name}[{index}.get()];" for p in params if not p.raw)


def _typedefs(params: List[Param], dtype: str) -> Dict[str, str]:
    return {p.type: dtype for p in params if len(p.type) == 1}


def wrap(source: K.Source, dtype: str) -> str:
    """The CUDA text CuPy would compile for ``source`` with every type variable = ``dtype``."""
    if isinstance(source, K.Raw):
        return source.code
    params = _params(source.in_params, source.out_params)
    types = _typedefs(params, dtype)
    typedefs = "".join(f"typedef {c} {t};\n" for t, c in types.items()) + source.preamble + "\n"
    if isinstance(source, K.Elementwise):
        return (f"{typedefs}extern \"C\" __global__ void {source.name}({_signature(params, types, 'CIndexer<1, 1> _ind')})"
                f" {{\n#pragma unroll 1\nCUPY_FOR(i, _ind.size()) {{\n_ind.set(i);\n{_bind(params, types, '_ind')}\n"
                f"{source.body};\n}}\n}}\n")
    inputs = [p for p in params if p.const]
    outputs = [p for p in params if not p.const]
    reduce_type = source.reduce_type or outputs[0].ctype(types)      # CuPy's default: the output's type
    return (f"{typedefs}#define REDUCE(a, b) ({source.reduce_expr})\n#define POST_MAP(a) ({source.post_map_expr})\n"
            f"typedef {reduce_type} _type_reduce;\n"
            f"extern \"C\" __global__ void {source.name}("
            f"{_signature(params, types, 'CIndexer<1, 1> _in_ind, CIndexer<1, 1> _out_ind')}) {{\n"
            f"_type_reduce _s = _type_reduce({source.identity});\n"
            f"for (ptrdiff_t _j = threadIdx.x, _J = 0; _j < _in_ind.size(); _j += blockDim.x, _J++) {{\n"
            f"_in_ind.set(_j);\n{_bind(inputs, types, '_in_ind')}\n"
            f"_type_reduce _a = static_cast<_type_reduce>({source.map_expr});\n_s = REDUCE(_s, _a);\n}}\n"
            f"_out_ind.set(blockIdx.x);\n{_bind(outputs, types, '_out_ind')}\nPOST_MAP(_s);\n}}\n")


def _variants(source: K.Source) -> List[str]:
    """The C types each type variable takes: float and double where the kernel has type variables."""
    if isinstance(source, K.Raw) or not _typedefs(_params(source.in_params, source.out_params), "float"):
        return ["float"]
    return list(VARIANTS)


def test_the_registry_holds_every_kernel_the_package_builds():
    assert len(K.SOURCES) >= 7 and {"maxpool_forward", "maxpool_backward", "im2col", "col2im"} <= set(K.SOURCES)
    builders = re.compile(r"(?<!def )(?<!class )\b(ElementwiseKernel|ReductionKernel|RawKernel|RawModule)\s*\(")
    outside = [f"{path.relative_to(PACKAGE.parent)}:{number}"
               for path in sorted(PACKAGE.rglob("*.py")) if path.name != "cuda_kernels.py"
               for number, line in enumerate(path.read_text().splitlines(), 1) if builders.search(line)]
    assert not outside, (f"CuPy kernels built outside cuda_kernels.SOURCES: {', '.join(outside)}; put their source "
                         "in cuda_kernels.SOURCES (or cuda_kernels.register it) and build them with "
                         "cuda_kernels.kernel(key), so tests/test_nvrtc_compile.py compiles them")


@pytest.mark.parametrize("key", KEYS)
def test_every_kernel_source_compiles_with_nvrtc(nvrtc, key):
    source = K.SOURCES[key]
    for dtype in _variants(source):
        ptx = compile_ptx(nvrtc, wrap(source, dtype), f"{source.name}_{dtype}", tuple(source.options))
        assert f".entry {source.name}" in ptx, f"{key}: the PTX has no entry {source.name}"


def test_a_kernel_using_a_math_h_constant_fails_with_nvrtcs_message(nvrtc):
    """The harness sees what the H200 saw: NVRTC has no <math.h>, so INFINITY is undefined."""
    broken = K.Elementwise("T x", "T y", "y = x > 0 ? x : -INFINITY", "mt_broken")
    with pytest.raises(AssertionError, match='identifier "INFINITY" is undefined'):
        compile_ptx(nvrtc, wrap(broken, "float"), "mt_broken")


def test_the_wrappers_shape_each_kind_as_cupy_does(nvrtc):
    add = K.Elementwise("T x, raw T b, int32 n", "T y", "y = x + b[i % n]", "mt_add")
    text = wrap(add, "double")
    assert "typedef double T;" in text and "const CArray<double, 1, 1, 1> b" in text
    assert "const T &x = _raw_x[_ind.get()];" in text and "T &y = _raw_y[_ind.get()];" in text
    assert "const int &n" in text
    total = K.Reduction("T x", "T y", "x * x", "a + b", "y = a", "0", "mt_sumsq")
    assert "#define REDUCE(a, b) (a + b)" in wrap(total, "float")
    raw = K.Raw('extern "C" __global__ void mt_fill(float* y, int n) { int i = threadIdx.x; if (i < n) y[i] = 1.0f; }',
                "mt_fill")
    for source in (add, total, raw):
        assert f".entry {source.name}" in compile_ptx(nvrtc, wrap(source, "float"), source.name)
