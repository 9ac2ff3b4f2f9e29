"""Grading a learner's file: the exercise's op-table rows (forward against the independent reference, then the
float64 gradient check) run with the learner's module standing in for the built-in one (``op_table.OVERRIDES``);
optimiser exercises run a few steps beside the built-in optimiser. A failure says which property failed, on which
drawn configuration, where the worst element is, and a hint matched to the mistake when one is recognised."""
from __future__ import annotations

import importlib.util
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from ..autograd import Tensor
from ..gradcheck import gradcheck
from ..testing import op_table as T
from .table import Exercise

CONFIGS = 8           # drawn configurations per row, then the row's EDGES
# Fixed edge cases of the conv-like rows, graded after the drawn ones so that no wrong answer passes by luck:
# stride > 1, padding > 0, a single channel, a batch of 1, odd and non-square sizes, no bias.
EDGE_NAMES = "stride > 1, padding > 0, a single channel, batch 1, odd sizes"
EDGES = {
    "conv2d": [
        {"x": (1, 1, 5, 5), "out_channels": 2, "kernel": (3, 3), "bias": True, "stride": 2, "padding": 1},
        {"x": (2, 3, 7, 6), "out_channels": 3, "kernel": (3, 2), "bias": True, "stride": (2, 1), "padding": (1, 0)},
        {"x": (1, 2, 5, 3), "out_channels": 1, "kernel": (1, 1), "bias": False, "stride": 1, "padding": 0}],
    "conv_transpose2d": [
        {"x": (1, 1, 3, 3), "out_channels": 2, "kernel": (3, 3), "bias": True, "stride": 2, "padding": 1,
         "output_padding": 1},
        {"x": (2, 3, 3, 2), "out_channels": 1, "kernel": (2, 3), "bias": False, "stride": 1, "padding": 0,
         "output_padding": 0}],
    "max_pool2d": [{"x": (1, 1, 5, 5), "kernel_size": 3, "stride": 2, "padding": 1},
                   {"x": (2, 3, 7, 5), "kernel_size": 2, "stride": None, "padding": 0}],
    "avg_pool2d": [{"x": (1, 1, 5, 5), "kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": True},
                   {"x": (1, 1, 5, 5), "kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
                   {"x": (2, 3, 7, 5), "kernel_size": 2, "stride": None, "padding": 0, "count_include_pad": True}],
}
FORWARD_TOL = 1e-8    # float64, relative to max(1, |reference|)


@dataclass
class Report:
    exercise: str
    passed: bool
    lines: List[str] = field(default_factory=list)
    hints: List[str] = field(default_factory=list)

    def text(self) -> str:
        head = f"{self.exercise}: {'PASSED' if self.passed else 'not passing yet'}"
        return "\n".join([head] + [f"  {line}" for line in self.lines] + [f"  hint: {h}" for h in self.hints])


def load_learner_module(path: Path, exercise: Exercise) -> ModuleType:
    """Import the learner's file as a module of the package (so its relative imports work)."""
    folder = exercise.source.rsplit("/", 1)[0] if "/" in exercise.source else ""
    package = "minitorch_deblur" + ("." + folder.replace("/", ".") if folder else "")
    name = f"{package}._exercise_{exercise.name}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = package
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def _not_implemented(error: BaseException) -> Optional[str]:
    return str(error) or "a function" if isinstance(error, NotImplementedError) else None


def _close(a: Any, b: Any, tol: float = 1e-6) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.abs(b).max(initial=0))))


def _grads(call: Callable[..., Tensor], arrays: Sequence[Any], u_seed: int) -> List[Optional[np.ndarray]]:
    """Input gradients of ``call`` for an upstream gradient drawn from ``u_seed`` (float64)."""
    tensors = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) if hasattr(a, "dtype") and a.dtype.kind == "f"
               else (Tensor(a) if hasattr(a, "shape") else a) for a in arrays]
    out = call(*tensors)
    u = np.random.default_rng(u_seed).standard_normal(out.shape)
    out.backward(u)
    return [t.grad if isinstance(t, Tensor) and t.requires_grad and t.grad is not None else None for t in tensors]


def _probe_grads(fn: Callable[..., Tensor], arrays: Sequence[np.ndarray], u_seed: int = 0) -> List[np.ndarray]:
    return [np.asarray(g) for g in _grads(fn, arrays, u_seed)]


def _diagnose_gradient(exercise: Exercise, module: ModuleType, mine: np.ndarray, truth: Optional[np.ndarray]) -> List[str]:
    """Name a typical mistake: a constant factor or sign on the failing gradient, and for conv2d and max_pool2d a
    small probe of the learner's operator against the built-in one with the mistake made on purpose."""
    hints = []
    if truth is not None and mine.shape == truth.shape:
        for factor, why in ((2.0, "a factor of 2 too large"), (0.5, "half the true value"), (-1.0, "of the opposite sign")):
            if _close(mine, factor * truth):
                hints.append(f"your gradient is {why}: check the derivative's constant and sign")
    if exercise.name == "conv2d":
        (x, w, b), yours, right = _conv_probe(module)
        ref = _conv_reference
        for variant, why in ((w.transpose(0, 1, 3, 2), "transposed"), (w[:, :, ::-1, ::-1], "flipped")):
            if not _close(yours[0], right[0]) and _close(yours[0], _probe_grads(ref, [x, variant.copy(), b])[0]):
                hints.append(f"your input gradient is what a {why} kernel gives: a transposed weight in backward? "
                             "dx = col2im(W_rows^T @ g_rows) with W exactly as forward used it")
        def first_only(*t: Any) -> Tensor:
            out = ref(*t)
            mask = np.zeros(out.shape)
            mask[0] = 1.0
            return out * Tensor(mask)
        if not _close(yours[2], right[2]) and _close(yours[2], _probe_grads(first_only, [x, w, b])[2]):
            hints.append("your bias gradient counts only the first sample: sum g over the batch and both spatial "
                         "axes (every axis but the channel)")
    if exercise.name == "max_pool2d":
        x = np.random.default_rng(3).permutation(16).reshape(1, 1, 4, 4).astype(np.float64)
        yours = _probe_grads(lambda t: module.max_pool2d(t, 2), [x])[0]
        if np.count_nonzero(yours) > 4:
            hints.append(f"your gradient reaches {np.count_nonzero(yours)} of 16 pixels of a 4x4 image pooled 2x2: "
                         "max pooling sends g only to each window's maximum (the first one on ties), 4 pixels here")
    return hints


def _forward_hints(exercise: Exercise, row: Any, cfg: Any, arrays: List[Any], mine: np.ndarray) -> List[str]:
    """Name a classic forward mistake by making it on purpose in the reference and comparing with the output."""
    def same(*args: Any) -> bool:
        try:
            return _close(mine, np.asarray(row.reference(cfg, *args), dtype=np.float64), 1e-6)
        except Exception:  # noqa: BLE001 (a variant the reference cannot run)
            return False
    if row.name in ("conv2d", "conv_transpose2d"):
        x, w, b = arrays
        if same(x, w[:, :, ::-1, ::-1].copy(), b):
            return ["your output is what a flipped kernel gives: a convolutional layer computes a correlation, "
                    "y[i, j] = sum w[u, v] x[i s + u - p, j s + v - p], with the kernel as it is (no flip)"]
        if same(x, w.transpose(0, 1, 3, 2).reshape(w.shape).copy(), b):   # (u, v) read as (v, u)
            return ["your output is what the kernel's transpose gives: W[o, c, u, v] has u down the rows and v "
                    "along the columns; reshape W to (O, C*kh*kw) without swapping axes"]
        if b is not None and same(x, w, None):
            return ["your output lacks the bias: add b[o] to every pixel of output channel o "
                    "(b.reshape(1, -1, 1, 1))"]
    if row.name == "linear":
        x, w, b = arrays
        if b is not None and same(x, w, None):
            return ["your output lacks the bias: y = x W^T + b"]
        if w.shape[0] == w.shape[1] and same(x, w.T.copy(), b):
            return ["your output is x W + b: the weight is stored (out, in), so y = x W^T + b"]
    if exercise.name == "batch_norm" and row.name == "batch_norm_train":
        x, w, b = arrays[0], arrays[1], arrays[2]          # the row's fresh running stats are zeros and ones
        shape = (1, -1) + (1,) * (x.ndim - 2)
        with_running = x / np.sqrt(1.0 + cfg["eps"])
        if w is not None:
            with_running = with_running * np.reshape(w, shape) + np.reshape(b, shape)
        if _close(mine, with_running, 1e-5):
            return ["in training, batch norm normalises with the batch's own mean and variance; the running "
                    "statistics are only updated then, and used in eval mode"]
    return []


def _shape_mistake(exercise: Exercise, error: BaseException, where: str) -> Optional[Tuple[str, str]]:
    """A shape or dtype error raised while grading, read as the learner's mistake: (the line, a hint), or None.

    A gradient of the wrong shape fails where the engine sums it back to its input (autograd.run_backward): its
    frame names the Function, the input, the expected and the actual shapes. An output of the wrong shape fails
    the reference comparison (an AssertionError naming both shapes). Any other ValueError, IndexError or TypeError
    raised inside the learner's code is reported with its line and a hint to write the shapes down."""
    import inspect

    frames = []
    tb = error.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        names = frame.f_locals
        if frame.f_code.co_name == "run_backward" and {"ctx", "edge", "ig"} <= set(names):
            ctx, edge, ig = names["ctx"], names["edge"], names["ig"]
            fn = ctx.function
            index = next((i for i, e in enumerate(ctx.inputs) if e is edge), None)
            try:
                params = [p for p in inspect.signature(fn.forward).parameters][1:]
            except (TypeError, ValueError):
                params = []
            input_name = params[index] if index is not None and index < len(params) else f"input {index}"
            return (f"{fn.__name__}.backward returned a gradient of {input_name} with shape "
                    f"{tuple(np.shape(ig))}, but {input_name} has shape {tuple(edge.shape)} ({type(error).__name__}: "
                    f"{error}) on {where}",
                    f"each gradient backward returns must have its input's exact shape: sum g over the axes that "
                    f"forward broadcast {input_name} along (a bias of shape (C,) in an (N, C, H, W) output: "
                    "g.sum(axis=(0, 2, 3)); a wrong axis leaves the wrong shape)")
    conv = exercise.name in ("conv2d", "im2col", "col2im", "max_pool2d", "avg_pool2d", "conv_transpose2d")
    if isinstance(error, AssertionError) and "output shape" in str(error):
        return (f"forward returned the wrong shape on {where}: {error}",
                "the output size of a window operation is (H + 2*padding - kernel) // stride + 1 per spatial axis: "
                "pad first, then step by the stride" if conv else
                "write the shapes next to each line of forward and compare with the reference's")
    if isinstance(error, (ValueError, IndexError, TypeError)):
        learner = [f for f in traceback.extract_tb(error.__traceback__) if "_exercise_" in f.filename
                   or "exercises" in Path(f.filename).parts]
        frame = (learner or traceback.extract_tb(error.__traceback__))[-1]
        return (f"your {frame.name} raised {type(error).__name__}: {error} (at {Path(frame.filename).name}:"
                f"{frame.lineno}: {frame.line}) on {where}",
                ("wrong padding or stride arithmetic? each spatial output size is (H + 2*padding - kernel) // "
                 "stride + 1: pass the padding and the stride you were given to every helper. " if conv else "") +
                "a shape or dtype mistake: write each array's shape next to its line (e.g. (N, C, H, W)), check "
                "every reshape, transpose and sum axis against them, and keep floating inputs floating")
    return None


def _conv_reference(*t: Any) -> Tensor:
    from .. import functional as F

    return F.conv2d(*t, stride=1, padding=1)


def _conv_probe(module: ModuleType) -> Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray]]:
    """A fixed batch of 2 images (2, 3, 5, 5), a 3x3 kernel, padding 1: (inputs, the learner's Conv2d input
    gradients, the built-in ones). It catches what drawn configurations can miss (a batch of 1, no bias)."""
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)]
    yours = _probe_grads(lambda *t: module.Conv2d.apply(*t, stride=1, padding=1), arrays)
    return arrays, yours, _probe_grads(_conv_reference, arrays)


def _softmax_probe(module: ModuleType) -> List[str]:
    """Lines and hints (prefixed 'hint: ') for the two classic softmax mistakes, on logits the rows never draw."""
    import warnings

    logits = np.array([[1000.0, 1001.0, 1002.0]])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        soft = np.asarray(module.softmax(Tensor(logits.copy()), -1).data, dtype=np.float64)
        pair = np.array([[0.0, 1000.0]])
        log_soft = np.asarray(module.log_softmax(Tensor(pair.copy()), -1).data, dtype=np.float64)
    right = np.exp(logits - 1002.0) / np.exp(logits - 1002.0).sum()
    if not _close(soft, right):
        return [f"softmax of the logits [1000, 1001, 1002] gives {soft.ravel().tolist()}, expected "
                f"{np.round(right.ravel(), 6).tolist()}",
                "hint: exp(1000) overflows to inf: subtract the max along dim before exp (softmax(x) = "
                "softmax(x - max x), so the answer is unchanged)"]
    if not _close(log_soft, [[-1000.0, 0.0]]):
        return [f"log_softmax of [0, 1000] gives {log_soft.ravel().tolist()}, expected [-1000.0, 0.0]",
                "hint: without the max subtracted, log(softmax(x)) underflows (softmax's first entry, exp(-1000), "
                "is 0 in floating point, and log(0) = -inf) and x - log(sum(exp(x))) overflows (exp(1000) = inf); "
                "compute x - max - log(sum(exp(x - max))) directly"]
    return []


def _probe(exercise: Exercise, module: ModuleType) -> List[str]:
    """softmax: large logits, where exp without the max subtracted overflows and log(softmax) underflows to -inf.
    conv2d: the first input whose probe gradient differs from the built-in one, with its worst index."""
    if exercise.name == "softmax":
        return _softmax_probe(module)
    if exercise.name != "conv2d":
        return []
    _, yours, right = _conv_probe(module)
    for name, a, b in zip(("x", "weight", "bias"), yours, right):
        if not _close(a, b):
            i = np.unravel_index(np.argmax(np.abs(a - b)), b.shape)
            return [f"on a batch of 2 images (2, 3, 5, 5) with a 3x3 kernel and padding 1, the gradient of {name} "
                    f"differs: worst index {tuple(int(k) for k in i)}, yours {a[i]:.6g} vs {b[i]:.6g}"]
    return []


def check_ops(exercise: Exercise, module: ModuleType) -> Report:
    """The exercise's rows with the learner's module in place (im2col and col2im through its conv2d)."""
    return _check_rows(exercise, module)


def _check_rows(exercise: Exercise, module: ModuleType) -> Report:
    report = Report(exercise.name, False)
    T.OVERRIDES[exercise.module] = module
    try:
        for name in exercise.rows:
            row = T.get(name)
            edges = [(cfg, row.make_inputs(np.random.default_rng([7, 1000 + i]), cfg))
                     for i, cfg in enumerate(EDGES.get(name, []))]
            for k, (cfg, arrays) in enumerate(T.all_configs(row, seed=7, n=CONFIGS) + edges):
                where = f"{name} with config {T.describe(cfg)}, input shapes " + \
                    ", ".join(str(tuple(a.shape)) for a in arrays if hasattr(a, "shape"))
                try:
                    T.OVERRIDES[exercise.module] = module
                    error = T.forward_error(row, cfg, arrays, np.float64)
                    if error > FORWARD_TOL:
                        mine = T.run_forward(row, cfg, arrays, np.float64).numpy()
                        report.lines.append(f"forward differs from the reference on {where}: relative error "
                                            f"{error:.3g}")
                        report.hints += _forward_hints(exercise, row, cfg, arrays, mine)
                        return report
                    if not row.grad:
                        continue
                    result = gradcheck(row.bind(cfg), arrays, wrt=row.wrt, seed=k, name=where)
                except Exception as error:  # noqa: BLE001 (a learner's code may raise anything)
                    missing = _not_implemented(error)
                    mistake = None if missing else _shape_mistake(exercise, error, where)
                    if missing:
                        report.lines.append(f"not implemented yet: {missing}")
                    elif mistake:
                        report.lines.append(mistake[0])
                        report.hints.append(mistake[1])
                    else:
                        frame = traceback.extract_tb(error.__traceback__)[-1]
                        report.lines.append(f"{where}: {type(error).__name__}: {error} (at {Path(frame.filename).name}"
                                            f":{frame.lineno}: {frame.line})")
                    return report
                if not result.passed:
                    report.lines += ["gradient check failed on " + where] + result.report().splitlines()[1:]
                    for c in result.inputs:
                        if not c.passed:
                            mine = _grads(row.bind(cfg), arrays, k)[c.index]
                            T.OVERRIDES.pop(exercise.module, None)
                            truth = _grads(row.bind(cfg), arrays, k)[c.index]
                            report.hints += _diagnose_gradient(
                                exercise, module, np.asarray(mine) if mine is not None else np.zeros(c.shape),
                                None if truth is None else np.asarray(truth))
                            break
                    return report
            report.lines.append(f"{name}: forward and gradients agree on {CONFIGS} drawn configurations" + (
                f" and {len(edges)} edge cases ({EDGE_NAMES})" if edges else ""))
        problem = _probe(exercise, module)
        if problem:
            report.lines += [line for line in problem if not line.startswith("hint: ")]
            report.hints += [line[6:] for line in problem if line.startswith("hint: ")]
            report.hints += _diagnose_gradient(exercise, module, np.zeros(0), None)
            return report
    finally:
        T.OVERRIDES.pop(exercise.module, None)
    report.passed = True
    return report


def check_optimizer(exercise: Exercise, module: ModuleType) -> Report:
    """Four steps of the learner's optimiser beside the built-in one, on the same parameters and gradients."""
    from .. import optim
    from ..nn import Parameter

    report = Report(exercise.name, False)
    cls = {"adam": "Adam", "sgd_momentum": "SGD"}[exercise.name]
    options = {"adam": dict(lr=0.01), "sgd_momentum": dict(lr=0.1, momentum=0.9)}[exercise.name]
    rng = np.random.default_rng(0)
    start = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(4)]
    runs = {}
    for who, owner in (("yours", module), ("built-in", optim)):
        p = Parameter(start.copy())
        opt = getattr(owner, cls)([p], **options)
        trace = []
        try:
            for g in grads:
                p.grad = g.copy()
                opt.step()
                trace.append(np.array(p.data))
        except Exception as error:  # noqa: BLE001
            missing = _not_implemented(error)
            report.lines.append(f"not implemented yet: {missing}" if missing else
                                f"{cls}.step raised {type(error).__name__}: {error}")
            return report
        runs[who] = trace
    for t, (a, b) in enumerate(zip(runs["yours"], runs["built-in"]), start=1):
        if not _close(a, b, 1e-9):
            i = np.unravel_index(np.argmax(np.abs(a - b)), a.shape)
            report.lines.append(f"after step {t} of {cls}({options}) the parameters differ: worst element {i}, yours "
                                f"{a[i]:.6g} vs {b[i]:.6g}")
            if exercise.name == "adam" and t == 1:
                first = np.abs(a - start) / options["lr"]
                if np.allclose(first, 0.1 / np.sqrt(0.001), rtol=1e-3):
                    report.hints.append("your first step moves every weight by lr * (1 - beta1) / sqrt(1 - beta2) "
                                        "= 3.16 lr: bias correction is missing: divide m by (1 - beta1^t) and v by "
                                        "(1 - beta2^t)")
            return report
    report.lines.append(f"{cls}: the same parameters as the built-in one after {len(grads)} steps")
    report.passed = True
    return report


def check_graph(exercise: Exercise, module: ModuleType) -> Report:
    """The learner's run_backward in place of the built-in one, on graphs that test its two duties."""
    from .. import autograd
    from ..autograd import Function

    report = Report(exercise.name, False)
    calls = {"n": 0}

    class Counted(Function):   # the identity, counting its backward calls
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            return x.copy()

        @staticmethod
        def backward(ctx: Any, grad: Any) -> tuple:
            calls["n"] += 1
            return (grad,)

    builtin = autograd.run_backward
    autograd.run_backward = module.run_backward
    try:
        x = Tensor(np.array([1.5, -2.0]), requires_grad=True)
        shared = Counted.apply(x)
        (shared * shared + shared * 3.0).sum().backward()          # d/dx = 2x + 3, through one shared node
        expected = 2 * np.array([1.5, -2.0]) + 3
        if not _close(x.grad, expected):
            report.lines.append(f"y = s*s + 3s with s = x: dy/dx should be 2x + 3 = {expected}, yours {x.grad}")
            report.hints.append("gradients that meet at a tensor must be summed before its operation's backward runs")
            return report
        if calls["n"] != 1:
            report.lines.append(f"the shared node's backward ran {calls['n']} times; it must run once")
            report.hints.append("run each operation after every operation that uses its output (reverse "
                                "topological order), with the sum of their gradients")
            return report
        x.grad = None
        for _ in range(2):
            (x * 2.0).sum().backward()
        if not _close(x.grad, [4.0, 4.0]):
            report.lines.append(f"two backward() calls should add up in .grad: expected [4, 4], yours {x.grad}")
            report.hints.append("a leaf accumulates into .grad (zero_grad resets it)")
            return report
        deep = Tensor(np.ones(1), requires_grad=True)
        y = deep
        for _ in range(5000):
            y = y * 1.0
        try:
            y.sum().backward()
        except RecursionError:
            report.lines.append("a chain of 5,000 operations hit Python's recursion limit")
            report.hints.append("walk the graph with an explicit stack instead of recursion")
            return report
        if not _close(deep.grad, [1.0]):
            report.lines.append(f"a chain of 5,000 multiplications by 1: gradient should be [1], yours {deep.grad}")
            return report
    except Exception as error:  # noqa: BLE001
        missing = _not_implemented(error)
        report.lines.append(f"not implemented yet: {missing}" if missing else f"{type(error).__name__}: {error}")
        return report
    finally:
        autograd.run_backward = builtin
    report.lines.append("graph walk: shared nodes run once with summed gradients, leaves accumulate, 5,000-deep "
                        "chains work")
    report.passed = True
    return report


def check(exercise: Exercise, path: Path) -> Report:
    try:
        module = load_learner_module(path, exercise)
    except Exception as error:  # noqa: BLE001
        return Report(exercise.name, False, [f"{path} does not import: {type(error).__name__}: {error}"])
    return {"optim": check_optimizer, "graph": check_graph}.get(exercise.kind, check_ops)(exercise, module)
