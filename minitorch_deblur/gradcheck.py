"""Numerical gradient checking with readable failure reports (also a CLI).

``gradcheck(fn, inputs)`` draws a random upstream gradient ``u`` of the output's shape, computes the analytic
gradient of the scalar ``<fn(x), u>`` by ``backward``, and compares it with central differences in float64:

    numeric_j = (<fn(x + eps e_j), u> - <fn(x - eps e_j), u>) / (2 eps)

element by element (the full Jacobian-vector product) for inputs of at most ``max_jacobian_numel`` elements; for
bigger ones it compares ``n_directions`` random directional derivatives ``d . grad`` with
``(<fn(x + eps d), u> - <fn(x - eps d), u>) / (2 eps)`` plus a few sampled elements (so a failure still has an
index). A probe passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.

    from minitorch_deblur.gradcheck import assert_gradcheck
    assert_gradcheck(lambda x, w: F.conv2d(x, w, padding=1), [x, w], name="conv2d")

On failure the report names the op, the input (index, shape), the worst index, analytic vs numeric values,
the errors and a hint (float32? a tie or kink? zeros returned? sign? factor of 2?).

CLI: ``python -m minitorch_deblur.gradcheck conv2d relu`` (or ``--all``, ``--seed N``, ``--configs K``,
``--list``) runs the rows of ``minitorch_deblur.testing.op_table`` on a few drawn configurations.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from .autograd import Function, Tensor, graph_nodes, no_grad
from .backend import get_array_module, shape_str, to_device


# ---------------------------------------------------------------------------------------------- the result
@dataclass
class InputCheck:
    """The verdict for one checked input."""

    index: int
    shape: Tuple[int, ...]
    dtype: str
    method: str  # "jacobian" (every element) or "directional" (random directions + sampled elements)
    n_probes: int = 0
    n_failed: int = 0
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    worst: str = ""  # "index (1, 2)" or "direction 3"
    worst_index: Optional[Tuple[int, ...]] = None
    worst_abs_error: float = 0.0
    analytic: float = 0.0
    numeric: float = 0.0
    passed: bool = True
    grad_was_none: bool = False
    hints: List[str] = field(default_factory=list)


@dataclass
class GradcheckResult:
    """What ``gradcheck`` returns: ``passed`` and one ``InputCheck`` per checked input (``report()`` to read)."""

    name: str
    passed: bool
    inputs: List[InputCheck]
    graph_ops: List[str]
    output_shape: Tuple[int, ...]
    eps: float
    atol: float
    rtol: float
    seed: int
    notes: List[str] = field(default_factory=list)  # problems not tied to one input

    @property
    def max_error(self) -> float:
        """The largest absolute error over all checked inputs."""
        return max((c.max_abs_error for c in self.inputs), default=0.0)

    def report(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        graph = f" (graph: {', '.join(self.graph_ops)})" if self.graph_ops else ""
        lines = [f"gradcheck {verdict} for {self.name}{graph}"]
        for note in self.notes:
            lines.append(f"  note: {note}")
        for c in self.inputs:
            head = f"  input {c.index} (shape {shape_str(c.shape)}, {c.dtype}, {c.method})"
            if c.passed:
                lines.append(f"{head}: ok, max abs err {c.max_abs_error:.3g} over {c.n_probes} probes")
                continue
            lines.append(f"{head}: {c.n_failed} of {c.n_probes} probes exceed atol={self.atol:g} + "
                         f"rtol={self.rtol:g} * |numeric| (max abs err {c.max_abs_error:.3g})")
            lines.append(f"    worst {c.worst}: analytic {c.analytic:.6g} vs numeric {c.numeric:.6g} "
                         f"(abs err {c.worst_abs_error:.3g}, rel err {c.max_rel_error:.3g})")
            for h in c.hints:
                lines.append(f"    hint: {h}")
        lines.append(f"  checked with eps={self.eps:g}, seed={self.seed}, upstream gradient u ~ N(0, 1) of shape "
                     f"{shape_str(self.output_shape)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


# ----------------------------------------------------------------------------------------------- the check
def _is_array(x: Any) -> bool:
    return hasattr(x, "dtype") and hasattr(x, "shape") and not isinstance(x, Tensor)


def _prepare(inputs: Sequence[Any], dtype: Any, wrt: Optional[Sequence[int]]) -> Tuple[list, List[int]]:
    """Copy floating inputs to contiguous arrays of ``dtype`` (the checked ones); the rest pass through."""
    values: list = []
    checked: List[int] = []
    for i, x in enumerate(inputs):
        data = x.data if isinstance(x, Tensor) else x
        if isinstance(data, (list, tuple)) and not isinstance(x, Tensor):
            data = np.asarray(data)
        if _is_array(data) and data.dtype.kind == "f" and (wrt is None or i in wrt):
            xp = get_array_module(data)
            values.append(xp.array(data, dtype=dtype or data.dtype, copy=True, order="C"))
            checked.append(i)
        else:
            values.append(data)
    return values, checked


def _tensors(values: list, checked: Sequence[int], requires_grad: bool) -> list:
    out = []
    for i, v in enumerate(values):
        if i in checked:
            out.append(Tensor(v, requires_grad=requires_grad))
        elif _is_array(v):
            out.append(Tensor(v))
        else:
            out.append(v)
    return out


def _op_names(out: Tensor) -> List[str]:
    names: List[str] = []
    for ctx in graph_nodes(out):
        n = ctx.function.op_name()
        if n not in names:
            names.append(n)
    return names[::-1]


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Any],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
    max_jacobian_numel: int = 256,
    n_directions: int = 6,
    n_samples: int = 6,
    dtype: Any = np.float64,
    wrt: Optional[Sequence[int]] = None,
    name: Optional[str] = None,
) -> GradcheckResult:
    """Compare backward with central differences for every floating input of ``fn``.

    Args:
        fn: maps the inputs (as Tensors) to one Tensor; must be deterministic (fix dropout's generator).
        inputs: arrays or Tensors. Floating ones are checked (cast to ``dtype``, float64 by default; pass
            ``dtype=None`` to keep theirs); integer ones (class targets) become constant Tensors; None and
            Python numbers pass through unchanged.
        eps, atol, rtol: step of the central difference and the tolerance ``atol + rtol * |numeric|``.
        seed: seeds the upstream gradient, the directions and the sampled elements.
        max_jacobian_numel: inputs up to this size are checked element by element, bigger ones by
            ``n_directions`` random unit directions plus ``n_samples`` sampled elements.
        wrt: check only these input positions (default: every floating input).
        name: the op's name in the report (default: the function's name, or the ops in its graph).
    """
    rng = np.random.default_rng(seed)
    values, checked = _prepare(inputs, dtype, wrt)
    originals = {i: values[i].copy() for i in checked}

    ts = _tensors(values, checked, requires_grad=True)
    out = fn(*ts)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return one Tensor, got {type(out).__name__}")
    if out.dtype.kind != "f":
        raise TypeError(f"gradcheck: fn returned dtype {out.dtype}; only a floating output has a gradient")
    ops = _op_names(out)
    owner = getattr(fn, "__self__", None)  # Foo.apply: name it after Foo
    fn_name = owner.op_name() if isinstance(owner, type) and issubclass(owner, Function) else \
        getattr(fn, "__name__", "fn")
    label = name or (fn_name if fn_name != "<lambda>" else (", ".join(ops) or "fn"))
    xp = get_array_module(out.data)
    u = xp.asarray(rng.standard_normal(out.shape))
    if out.requires_grad:
        out.backward(u.astype(out.dtype))
    grads = [ts[i].grad for i in checked]

    notes: List[str] = []
    for i in checked:
        if not bool(xp.all(values[i] == originals[i])):
            notes.append(f"fn modified input {i} in place; gradcheck needs a pure function")
            values[i][...] = originals[i]
    checked_dtypes = {str(values[i].dtype) for i in checked}
    if out.dtype.itemsize < max((values[i].dtype.itemsize for i in checked), default=0):
        notes.append(f"fn returned {out.dtype} for {'/'.join(sorted(checked_dtypes))} inputs: a float32 constant or "
                     "cast inside the op loses precision; keep the input's dtype and run the check in float64")

    def value() -> float:
        with no_grad():
            y = fn(*_tensors(values, checked, requires_grad=False))
        return float(xp.sum(y.data.astype(np.float64) * u))

    f0 = value()
    if value() != f0:
        notes.append("fn gives different values for the same inputs (random?): pass a fixed generator / seed")

    results = []
    for i, g in zip(checked, grads):
        results.append(_check_input(i, values[i], g, value, f0, rng, eps, atol, rtol, max_jacobian_numel,
                                    n_directions, n_samples))
    passed = all(c.passed for c in results) and not any("in place" in n or "random" in n for n in notes)
    return GradcheckResult(label, passed, results, ops, out.shape, eps, atol, rtol, seed, notes)


def _check_input(i: int, x: Any, grad: Any, value: Callable[[], float], f0: float, rng: np.random.Generator,
                 eps: float, atol: float, rtol: float, max_numel: int, n_directions: int,
                 n_samples: int) -> InputCheck:
    """Probe one input: element-wise (small) or directional + sampled elements (big); fill in the verdict."""
    xp = get_array_module(x)
    a = np.zeros(x.shape) if grad is None else to_device(grad, "cpu").astype(np.float64)
    flat = x.reshape(-1)  # a view: x is C-contiguous
    check = InputCheck(i, tuple(x.shape), str(x.dtype), "jacobian" if x.size <= max_numel else "directional",
                       grad_was_none=grad is None)

    probes = []  # (label, index or None, direction or None, analytic, numeric, f(x+), f(x-))

    def element(j: int) -> None:
        old = flat[j].copy()
        flat[j] = old + eps
        fp = value()
        flat[j] = old - eps
        fm = value()
        flat[j] = old
        idx = tuple(int(k) for k in np.unravel_index(j, x.shape))
        probes.append((f"index {idx}", idx, None, float(a.reshape(-1)[j]), (fp - fm) / (2 * eps), fp, fm))

    if x.size <= max_numel:
        for j in range(x.size):
            element(j)
    else:
        picks = set(rng.choice(x.size, size=min(n_samples, x.size), replace=False).tolist())
        picks.add(int(np.argmax(np.abs(a))))
        for j in sorted(picks):
            element(j)
        base = x.copy()
        for k in range(n_directions):
            d = rng.standard_normal(x.shape)
            d /= np.linalg.norm(d)
            dx = xp.asarray(d, dtype=x.dtype)
            x[...] = base + eps * dx
            fp = value()
            x[...] = base - eps * dx
            fm = value()
            x[...] = base
            probes.append((f"direction {k} (unit random vector)", None, d, float(np.sum(a * d)),
                           (fp - fm) / (2 * eps), fp, fm))

    an = np.array([p[3] for p in probes])
    nu = np.array([p[4] for p in probes])
    err = np.abs(an - nu)
    tol = atol + rtol * np.abs(nu)
    ratio = err / tol
    failed = err > tol
    check.n_probes, check.n_failed = len(probes), int(failed.sum())
    check.passed = not failed.any() and bool(np.all(np.isfinite(an))) and bool(np.all(np.isfinite(nu)))
    if failed.any():  # prefer an element (it has an index) when one fails
        elems = [k for k in np.flatnonzero(failed) if probes[k][1] is not None]
        w = max(elems, key=lambda k: ratio[k]) if elems else int(np.argmax(ratio))
    else:
        w = int(np.nanargmax(ratio)) if len(probes) else 0
    if probes:
        label, idx, d, av, nv, fp, fm = probes[w]
        check.worst, check.worst_index, check.analytic, check.numeric = label, idx, av, nv
        check.max_abs_error = float(np.nanmax(err))
        check.worst_abs_error = float(err[w])
        check.max_rel_error = float(err[w] / max(abs(nv), 1e-12))
        if not check.passed:
            check.hints = _hints(x, idx, av, nv, fp, fm, f0, eps, atol, grad is None)
            if check.method == "jacobian" and grad is not None and len(probes) > 1 and \
                    np.allclose(np.sort(an), np.sort(nu), rtol=rtol, atol=atol):
                check.hints.append("the right values in the wrong places: a transposed, permuted or flipped axis "
                                   "in backward?")
    return check


def _hints(x: Any, idx: Optional[Tuple[int, ...]], a: float, n: float, fp: float, fm: float, f0: float,
           eps: float, atol: float, grad_none: bool) -> List[str]:
    """Guess the cause of a failed probe from the numbers around it."""
    hints: List[str] = []
    if x.dtype.itemsize < 8:
        hints.append(f"the check ran in {x.dtype}: central differences need float64, run the check in float64 "
                     "(gradcheck's default dtype)")
    forward, backward = (fp - f0) / eps, (f0 - fm) / eps  # one-sided slopes: equal where fn is smooth
    kink = x.dtype.itemsize >= 8 and abs(forward - backward) > 1e-3 * (1.0 + abs(forward) + abs(backward))
    near = ""
    if idx is not None:
        xp = get_array_module(x)
        v = float(x[idx])
        ties = int(xp.sum(xp.abs(x - v) <= 10 * eps)) - 1
        if ties > 0:
            near = f"{ties} other element(s) of this input are within {10 * eps:g} of x{list(idx)} = {v:.3g}"
        elif abs(v) <= 10 * eps:
            near = f"x{list(idx)} = {v:.3g} is at 0, where relu/abs/l1 have a kink"
    if kink or near:
        why = near or f"the one-sided slopes differ ({forward:.4g} right vs {backward:.4g} left)"
        hints.append(f"inputs near a tie or kink: move them apart ({why})")
        return hints  # the kink explains the mismatch; the arithmetic guesses below would mislead
    if grad_none:
        hints.append("backward returned zeros/None for this input? (it returned None: one gradient per input, "
                     "and check ctx.needs_input_grad)")
    elif abs(a) <= 1e-3 * atol and abs(n) > atol:
        hints.append("backward returned zeros/None for this input? (the analytic gradient is 0 here)")
    elif a * n < 0 and abs(a + n) <= 0.1 * max(abs(a), abs(n)):
        hints.append("sign error? (analytic is about -1 x numeric)")
    elif n != 0 and (1.9 <= a / n <= 2.1 or 0.475 <= a / n <= 0.525):
        hints.append(f"factor of 2? (analytic / numeric = {a / n:.3g})")
    return hints


def assert_gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Any], **kwargs: Any) -> GradcheckResult:
    """``gradcheck`` that raises AssertionError with the readable report when it fails."""
    result = gradcheck(fn, inputs, **kwargs)
    if not result.passed:
        raise AssertionError(result.report())
    return result

def assert_module_gradcheck(model: Any, inputs: Sequence[Any], loss: Optional[Callable[[Any], Tensor]] = None,
                            **kwargs: Any) -> GradcheckResult:
    """Gradient-check a whole module end to end: its inputs AND every trainable parameter, in float64.

    The module's parameters and floating buffers are cast to float64 in place (use a throwaway model). The
    parameters enter as gradcheck inputs and are swapped into the module for each call; ``loss`` turns the output
    into a scalar (default: mean((y - 0.5)^2), summed over a list of outputs). Keyword arguments go to
    ``gradcheck`` (e.g. ``max_jacobian_numel=16, n_directions=3`` keeps big models to seconds).
    """
    for param in model.parameters():
        param.data = param.data.astype(np.float64)
    for module in model.modules():
        for key, buffer in module._buffers.items():
            if buffer is not None and buffer.dtype.kind == "f":
                module._buffers[key] = buffer.astype(np.float64)
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    owners = []
    for name, _ in named:
        *path, attr = name.split(".")
        owner = model
        for part in path:
            owner = getattr(owner, part)
        owners.append((owner, attr))
    loss = loss or (lambda y: sum(((t - 0.5) ** 2).mean() for t in (y if isinstance(y, (list, tuple)) else [y])))
    n_in = len(inputs)

    def call(*values: Any) -> Tensor:
        saved = [owner._parameters[attr] for owner, attr in owners]
        for (owner, attr), value in zip(owners, values[n_in:]):
            owner._parameters[attr] = value
        try:
            return loss(model(*values[:n_in]))
        finally:
            for (owner, attr), param in zip(owners, saved):
                owner._parameters[attr] = param
    kwargs.setdefault("name", f"{type(model).__name__} end to end")
    return assert_gradcheck(call, list(inputs) + [p.data for _, p in named], **kwargs)



# ------------------------------------------------------------------------------------------------------ CLI
def main(argv: Optional[Sequence[str]] = None) -> int:
    """Gradient-check (and forward-check) operators of the op table on a few random configurations."""
    from . import command  # noqa: PLC0415 (the command's plumbing is only needed by the CLI)
    from .testing import op_table  # noqa: PLC0415 (the table is only needed by the CLI)

    names = op_table.names()
    parser = command.Parser(prog="python -m minitorch_deblur.gradcheck", debug=False,
                            description="Check operators' gradients against central differences.")
    parser.add_argument("ops", nargs="*", help="operator names from the table (see --list)")
    parser.add_argument("--all", action="store_true", help="check every operator of the table")
    parser.add_argument("--seed", type=command.seed, default=0, help="seed of the drawn configurations and inputs")
    parser.add_argument("--configs", type=command.int_range(1, 1000), default=3,
                        help="configurations drawn per operator (1 to 1000)")
    parser.add_argument("--list", action="store_true", help="list the operator names and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(names))
        return 0
    unknown = [o for o in args.ops if o not in names]
    if unknown or not (args.ops or args.all):
        what = f"unknown operator(s): {', '.join(unknown)}" if unknown else "name an operator or pass --all"
        print(f"{parser.prog}: error: {what}; valid names: {', '.join(names)}", file=sys.stderr)
        return 2
    failures = 0
    for op in (names if args.all else args.ops):
        failures += not _run_row(op_table.get(op), args.seed, args.configs)
    total = len(names) if args.all else len(args.ops)
    print(f"\n{total - failures} of {total} operators passed" + (f", {failures} FAILED" if failures else ""))
    return 1 if failures else 0


def _run_row(row: Any, seed: int, n_configs: int) -> bool:
    """Check one table row on ``n_configs`` drawn configurations; print one verdict line per config."""
    from .testing import op_table  # noqa: PLC0415

    print(f"{row.name}  (lesson {row.lesson})")
    ok = True
    for c in range(n_configs):
        rng = np.random.default_rng([seed, c])
        cfg = row.config(op_table.numpy_draw_int(rng), op_table.numpy_draw_float(rng))
        try:
            arrays = row.make_inputs(rng, cfg)
            fwd_err = op_table.forward_error(row, cfg, arrays, np.float64)
            res = gradcheck(row.bind(cfg), arrays, seed=seed + c, name=row.name, wrt=row.wrt) if row.grad else None
        except Exception as exc:  # an op that is missing or raises is a failure, reported in one line
            print(f"  config {op_table.describe(cfg)}: ERROR {type(exc).__name__}: {exc}")
            ok = False
            continue
        passed = fwd_err <= 1e-8 and (res is None or res.passed)
        grad_txt = f"max grad err {res.max_error:.2g}" if res is not None else "no gradient check"
        print(f"  config {op_table.describe(cfg)}: fwd err {fwd_err:.2g}, {grad_txt}: {'PASS' if passed else 'FAIL'}")
        if res is not None and not res.passed:
            print("    " + res.report().replace("\n", "\n    "))
        if fwd_err > 1e-8:
            print(f"    forward differs from the reference by {fwd_err:.3g} (float64)")
        ok &= passed
    return ok


if __name__ == "__main__":
    sys.exit(main())
