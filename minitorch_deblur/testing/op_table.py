"""ONE table of operators: it drives the forward tests, the gradient checks, the CPU/GPU parity tests and the CLI.

Each ``OpRow`` holds:
    name         the name used by the tests and by ``python -m minitorch_deblur.gradcheck NAME``
    lesson       the lesson that introduces the op (its tests get ``pytest.mark.lesson<N>``)
    call         call(cfg, *tensors) -> Tensor: the functional op with its params taken from the config
    config       config(draw_int, draw_float) -> dict of VALID sizes and params. ``draw_int(lo, hi)`` is
                 hypothesis' ``st.integers(lo, hi)`` in the tests (so each field shrinks) and a NumPy generator
                 in the CLI; ``draw_float(lo, hi)`` likewise.
    make_inputs  make_inputs(rng, cfg) -> list of arrays (float64; int64 class targets; None for an absent bias),
                 kept off ties and kinks (relu inputs away from 0, max inputs a permutation of spaced values...)
    reference    reference(cfg, *arrays) -> the expected output, computed independently in float64 (NumPy closed
                 forms, or the naive loops of testing/reference.py for conv/pool/upsample)

Adding an operator means adding a row. Ops are looked up when called, so the table imports without them.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..autograd import Tensor
from ..backend import Generator, get_array_module, to_device

DrawInt = Callable[[int, int], int]
DrawFloat = Callable[[float, float], float]
Config = Dict[str, Any]


# ---------------------------------------------------------------------------------------------------- rows
@dataclass(frozen=True)
class OpRow:
    name: str
    lesson: int
    module: str  # the functional/ module (or "testing.reference") the op lives in
    call: Callable[..., Tensor]
    config: Callable[[DrawInt, DrawFloat], Config]
    make_inputs: Callable[[np.random.Generator, Config], List[Any]]
    reference: Optional[Callable[..., np.ndarray]] = None
    forward_check: Optional[Callable[[Config, List[Any], np.ndarray], float]] = None  # returns an error
    grad: bool = True  # run the gradient check
    wrt: Optional[Tuple[int, ...]] = None  # inputs to gradient-check (default: every floating input)
    out_dtype: Optional[str] = None  # expected output dtype when it is not the input's
    max_examples: int = 20

    def bind(self, cfg: Config) -> Callable[..., Tensor]:
        """The op as a function of the input tensors only (what gradcheck calls)."""
        def fn(*tensors: Any) -> Tensor:
            return self.call(cfg, *tensors)
        fn.__name__ = self.name
        return fn


OVERRIDES: Dict[str, Any] = {}   # functional module name -> a learner's version of it (``exercise check``)


def _op(module: str, name: str) -> Callable[..., Any]:
    """functional.<module>.<name>, imported when first called (so the table loads while ops are being written);
    a module in ``OVERRIDES`` (a learner's exercise file) stands in for the built-in one."""
    def call(*args: Any, **kwargs: Any) -> Any:
        if module in OVERRIDES:
            return getattr(OVERRIDES[module], name)(*args, **kwargs)
        try:
            mod = importlib.import_module(f"minitorch_deblur.functional.{module}")
        except ImportError as exc:
            raise ImportError(f"op {name}: minitorch_deblur/functional/{module}.py is not importable ({exc})") from exc
        return getattr(mod, name)(*args, **kwargs)
    return call


def _ref(name: str) -> Callable[..., np.ndarray]:
    """The naive-loop NumPy reference testing.reference.<name> (conv, pool, upsample)."""
    def call(*args: Any, **kwargs: Any) -> np.ndarray:
        mod = importlib.import_module("minitorch_deblur.testing.reference")
        return getattr(mod, name)(*args, **kwargs)
    return call


def _raw(t: Any) -> Any:
    """A Tensor's array (running statistics are raw arrays), copied so the op cannot change the caller's."""
    return None if t is None else (t.data if isinstance(t, Tensor) else t).copy()


# ------------------------------------------------------------------------------------------ input helpers
def pick(draw_int: DrawInt, options: Sequence[Any]) -> Any:
    """One of ``options`` (shrinks towards the first)."""
    return options[draw_int(0, len(options) - 1)]


def draw_shape(draw_int: DrawInt, ndim_lo: int = 1, ndim_hi: int = 3, lo: int = 1, hi: int = 4) -> Tuple[int, ...]:
    return tuple(draw_int(lo, hi) for _ in range(draw_int(ndim_lo, ndim_hi)))


def draw_perm(draw_int: DrawInt, n: int) -> Tuple[int, ...]:
    """A permutation of range(n) (Fisher-Yates with drawn swaps)."""
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        j = draw_int(0, i)
        p[i], p[j] = p[j], p[i]
    return tuple(p)


def normal(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    return rng.standard_normal(tuple(shape))


def away_from_zero(rng: np.random.Generator, shape: Sequence[int], lo: float = 0.1, hi: float = 2.0) -> np.ndarray:
    """Random sign times U(lo, hi): no element within ``lo`` of the kink at 0."""
    shape = tuple(shape)
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(lo, hi, shape)


def positive(rng: np.random.Generator, shape: Sequence[int], lo: float = 0.5, hi: float = 2.0) -> np.ndarray:
    return rng.uniform(lo, hi, tuple(shape))


def distinct(rng: np.random.Generator, shape: Sequence[int], spacing: float = 0.05) -> np.ndarray:
    """A random permutation of well-separated values: no ties for max / max_pool."""
    n = int(np.prod(shape))
    return ((rng.permutation(n) - (n - 1) / 2) * spacing).reshape(tuple(shape))


def _dim(draw_int: DrawInt, ndim: int) -> int:
    return draw_int(-ndim, ndim - 1)


def _reduce_dim(draw_int: DrawInt, ndim: int, allow_tuple: bool = True) -> Any:
    kind = draw_int(0, 2 if allow_tuple and ndim >= 2 else 1)
    if kind == 0:
        return None
    if kind == 1:
        return _dim(draw_int, ndim)
    first = draw_int(0, ndim - 1)
    second = (first + draw_int(1, ndim - 1)) % ndim
    return (first, second - ndim)  # one positive, one negative index


def _np_axis(dim: Any) -> Any:
    return tuple(dim) if isinstance(dim, (list, tuple)) else dim


# -------------------------------------------------------------------------------------------- elementwise
def _broadcast_pair(d: DrawInt, f: DrawFloat) -> Config:
    a = draw_shape(d, 1, 3, 1, 4)
    keep = d(1, len(a))
    b = tuple(s if d(0, 1) else 1 for s in a[len(a) - keep:])
    return {"a": a, "b": b} if d(0, 1) else {"a": b, "b": a}


def _binary(name: str, ref: Callable[[np.ndarray, np.ndarray], np.ndarray],
            inputs: Callable[[np.random.Generator, Config], List[Any]], lesson: int = 0) -> OpRow:
    return OpRow(name, lesson, "elementwise", lambda c, a, b, _n=name: _op("elementwise", _n)(a, b),
                 _broadcast_pair, inputs, lambda c, a, b: ref(a, b))


def _unary(name: str, ref: Callable[[np.ndarray], np.ndarray], inputs: Callable[..., np.ndarray],
           module: str = "elementwise", lesson: int = 0, **params: Any) -> OpRow:
    return OpRow(name, lesson, module, lambda c, x, _n=name: _op(module, _n)(x, **params),
                 lambda d, f: {"shape": draw_shape(d)}, lambda rng, c: [inputs(rng, c["shape"])],
                 lambda c, x: ref(x))


def _pow_config(d: DrawInt, f: DrawFloat) -> Config:
    return {"shape": draw_shape(d), "exponent": pick(d, [2, 3, 0.5, -1, 1.5, -0.5])}


def _pow_inputs(rng: np.random.Generator, c: Config) -> List[Any]:
    p = c["exponent"]
    return [away_from_zero(rng, c["shape"], 0.3) if float(p).is_integer() and p > 0 else positive(rng, c["shape"])]


def _clamp_config(d: DrawInt, f: DrawFloat) -> Config:
    lo, hi = pick(d, [(-0.5, 0.5), (None, 0.3), (-0.2, None), (0.1, 1.0)])
    return {"shape": draw_shape(d), "min": lo, "max": hi}


def _clamp_inputs(rng: np.random.Generator, c: Config) -> List[Any]:
    x = rng.uniform(-2, 2, c["shape"])
    for bound in (c["min"], c["max"]):
        if bound is not None:
            x = np.where(np.abs(x - bound) < 0.05, x + 0.1, x)  # off the kinks at the bounds
    return [x]


def _separated_pair(rng: np.random.Generator, c: Config) -> List[Any]:
    a = normal(rng, c["shape"])
    return [a, a + away_from_zero(rng, c["shape"], 0.05, 1.0)]  # |a - b| >= 0.05: no ties


ELEMENTWISE = [
    _binary("add", np.add, lambda rng, c: [normal(rng, c["a"]), normal(rng, c["b"])]),
    _binary("sub", np.subtract, lambda rng, c: [normal(rng, c["a"]), normal(rng, c["b"])]),
    _binary("mul", np.multiply, lambda rng, c: [normal(rng, c["a"]), normal(rng, c["b"])]),
    _binary("div", np.divide, lambda rng, c: [normal(rng, c["a"]), away_from_zero(rng, c["b"], 0.5)]),
    _unary("neg", np.negative, normal),
    OpRow("pow", 0, "elementwise", lambda c, x: _op("elementwise", "pow")(x, c["exponent"]), _pow_config,
          _pow_inputs, lambda c, x: np.power(x, c["exponent"])),
    _unary("exp", np.exp, normal),
    _unary("log", np.log, lambda rng, s: positive(rng, s, 0.2, 3.0)),
    _unary("sqrt", np.sqrt, lambda rng, s: positive(rng, s, 0.2, 3.0)),
    _unary("abs", np.abs, away_from_zero),
    OpRow("clamp", 0, "elementwise", lambda c, x: _op("elementwise", "clamp")(x, c["min"], c["max"]),
          _clamp_config, _clamp_inputs, lambda c, x: np.clip(x, c["min"], c["max"])),
    OpRow("maximum", 0, "elementwise", lambda c, a, b: _op("elementwise", "maximum")(a, b),
          lambda d, f: {"shape": draw_shape(d)}, _separated_pair, lambda c, a, b: np.maximum(a, b)),
    OpRow("minimum", 0, "elementwise", lambda c, a, b: _op("elementwise", "minimum")(a, b),
          lambda d, f: {"shape": draw_shape(d)}, _separated_pair, lambda c, a, b: np.minimum(a, b)),
    OpRow("cast", 0, "elementwise", lambda c, x: _op("elementwise", "cast")(x, np.float64),
          lambda d, f: {"shape": draw_shape(d)}, lambda rng, c: [normal(rng, c["shape"])],
          lambda c, x: x.astype(np.float64), out_dtype="float64"),
]


# ------------------------------------------------------------------------------------------------ reduce
def _reduce_config(d: DrawInt, f: DrawFloat, tuples: bool = True, lo: int = 1) -> Config:
    shape = draw_shape(d, 1, 3, lo, 4)
    return {"shape": shape, "dim": _reduce_dim(d, len(shape), tuples), "keepdim": bool(d(0, 1))}


def _values(name: str) -> Callable[..., Any]:
    """max/min: the value over everything (dim None), else the values of (values, indices) over one dim."""
    def run(x: Any, dim: Any, keepdim: bool) -> Any:
        if dim is None:
            return _op("reduce", "a" + name)(x, keepdim=keepdim)
        return _op("reduce", name)(x, dim, keepdim).values
    return run


def _reduce_row(name: str, ref: Callable[..., np.ndarray], inputs: Callable[..., np.ndarray],
                tuples: bool = True) -> OpRow:
    call = _values(name) if name in ("max", "min") else \
        (lambda x, dim, keepdim, _n=name: _op("reduce", _n)(x, dim=dim, keepdim=keepdim))
    return OpRow(name, 0, "reduce", lambda c, x: call(x, c["dim"], c["keepdim"]),
                 lambda d, f: _reduce_config(d, f, tuples), lambda rng, c: [inputs(rng, c["shape"])],
                 lambda c, x: ref(x, axis=_np_axis(c["dim"]), keepdims=c["keepdim"]))


def _var_config(d: DrawInt, f: DrawFloat) -> Config:
    cfg = _reduce_config(d, f, True, lo=2)
    cfg["unbiased"] = bool(d(0, 1))
    return cfg


REDUCE = [
    _reduce_row("sum", np.sum, normal),
    _reduce_row("mean", np.mean, normal),
    _reduce_row("max", np.max, distinct, tuples=False),
    _reduce_row("min", np.min, distinct, tuples=False),
    _reduce_row("amax", np.max, distinct),
    _reduce_row("amin", np.min, distinct),
    OpRow("var", 0, "reduce",
          lambda c, x: _op("reduce", "var")(x, dim=c["dim"], keepdim=c["keepdim"], unbiased=c["unbiased"]),
          _var_config, lambda rng, c: [normal(rng, c["shape"])],
          lambda c, x: np.var(x, axis=_np_axis(c["dim"]), keepdims=c["keepdim"], ddof=int(c["unbiased"]))),
    OpRow("std", 0, "reduce",
          lambda c, x: _op("reduce", "std")(x, dim=c["dim"], keepdim=c["keepdim"], correction=int(c["unbiased"])),
          _var_config, lambda rng, c: [normal(rng, c["shape"])],
          lambda c, x: np.std(x, axis=_np_axis(c["dim"]), keepdims=c["keepdim"], ddof=int(c["unbiased"]))),
]


# ------------------------------------------------------------------------------------------------- shape
def _reshape_config(d: DrawInt, f: DrawFloat) -> Config:
    shape = draw_shape(d, 1, 3, 1, 4)
    target = [shape[i] for i in draw_perm(d, len(shape))]
    if d(0, 1):
        target.insert(d(0, len(target)), 1)
    target[d(0, len(target) - 1)] = -1
    return {"shape": shape, "target": tuple(target)}


def _getitem_basic_config(d: DrawInt, f: DrawFloat) -> Config:
    shape = (d(2, 4), d(2, 5), d(1, 4))
    variant = d(0, 2)
    start = d(0, shape[1] - 1)
    sl = slice(start, d(start + 1, shape[1]), d(1, 2))
    if variant == 0:
        index: Any = (d(-shape[0], shape[0] - 1), sl)
    elif variant == 1:
        index = (slice(None), sl, d(0, shape[2] - 1))
    else:
        index = (Ellipsis, slice(None, None, -1))
    return {"shape": shape, "index": index}


def _getitem_adv_config(d: DrawInt, f: DrawFloat) -> Config:
    shape = (d(2, 4), d(2, 4), d(1, 3))
    variant = d(0, 3)
    rows = np.array([d(-shape[0], shape[0] - 1) for _ in range(d(1, 5))])  # repeats are likely: they must add up
    if variant == 0:
        index: Any = rows
    elif variant == 1:
        index = (slice(None), np.array([d(0, shape[1] - 1) for _ in range(d(1, 4))]))
    elif variant == 2:
        mask = np.array([bool(d(0, 1)) for _ in range(shape[0])])
        mask[d(0, shape[0] - 1)] = True
        index = mask
    else:
        index = (rows, np.array([d(0, shape[1] - 1) for _ in range(len(rows))]))
    return {"shape": shape, "index": index}


def _on_device(x: Tensor, index: Any) -> Any:
    """Index arrays moved to x's device (a CuPy tensor is indexed with CuPy arrays)."""
    xp = get_array_module(x.data)
    if isinstance(index, tuple):
        return tuple(_on_device(x, i) for i in index)
    return xp.asarray(index) if isinstance(index, np.ndarray) else index


def _squeeze_config(d: DrawInt, f: DrawFloat) -> Config:
    shape = tuple(pick(d, [1, 2, 3]) for _ in range(d(1, 4)))
    ones = [i for i, s in enumerate(shape) if s == 1]
    dim = None if not ones or d(0, 1) == 0 else ones[d(0, len(ones) - 1)] - (len(shape) if d(0, 1) else 0)
    return {"shape": shape, "dim": dim}


def _broadcast_to_config(d: DrawInt, f: DrawFloat) -> Config:
    shape = tuple(pick(d, [1, 2, 3]) for _ in range(d(1, 3)))
    target = tuple(draw_shape(d, 0, 2, 1, 3)) + tuple(s if s != 1 else d(1, 3) for s in shape)
    return {"shape": shape, "target": target}


def _flatten_config(d: DrawInt, f: DrawFloat) -> Config:
    shape = draw_shape(d, 1, 4, 1, 3)
    n = len(shape)
    start = d(0, n - 1)
    end = d(start, n - 1)
    return {"shape": shape, "start_dim": start - (n if d(0, 1) else 0), "end_dim": end - (n if d(0, 1) else 0)}


def _cat_config(d: DrawInt, f: DrawFloat) -> Config:
    base = draw_shape(d, 1, 3, 1, 3)
    dim = _dim(d, len(base))
    shapes = []
    for _ in range(d(2, 3)):
        s = list(base)
        s[dim] = d(1, 3)
        shapes.append(tuple(s))
    return {"shapes": shapes, "dim": dim}


def _stack_config(d: DrawInt, f: DrawFloat) -> Config:
    shape = draw_shape(d, 1, 3, 1, 3)
    return {"shapes": [shape] * d(1, 3), "dim": d(-len(shape) - 1, len(shape))}


def _pad_config(mode: str) -> Callable[[DrawInt, DrawFloat], Config]:
    def config(d: DrawInt, f: DrawFloat) -> Config:
        shape = (d(1, 2), d(1, 2), d(2, 4), d(2, 5)) if d(0, 1) else (d(1, 2), d(2, 4), d(2, 5))
        n_pad = 4 if len(shape) == 4 and d(0, 1) else 2
        most = [0] * 4
        for k in range(n_pad):  # pad[0], pad[1] pad the last dim, pad[2], pad[3] the one before
            size = shape[-1 - k // 2]
            most[k] = size - 1 if mode == "reflect" else 3  # reflect needs pad < size
        pad = tuple(d(0, most[k]) for k in range(n_pad))
        value = pick(d, [0.0, 1.5, -2.0]) if mode == "constant" else 0.0
        return {"shape": shape, "pad": pad, "mode": mode, "value": value}
    return config


def _pad_ref(c: Config, x: np.ndarray) -> np.ndarray:
    pad = c["pad"]
    widths = [(0, 0)] * x.ndim
    for k in range(0, len(pad), 2):
        widths[x.ndim - 1 - k // 2] = (pad[k], pad[k + 1])
    if c["mode"] == "constant":
        return np.pad(x, widths, mode="constant", constant_values=c["value"])
    return np.pad(x, widths, mode={"reflect": "reflect", "replicate": "edge"}[c["mode"]])


def _pad_row(mode: str) -> OpRow:
    return OpRow(f"pad_{mode}", 5, "shape",
                 lambda c, x: _op("shape", "pad")(x, c["pad"], mode=c["mode"], value=c["value"]),
                 _pad_config(mode), lambda rng, c: [normal(rng, c["shape"])], _pad_ref)


def _shape_only(d: DrawInt, f: DrawFloat) -> Config:
    return {"shape": draw_shape(d)}


def _transpose_config(d: DrawInt, f: DrawFloat) -> Config:
    shape = draw_shape(d, 1, 3)
    return {"shape": shape, "dim0": _dim(d, len(shape)), "dim1": _dim(d, len(shape))}


def _permute_config(d: DrawInt, f: DrawFloat) -> Config:
    shape = draw_shape(d, 1, 4, 1, 3)
    return {"shape": shape, "dims": draw_perm(d, len(shape))}


def _unsqueeze_config(d: DrawInt, f: DrawFloat) -> Config:
    shape = draw_shape(d)
    return {"shape": shape, "dim": d(-len(shape) - 1, len(shape))}


def _np_flatten(x: np.ndarray, start: int, end: int) -> np.ndarray:
    start, end = start % x.ndim, end % x.ndim
    return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1:])


_one_normal = (lambda rng, c: [normal(rng, c["shape"])])

SHAPE = [
    OpRow("reshape", 0, "shape", lambda c, x: _op("shape", "reshape")(x, c["target"]), _reshape_config,
          _one_normal, lambda c, x: x.reshape(c["target"])),
    OpRow("transpose", 0, "shape", lambda c, x: _op("shape", "transpose")(x, c["dim0"], c["dim1"]),
          _transpose_config, _one_normal, lambda c, x: np.swapaxes(x, c["dim0"], c["dim1"])),
    OpRow("permute", 0, "shape", lambda c, x: _op("shape", "permute")(x, c["dims"]),
          _permute_config,
          _one_normal, lambda c, x: np.transpose(x, c["dims"])),
    OpRow("getitem_basic", 0, "shape", lambda c, x: _op("shape", "getitem")(x, c["index"]), _getitem_basic_config,
          _one_normal, lambda c, x: x[c["index"]]),
    OpRow("getitem_advanced", 0, "shape", lambda c, x: _op("shape", "getitem")(x, _on_device(x, c["index"])),
          _getitem_adv_config, _one_normal, lambda c, x: x[c["index"]]),
    OpRow("squeeze", 0, "shape", lambda c, x: _op("shape", "squeeze")(x, c["dim"]), _squeeze_config, _one_normal,
          lambda c, x: np.squeeze(x, axis=c["dim"])),
    OpRow("unsqueeze", 0, "shape", lambda c, x: _op("shape", "unsqueeze")(x, c["dim"]),
          _unsqueeze_config, _one_normal,
          lambda c, x: np.expand_dims(x, c["dim"])),
    OpRow("broadcast_to", 0, "shape", lambda c, x: _op("shape", "broadcast_to")(x, c["target"]),
          _broadcast_to_config, _one_normal, lambda c, x: np.broadcast_to(x, c["target"])),
    OpRow("flatten", 2, "shape", lambda c, x: _op("shape", "flatten")(x, c["start_dim"], c["end_dim"]),
          _flatten_config, _one_normal, lambda c, x: _np_flatten(x, c["start_dim"], c["end_dim"])),
    OpRow("cat", 5, "shape", lambda c, *xs: _op("shape", "cat")(list(xs), dim=c["dim"]), _cat_config,
          lambda rng, c: [normal(rng, s) for s in c["shapes"]],
          lambda c, *xs: np.concatenate(xs, axis=c["dim"])),
    OpRow("stack", 5, "shape", lambda c, *xs: _op("shape", "stack")(list(xs), dim=c["dim"]), _stack_config,
          lambda rng, c: [normal(rng, s) for s in c["shapes"]], lambda c, *xs: np.stack(xs, axis=c["dim"])),
    _pad_row("constant"),
    _pad_row("reflect"),
    _pad_row("replicate"),
]


# ------------------------------------------------------------------------------------------------ linalg
def _matmul_config(d: DrawInt, f: DrawFloat) -> Config:
    m, k, n, b = d(1, 4), d(1, 4), d(1, 4), d(1, 3)
    a_shape, b_shape = pick(d, [((m, k), (k, n)), ((b, m, k), (b, k, n)), ((b, m, k), (k, n)), ((m, k), (b, k, n)),
                                ((b, 1, m, k), (d(1, 3), k, n))])  # 1-D operands are refused by design
    return {"a": a_shape, "b": b_shape}


def _linear_config(d: DrawInt, f: DrawFloat) -> Config:
    n_in, n_out = d(1, 5), d(1, 4)
    lead = (d(1, 4),) if d(0, 1) else (d(1, 2), d(1, 3))
    return {"x": lead + (n_in,), "weight": (n_out, n_in), "bias": bool(d(0, 1))}


def _linear_ref(c: Config, x: np.ndarray, w: np.ndarray, b: Optional[np.ndarray]) -> np.ndarray:
    y = np.einsum("...i,oi->...o", x, w)
    return y if b is None else y + b


LINALG = [
    OpRow("matmul", 1, "linalg", lambda c, a, b: _op("linalg", "matmul")(a, b), _matmul_config,
          lambda rng, c: [normal(rng, c["a"]), normal(rng, c["b"])], lambda c, a, b: np.matmul(a, b)),
    OpRow("linear", 1, "linalg", lambda c, x, w, b: _op("linalg", "linear")(x, w, b), _linear_config,
          lambda rng, c: [normal(rng, c["x"]), normal(rng, c["weight"]),
                          normal(rng, c["weight"][:1]) if c["bias"] else None], _linear_ref),
]


# -------------------------------------------------------------------------------------------- activation
def _np_log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _softmax_config(d: DrawInt, f: DrawFloat) -> Config:
    shape = draw_shape(d, 1, 3, 1, 5)
    return {"shape": shape, "dim": _dim(d, len(shape))}


def _plus_bias(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    return x + b.reshape(1, -1, *(1,) * (x.ndim - 2))


def _bias_inputs(rng: np.random.Generator, shape: Sequence[int]) -> List[Any]:
    """x and a per-channel b with x + b away from 0 (the activation's kink)."""
    b = normal(rng, (shape[1],))
    return [away_from_zero(rng, shape) - b.reshape(1, -1, *(1,) * (len(shape) - 2)), b]


ACTIVATION = [
    _unary("relu", lambda x: np.maximum(x, 0), away_from_zero, "activation", 1),
    OpRow("leaky_relu", 5, "activation", lambda c, x: _op("activation", "leaky_relu")(x, c["negative_slope"]),
          lambda d, f: {"shape": draw_shape(d), "negative_slope": pick(d, [0.01, 0.2, 0.0, 1.5])},
          lambda rng, c: [away_from_zero(rng, c["shape"])],
          lambda c, x: np.where(x > 0, x, c["negative_slope"] * x)),
    OpRow("bias_activation", 5, "fast.fusion",
          lambda c, x, b: _op("fast.fusion", "bias_activation")(x, b, c["negative_slope"]),
          lambda d, f: {"shape": draw_shape(d, 2, 4), "negative_slope": pick(d, [0.0, 0.2])},
          lambda rng, c: _bias_inputs(rng, c["shape"]),
          lambda c, x, b: np.where(_plus_bias(x, b) > 0, _plus_bias(x, b), c["negative_slope"] * _plus_bias(x, b))),
    _unary("sigmoid", lambda x: 1 / (1 + np.exp(-x)), lambda rng, s: 3 * normal(rng, s), "activation", 4),
    _unary("tanh", np.tanh, lambda rng, s: 2 * normal(rng, s), "activation", 5),
    OpRow("softmax", 1, "activation", lambda c, x: _op("activation", "softmax")(x, c["dim"]), _softmax_config,
          lambda rng, c: [3 * normal(rng, c["shape"])], lambda c, x: np.exp(_np_log_softmax(x, c["dim"]))),
    OpRow("log_softmax", 1, "activation", lambda c, x: _op("activation", "log_softmax")(x, c["dim"]),
          _softmax_config, lambda rng, c: [3 * normal(rng, c["shape"])],
          lambda c, x: _np_log_softmax(x, c["dim"])),
]


# -------------------------------------------------------------------------------------------------- norm
def _bn_config(d: DrawInt, f: DrawFloat) -> Config:
    n, ch = d(1, 3), d(1, 3)
    shape = (n, ch, d(1, 3), d(1, 3)) if d(0, 1) else (n, ch)
    if int(np.prod(shape)) // ch < 2:  # batch statistics need two values per channel
        shape = (2,) + shape[1:]
    return {"shape": shape, "affine": bool(d(0, 1)), "momentum": pick(d, [0.1, 0.5]), "eps": pick(d, [1e-5, 1e-3])}


def _bn_axes(x: np.ndarray) -> Tuple[int, ...]:
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def _affine(c: Config, y: np.ndarray, w: Optional[np.ndarray], b: Optional[np.ndarray]) -> np.ndarray:
    if w is not None:
        y = y * _per_channel(w, y)
    if b is not None:
        y = y + _per_channel(b, y)
    return y


def _bn_train_ref(c: Config, x: np.ndarray, w: Any, b: Any) -> np.ndarray:
    m = x.mean(axis=_bn_axes(x), keepdims=True)
    v = x.var(axis=_bn_axes(x), keepdims=True)
    return _affine(c, (x - m) / np.sqrt(v + c["eps"]), w, b)


def _bn_eval_ref(c: Config, x: np.ndarray, rm: np.ndarray, rv: np.ndarray, w: Any, b: Any) -> np.ndarray:
    return _affine(c, (x - _per_channel(rm, x)) / np.sqrt(_per_channel(rv, x) + c["eps"]), w, b)


def _bn_train_call(c: Config, x: Tensor, w: Any, b: Any) -> Tensor:
    xp, ch = get_array_module(x.data), x.shape[1]
    rm, rv = xp.zeros(ch, dtype=x.dtype), xp.ones(ch, dtype=x.dtype)  # fresh each call: updates do not pile up
    return _op("norm", "batch_norm")(x, rm, rv, w, b, training=True, momentum=c["momentum"], eps=c["eps"])


def _bn_eval_call(c: Config, x: Tensor, rm: Any, rv: Any, w: Any, b: Any) -> Tensor:
    return _op("norm", "batch_norm")(x, _raw(rm), _raw(rv), w, b, training=False, momentum=c["momentum"],
                                     eps=c["eps"])


def _affine_params(rng: np.random.Generator, c: Config, ch: int) -> List[Any]:
    return [positive(rng, (ch,)), normal(rng, (ch,))] if c["affine"] else [None, None]


def _in_config(d: DrawInt, f: DrawFloat) -> Config:
    h, w = d(1, 3), d(2, 3)
    return {"shape": (d(1, 2), d(1, 3), h, w), "affine": bool(d(0, 1)), "eps": pick(d, [1e-5, 1e-3])}


def _in_ref(c: Config, x: np.ndarray, w: Any, b: Any) -> np.ndarray:
    m = x.mean(axis=(2, 3), keepdims=True)
    v = x.var(axis=(2, 3), keepdims=True)
    return _affine(c, (x - m) / np.sqrt(v + c["eps"]), w, b)


NORM = [
    OpRow("batch_norm_train", 2, "norm", _bn_train_call, _bn_config,
          lambda rng, c: [normal(rng, c["shape"])] + _affine_params(rng, c, c["shape"][1]), _bn_train_ref),
    OpRow("batch_norm_eval", 2, "norm", _bn_eval_call, _bn_config,
          lambda rng, c: [normal(rng, c["shape"]), normal(rng, c["shape"][1:2]), positive(rng, c["shape"][1:2])]
          + _affine_params(rng, c, c["shape"][1]), _bn_eval_ref, wrt=(0, 3, 4)),
    OpRow("instance_norm", 5, "norm",
          lambda c, x, w, b: _op("norm", "instance_norm")(x, None, None, w, b, use_input_stats=True, eps=c["eps"]),
          _in_config, lambda rng, c: [normal(rng, c["shape"])] + _affine_params(rng, c, c["shape"][1]), _in_ref),
]


# ----------------------------------------------------------------------------------------------- dropout
def _dropout_check(c: Config, arrays: List[Any], out: np.ndarray) -> float:
    """Every output is 0 or x / (1 - p), and the kept fraction is a plausible Bernoulli(1 - p) draw."""
    x = np.asarray(arrays[0], dtype=np.float64)
    p = c["p"]
    if not c["training"] or p == 0.0:
        return float(np.max(np.abs(out - x), initial=0.0))
    kept = out != 0
    err = float(np.max(np.abs(out[kept] - x[kept] / (1 - p)), initial=0.0))
    n, k = x.size, int(kept.sum())
    if abs(k - n * (1 - p)) > 5 * np.sqrt(n * p * (1 - p)) + 1:
        err = max(err, 1.0)  # the mask does not look like Bernoulli(1 - p)
    return err


DROPOUT = [
    OpRow("dropout", 1, "dropout",
          lambda c, x: _op("dropout", "dropout")(x, c["p"], training=c["training"], generator=Generator(c["seed"])),
          lambda d, f: {"shape": draw_shape(d, 1, 3, 1, 5), "p": pick(d, [0.5, 0.0, 0.2, 0.8]),
                        "training": bool(d(0, 3)), "seed": d(0, 1000)},
          lambda rng, c: [away_from_zero(rng, c["shape"])], forward_check=_dropout_check),
]


# -------------------------------------------------------------------------------------------------- loss
def _reduce_ref(loss: np.ndarray, reduction: str) -> np.ndarray:
    return {"mean": np.mean, "sum": np.sum, "none": np.asarray}[reduction](loss)


def _ce_config(d: DrawInt, f: DrawFloat) -> Config:
    return {"n": d(1, 4), "c": d(2, 5), "reduction": pick(d, ["mean", "sum", "none"]),
            "label_smoothing": pick(d, [0.0, 0.1, 0.3])}


def _ce_inputs(rng: np.random.Generator, c: Config) -> List[Any]:
    return [2 * normal(rng, (c["n"], c["c"])), rng.integers(0, c["c"], c["n"]).astype(np.int64)]


def _ce_ref(c: Config, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    logp = _np_log_softmax(x, 1)
    eps = c["label_smoothing"]
    loss = -(1 - eps) * logp[np.arange(len(t)), t] - eps * logp.mean(axis=1)
    return _reduce_ref(loss, c["reduction"])


def _pair_config(d: DrawInt, f: DrawFloat) -> Config:
    return {"shape": draw_shape(d, 1, 3), "reduction": pick(d, ["mean", "sum", "none"])}


def _l1_inputs(rng: np.random.Generator, c: Config) -> List[Any]:
    x = normal(rng, c["shape"])
    return [x, x + away_from_zero(rng, c["shape"])]  # |x - y| >= 0.1: off the kink


def _bce_ref(c: Config, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    return _reduce_ref(np.logaddexp(0, x) - x * t, c["reduction"])


def _loss_row(name: str, lesson: int, config: Callable[..., Config], inputs: Callable[..., List[Any]],
              ref: Callable[..., np.ndarray], **kwargs: Any) -> OpRow:
    def call(c: Config, x: Tensor, t: Tensor, _n: str = name) -> Tensor:
        extra = {"label_smoothing": c["label_smoothing"]} if "label_smoothing" in c else {}
        return _op("loss", _n)(x, t, reduction=c["reduction"], **extra)
    return OpRow(name, lesson, "loss", call, config, inputs, ref, **kwargs)


LOSS = [
    _loss_row("cross_entropy", 1, _ce_config, _ce_inputs, _ce_ref),
    _loss_row("nll_loss", 1, lambda d, f: {k: v for k, v in _ce_config(d, f).items() if k != "label_smoothing"},
              _ce_inputs, lambda c, x, t: _reduce_ref(-x[np.arange(len(t)), t], c["reduction"])),
    _loss_row("mse_loss", 3, _pair_config, lambda rng, c: [normal(rng, c["shape"]), normal(rng, c["shape"])],
              lambda c, x, t: _reduce_ref((x - t) ** 2, c["reduction"])),
    _loss_row("l1_loss", 5, _pair_config, _l1_inputs, lambda c, x, t: _reduce_ref(np.abs(x - t), c["reduction"])),
    _loss_row("psnr_loss", 3, lambda d, f: {"shape": draw_shape(d, 2, 4), "reduction": pick(d, ["mean", "sum",
                                                                                              "none"])},
              lambda rng, c: [normal(rng, c["shape"]), normal(rng, c["shape"])],
              lambda c, x, t: _reduce_ref(10 * np.log10(((x - t) ** 2).reshape(len(x), -1).mean(axis=1) + 1e-8),
                                          c["reduction"])),
    _loss_row("binary_cross_entropy_with_logits", 5, _pair_config,
              lambda rng, c: [3 * normal(rng, c["shape"]), rng.uniform(0, 1, c["shape"])], _bce_ref),
]


# ------------------------------------------------------------------------------------------ conv and pool
def _conv_config(d: DrawInt, f: DrawFloat) -> Config:
    kh, kw = d(1, 3), d(1, 3)
    pairs = bool(d(0, 1))  # stride and padding as ints, or as (h, w) pairs
    stride = (d(1, 2), d(1, 2)) if pairs else d(1, 2)
    padding = (d(0, 2), d(0, 2)) if pairs else d(0, 2)
    ph, pw = padding if pairs else (padding, padding)
    h, w = d(max(1, kh - 2 * ph), 5), d(max(1, kw - 2 * pw), 5)  # the kernel fits the padded input
    return {"x": (d(1, 2), d(1, 3), h, w), "out_channels": d(1, 3), "kernel": (kh, kw), "bias": bool(d(0, 1)),
            "stride": stride, "padding": padding}


def _conv_inputs(rng: np.random.Generator, c: Config) -> List[Any]:
    o = c["out_channels"]
    return [normal(rng, c["x"]), normal(rng, (o, c["x"][1]) + c["kernel"]), normal(rng, (o,)) if c["bias"] else None]


def _convt_config(d: DrawInt, f: DrawFloat) -> Config:
    kh, kw = d(1, 3), d(1, 3)
    stride = d(1, 3)
    padding = d(0, min(kh, kw) - 1)
    output_padding = d(0, stride - 1)
    h, w = d(1, 4), d(1, 4)
    if (h - 1) * stride - 2 * padding + kh < 1 or (w - 1) * stride - 2 * padding + kw < 1:
        padding = 0  # keep the output non-empty
    return {"x": (d(1, 2), d(1, 3), h, w), "out_channels": d(1, 3), "kernel": (kh, kw), "bias": bool(d(0, 1)),
            "stride": stride, "padding": padding, "output_padding": output_padding}


def _convt_inputs(rng: np.random.Generator, c: Config) -> List[Any]:
    cin, cout = c["x"][1], c["out_channels"]
    return [normal(rng, c["x"]), normal(rng, (cin, cout) + c["kernel"]), normal(rng, (cout,)) if c["bias"] else None]


def _pool_config(d: DrawInt, f: DrawFloat) -> Config:
    k = d(1, 3)
    stride = pick(d, [None, 1, 2, 3])
    padding = d(0, k // 2)  # PyTorch: padding at most half the kernel
    h, w = d(k, 6), d(k, 6)
    return {"x": (d(1, 2), d(1, 3), h, w), "kernel_size": k, "stride": stride, "padding": padding}


def _avg_pool_config(d: DrawInt, f: DrawFloat) -> Config:
    return {**_pool_config(d, f), "count_include_pad": bool(d(0, 1))}


def _conv_ref(c: Config, x: np.ndarray, w: np.ndarray, b: Any) -> np.ndarray:
    return _ref("conv2d")(x, w, b, stride=c["stride"], padding=c["padding"])


def _convt_ref(c: Config, x: np.ndarray, w: np.ndarray, b: Any) -> np.ndarray:
    return _ref("conv_transpose2d")(x, w, b, stride=c["stride"], padding=c["padding"],
                                    output_padding=c["output_padding"])


CONV = [
    OpRow("conv2d", 2, "conv",
          lambda c, x, w, b: _op("conv", "conv2d")(x, w, b, stride=c["stride"], padding=c["padding"]),
          _conv_config, _conv_inputs, _conv_ref, max_examples=10),
    OpRow("conv_transpose2d", 5, "conv",
          lambda c, x, w, b: _op("conv", "conv_transpose2d")(x, w, b, stride=c["stride"], padding=c["padding"],
                                                             output_padding=c["output_padding"]),
          _convt_config, _convt_inputs, _convt_ref, max_examples=10),
    OpRow("max_pool2d", 2, "pool",
          lambda c, x: _op("pool", "max_pool2d")(x, c["kernel_size"], c["stride"], c["padding"]),
          _pool_config, lambda rng, c: [distinct(rng, c["x"])],
          lambda c, x: _ref("max_pool2d")(x, c["kernel_size"], c["stride"], c["padding"]), max_examples=12),
    OpRow("avg_pool2d", 2, "pool",
          lambda c, x: _op("pool", "avg_pool2d")(x, c["kernel_size"], c["stride"], c["padding"],
                                                 count_include_pad=c["count_include_pad"]),
          _avg_pool_config, lambda rng, c: [normal(rng, c["x"])],
          lambda c, x: _ref("avg_pool2d")(x, c["kernel_size"], c["stride"], c["padding"],
                                          count_include_pad=c["count_include_pad"]), max_examples=12),
    OpRow("upsample_nearest2d", 4, "pool",
          lambda c, x: _op("pool", "upsample_nearest2d")(x, scale_factor=c["scale_factor"]),
          lambda d, f: {"x": (d(1, 2), d(1, 3), d(1, 4), d(1, 4)), "scale_factor": d(1, 3)},
          lambda rng, c: [normal(rng, c["x"])],
          lambda c, x: _ref("upsample_nearest2d")(x, scale_factor=c["scale_factor"]), max_examples=12),
]


# ------------------------------------------------------------------------- channel ops (models/nafnet.py)
def _ln2d_ref(c: Config, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    m = x.mean(axis=1, keepdims=True)
    v = x.var(axis=1, keepdims=True)
    return (x - m) / np.sqrt(v + c["eps"]) * w.reshape(1, -1, 1, 1) + b.reshape(1, -1, 1, 1)


def _dwconv_ref(c: Config, x: np.ndarray, w: np.ndarray, b: Any) -> np.ndarray:
    """Each channel alone through the naive conv2d reference (groups = C)."""
    return np.concatenate([_ref("conv2d")(x[:, k:k + 1], w[k:k + 1], None if b is None else b[k:k + 1],
                                          stride=1, padding=c["padding"]) for k in range(x.shape[1])], axis=1)


def _dwconv_config(d: DrawInt, f: DrawFloat) -> Config:
    kh, kw = d(1, 3), d(1, 3)
    padding = d(0, 1)
    return {"x": (d(1, 2), d(1, 3), d(max(1, kh - 2 * padding), 5), d(max(1, kw - 2 * padding), 5)),
            "kernel": (kh, kw), "padding": padding, "bias": bool(d(0, 1))}


def _pixel_shuffle_ref(c: Config, x: np.ndarray) -> np.ndarray:
    """out[n, c, h r + i, w r + j] = x[n, c r^2 + i r + j, h, w], written tap by tap."""
    r = c["r"]
    n, crr, h, w = x.shape
    out = np.empty((n, crr // (r * r), h * r, w * r))
    for i in range(r):
        for j in range(r):
            out[:, :, i::r, j::r] = x[:, i * r + j::r * r]
    return out


def _pixel_unshuffle_ref(c: Config, x: np.ndarray) -> np.ndarray:
    r = c["r"]
    n, ch, hr, wr = x.shape
    out = np.empty((n, ch * r * r, hr // r, wr // r))
    for i in range(r):
        for j in range(r):
            out[:, i * r + j::r * r] = x[:, :, i::r, j::r]
    return out


CHANNEL = [
    OpRow("layer_norm2d", 5, "channel_ops",
          lambda c, x, w, b: _op("channel_ops", "layer_norm2d")(x, w, b, eps=c["eps"]),
          lambda d, f: {"shape": (d(1, 2), d(1, 4), d(1, 3), d(1, 3)), "eps": pick(d, [1e-6, 1e-3])},
          lambda rng, c: [normal(rng, c["shape"]), positive(rng, c["shape"][1:2]), normal(rng, c["shape"][1:2])],
          _ln2d_ref),
    OpRow("depthwise_conv2d", 5, "channel_ops",
          lambda c, x, w, b: _op("channel_ops", "depthwise_conv2d")(x, w, b, padding=c["padding"]),
          _dwconv_config,
          lambda rng, c: [normal(rng, c["x"]), normal(rng, (c["x"][1], 1) + c["kernel"]),
                          normal(rng, c["x"][1:2]) if c["bias"] else None], _dwconv_ref, max_examples=12),
    OpRow("simple_gate", 5, "channel_ops", lambda c, x: _op("channel_ops", "simple_gate")(x),
          lambda d, f: {"shape": (d(1, 2), 2 * d(1, 3), d(1, 3), d(1, 3))},
          lambda rng, c: [normal(rng, c["shape"])],
          lambda c, x: x[:, :x.shape[1] // 2] * x[:, x.shape[1] // 2:]),
    OpRow("adaptive_avg_pool2d", 5, "channel_ops", lambda c, x: _op("channel_ops", "adaptive_avg_pool2d")(x, 1),
          lambda d, f: {"shape": (d(1, 2), d(1, 3), d(1, 4), d(1, 4))}, lambda rng, c: [normal(rng, c["shape"])],
          lambda c, x: x.mean(axis=(2, 3), keepdims=True)),
    OpRow("pixel_shuffle", 5, "channel_ops", lambda c, x: _op("channel_ops", "pixel_shuffle")(x, c["r"]),
          lambda d, f: (lambda r: {"shape": (d(1, 2), d(1, 2) * r * r, d(1, 3), d(1, 3)), "r": r})(d(1, 3)),
          lambda rng, c: [normal(rng, c["shape"])], _pixel_shuffle_ref),
    OpRow("pixel_unshuffle", 5, "channel_ops", lambda c, x: _op("channel_ops", "pixel_unshuffle")(x, c["r"]),
          lambda d, f: (lambda r: {"shape": (d(1, 2), d(1, 3), d(1, 3) * r, d(1, 3) * r), "r": r})(d(1, 3)),
          lambda rng, c: [normal(rng, c["shape"])], _pixel_unshuffle_ref),
]


# ------------------------------------------------------------------------------------------------ the table
ROWS: List[OpRow] = ELEMENTWISE + REDUCE + SHAPE + LINALG + ACTIVATION + NORM + DROPOUT + LOSS + CONV + CHANNEL
_BY_NAME = {r.name: r for r in ROWS}
assert len(_BY_NAME) == len(ROWS), "two rows share a name"


def names() -> List[str]:
    return [r.name for r in ROWS]


def get(name: str) -> OpRow:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no operator {name!r} in the table; valid names: {', '.join(names())}") from None


# ------------------------------------------------------------------------------------------- running a row
def numpy_draw_int(rng: np.random.Generator) -> DrawInt:
    return lambda lo, hi: int(rng.integers(lo, hi + 1))


def numpy_draw_float(rng: np.random.Generator) -> DrawFloat:
    return lambda lo, hi: float(rng.uniform(lo, hi))


def describe(cfg: Config) -> str:
    """The config on one line (index arrays as lists)."""
    def show(v: Any) -> str:
        if isinstance(v, np.ndarray):
            return str(v.tolist())
        if isinstance(v, tuple) and any(isinstance(e, (np.ndarray, slice)) or e is Ellipsis for e in v):
            return "(" + ", ".join(show(e) for e in v) + ")"
        if isinstance(v, slice):
            return f"{'' if v.start is None else v.start}:{'' if v.stop is None else v.stop}" + \
                   ("" if v.step is None else f":{v.step}")
        return "..." if v is Ellipsis else repr(v)
    return "{" + ", ".join(f"{k}={show(v)}" for k, v in cfg.items()) + "}"


def cast_inputs(arrays: Sequence[Any], dtype: Any) -> List[Any]:
    """Floating arrays to ``dtype``; integer arrays and None unchanged."""
    return [a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in arrays]


def to_tensors(arrays: Sequence[Any], device: str = "cpu", requires_grad: bool = False) -> List[Any]:
    """Arrays as Tensors on ``device`` (floating ones requiring grad when asked); None stays None."""
    out: List[Any] = []
    for a in arrays:
        if a is None:
            out.append(None)
            continue
        t = Tensor(a).to(device)
        t.requires_grad = requires_grad and t.dtype.kind == "f"
        out.append(t)
    return out


def on_device(arrays: Sequence[Any], device: str) -> List[Any]:
    """The arrays moved to ``device`` (None and non-arrays unchanged): gradcheck then runs there."""
    return [to_device(a, device) if hasattr(a, "shape") else a for a in arrays]


def run_forward(row: OpRow, cfg: Config, arrays: Sequence[Any], dtype: Any = np.float64,
                device: str = "cpu") -> Tensor:
    """The row's op on ``arrays`` cast to ``dtype`` (floating ones), as Tensors on ``device``."""
    return row.call(cfg, *to_tensors(cast_inputs(arrays, dtype), device))


def forward_error(row: OpRow, cfg: Config, arrays: Sequence[Any], dtype: Any = np.float64,
                  device: str = "cpu") -> float:
    """max |op - reference| / max(1, max |reference|) with inputs in ``dtype`` (the reference runs in float64
    on the CPU on the same, already rounded, values; the op on ``device``). A wrong shape raises AssertionError
    naming both shapes."""
    cast = cast_inputs(arrays, dtype)
    out = run_forward(row, cfg, cast, dtype, device).numpy().astype(np.float64)
    exact = cast_inputs(cast, np.float64)
    if row.forward_check is not None:
        return row.forward_check(cfg, exact, out)
    ref = np.asarray(row.reference(cfg, *exact), dtype=np.float64)
    if out.shape != ref.shape:
        raise AssertionError(f"{row.name}: output shape {out.shape} but the reference has shape {ref.shape} "
                             f"(config {describe(cfg)})")
    if out.size == 0:
        return 0.0
    return float(np.max(np.abs(out - ref)) / max(1.0, float(np.max(np.abs(ref)))))


def all_configs(row: OpRow, seed: int, n: int) -> List[Tuple[Config, List[Any]]]:
    """``n`` configurations and inputs drawn with NumPy (the CLI and the GPU parity tests)."""
    out = []
    for k in range(n):
        rng = np.random.default_rng([seed, k])
        cfg = row.config(numpy_draw_int(rng), numpy_draw_float(rng))
        out.append((cfg, row.make_inputs(rng, cfg)))
    return out


__all__ = ["OpRow", "ROWS", "names", "get", "pick", "draw_shape", "draw_perm", "normal", "away_from_zero",
           "positive", "distinct", "forward_error", "run_forward", "to_tensors", "cast_inputs", "describe",
           "numpy_draw_int", "numpy_draw_float", "all_configs"]
