"""Reverse-mode automatic differentiation: ``Tensor``, ``Function``, the graph walk and ``no_grad``.

A ``Function`` subclass defines ``forward(ctx, *arrays, **params) -> array`` on raw NumPy/CuPy arrays and
``backward(ctx, grad) -> one gradient per input`` right under it. ``Function.apply`` wraps the inputs, runs
forward, and when any input needs a gradient records a ``Context`` node pointing back at the inputs. Calling
``loss.backward()`` walks those nodes in reverse topological order (iteratively, so graphs of any depth work),
sums the gradients that meet at a tensor, and reduces broadcast gradients to each input's shape, once, here,
so no operator has to.

The operator methods of ``Tensor`` (``+ - * / @ ** -x``, indexing, ``sum``, ``reshape``, ``astype``...) live with the
operators in ``functional/`` and are attached by ``functional/tensor_methods.py``.
"""
from __future__ import annotations

import contextlib
import inspect
import weakref
from typing import Any, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .backend import device_of, get_array_module, shape_str, to_device

ArrayLike = Any  # a numpy.ndarray or cupy.ndarray (or anything np.asarray accepts)


# --------------------------------------------------------------------------------------------- gradient mode
class _GradMode:
    enabled: bool = True


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()``."""
    return _GradMode.enabled


class no_grad(contextlib.ContextDecorator):
    """Context manager / decorator: operators inside record no graph (evaluation, optimiser updates)."""

    def __enter__(self) -> "no_grad":
        self._prev = _GradMode.enabled
        _GradMode.enabled = False
        return self

    def __exit__(self, *exc: Any) -> None:
        _GradMode.enabled = self._prev


class enable_grad(no_grad):
    """Context manager / decorator: record the graph again inside a ``no_grad`` block."""

    def __enter__(self) -> "enable_grad":
        self._prev = _GradMode.enabled
        _GradMode.enabled = True
        return self


# ------------------------------------------------------------------------------------------------ the node
class Edge:
    """What the graph keeps of one input of an operation: enough to route its gradient, not its data.

    A leaf (a parameter, an input) is kept, since backward writes its ``.grad``. A computed tensor is kept only by
    weak reference, so its array is freed as soon as nothing outside the graph holds it: backward needs only what
    each operation saved (as in PyTorch, where the graph holds saved tensors, not every activation).
    """

    __slots__ = ("grad_fn", "shape", "dtype", "requires_grad", "version", "_leaf", "_ref")

    def __init__(self, t: "Tensor") -> None:
        self.grad_fn, self.shape, self.dtype, self.requires_grad = t.grad_fn, t.shape, t.dtype, t.requires_grad
        self.version = t._version
        self._leaf = t if t.grad_fn is None else None
        self._ref = None if t.grad_fn is None else weakref.ref(t)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def tensor(self) -> Optional["Tensor"]:
        """The input tensor itself: always for a leaf, for a computed one while somebody still holds it."""
        return self._leaf if self._leaf is not None else self._ref()  # type: ignore[misc]


class Context:
    """One recorded operation: what backward needs (``saved``), its inputs as ``Edge``s, and which of them need
    gradients; ``output`` is a weak reference to the tensor it produced (for ``retain_grad``)."""

    __slots__ = ("function", "inputs", "saved", "needs_input_grad", "freed", "output", "output_dtype", "__dict__")

    def __init__(self, function: type, inputs: Tuple[Optional["Tensor"], ...]) -> None:
        self.function = function
        self.inputs = tuple(None if t is None else Edge(t) for t in inputs)
        self.saved: Tuple[Any, ...] = ()
        self.needs_input_grad = tuple(t is not None and t.requires_grad for t in inputs)
        self.freed = False
        self.output: Any = None
        self.output_dtype: Any = None

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep exactly what backward needs; freed after backward unless ``retain_graph=True``."""
        self.saved = arrays

    @property
    def saved_tensors(self) -> Tuple[Any, ...]:
        """PyTorch's name for ``saved``: what forward passed to ``save_for_backward`` (raw arrays here)."""
        return self.saved

    def free(self) -> None:
        self.saved = ()
        self.__dict__.clear()
        self.freed = True


class Function:
    """Base class of every differentiable operator.

    Subclasses implement two static methods and are called through ``apply``::

        class Exp(Function):
            @staticmethod
            def forward(ctx, x):          # raw arrays in, raw array out
                y = get_array_module(x).exp(x)
                ctx.save_for_backward(y)
                return y

            @staticmethod
            def backward(ctx, grad):      # dL/dy in, (dL/dx,) out; None where an input needs no gradient
                (y,) = ctx.saved
                return (grad * y,)
    """

    #: the name error messages use; defaults to the lower-case class name
    name: str = ""
    #: positions of the inputs that must be floating point (apply refuses int, uint8 and bool there)
    float_inputs: Tuple[int, ...] = ()
    #: True for the broadcasting binary ops: apply names the op and both shapes when they do not broadcast
    broadcasts: bool = False

    @staticmethod
    def forward(ctx: Context, *arrays: Any, **params: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Union[Any, Tuple[Any, ...]]:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def op_name(cls) -> str:
        return cls.name or cls.__name__.lower()

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> "Tensor":
        """Run forward on the inputs' arrays and, when a gradient is needed, record the node for backward."""
        tensors = _as_inputs(cls.op_name(), inputs)
        if cls.float_inputs:
            _require_float_inputs(cls, tensors)
        ctx = Context(cls, tensors)
        try:
            out = cls.forward(ctx, *[None if t is None else t.data for t in tensors], **params)
        except ValueError as error:  # free when nothing is raised; only a misuse the inputs prove is renamed
            _explain(cls, tensors, params, error)
            raise
        result = Tensor(out)
        if _GradMode.enabled and any(ctx.needs_input_grad):
            result.requires_grad = True
            result.grad_fn = ctx
            ctx.output, ctx.output_dtype = weakref.ref(result), result.data.dtype
        return result


def _input_names(cls: type, n: int) -> List[str]:
    """forward's parameter names after ctx (x, weight, bias...), for error messages only."""
    try:
        names = list(inspect.signature(cls.forward).parameters)[1:]
    except (TypeError, ValueError):
        names = []
    return [names[i] if i < len(names) else f"input {i}" for i in range(n)]


def require_float(op: str, **arrays: Any) -> None:
    """Refuse a non-floating array among ``arrays`` (name=array; None skipped): one dtype.kind check each."""
    for name, data in arrays.items():
        data = data.data if isinstance(data, Tensor) else data
        if data is not None and data.dtype.kind != "f":
            fix = "x.astype(np.float32) / 255 (images in 0..255 become 0..1)" if data.dtype == np.uint8 else \
                "x.astype(np.float32)"
            raise TypeError(f"{op} expects floating point input (float32); got {data.dtype} for {name} of shape "
                            f"{shape_str(data.shape)}: convert with {fix}")


def _require_float_inputs(cls: type, tensors: Sequence[Optional["Tensor"]]) -> None:
    """``require_float`` on the inputs at ``cls.float_inputs``, named as forward names them."""
    for i in cls.float_inputs:
        t = tensors[i] if i < len(tensors) else None
        if t is not None and t.data.dtype.kind != "f":  # names are looked up only on the way to the error
            require_float(cls.op_name(), **{_input_names(cls, len(tensors))[i]: t})


def _explain(cls: type, tensors: Sequence[Optional["Tensor"]], params: dict, error: ValueError) -> None:
    """Raise a clear error for a ValueError of forward that the inputs prove to be the caller's: shapes that do not
    broadcast, or a ``dim`` out of range. Anything else (a bug inside forward) is left to propagate as it is."""
    op = cls.op_name()
    shapes = [t.shape for t in tensors if t is not None]
    if cls.broadcasts and len(shapes) > 1:
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            raise ValueError(f"{op}: shapes {' and '.join(shape_str(s) for s in shapes)} do not broadcast: aligned "
                             "from the right, each pair of sizes must be equal or one of them 1; reshape or "
                             "index one input so they line up (e.g. b.reshape(-1, 1))") from None
    dim = params.get("dim")
    if isinstance(error, IndexError) and isinstance(dim, int) and shapes:
        ndim = len(shapes[0])
        if not -max(ndim, 1) <= dim < max(ndim, 1):
            raise IndexError(f"{op}: dim {dim} is out of range for an input of shape {shape_str(shapes[0])} "
                             f"({ndim} dims): use a dim in [{-ndim}, {ndim - 1}] (-1 is the last)") from None


def _as_inputs(op: str, inputs: Sequence[Any]) -> Tuple[Optional["Tensor"], ...]:
    """Tensors stay, None stays (an absent bias), arrays and Python scalars become constant tensors.

    Scalars take the dtype and device of the first tensor, so ``x * 2.0`` keeps float32. Tensors on different
    devices are an error that names the operator, the devices and the shapes.
    """
    first = next((x for x in inputs if isinstance(x, Tensor)), None)
    out: List[Optional[Tensor]] = []
    for x in inputs:
        if x is None or isinstance(x, Tensor):
            out.append(x)
        elif isinstance(x, (int, float, bool, np.number)) and first is not None:
            xp = get_array_module(first.data)
            dtype = first.data.dtype if first.data.dtype.kind == "f" else None
            out.append(Tensor(xp.asarray(x, dtype=dtype)))
        else:
            out.append(Tensor(x))
    devices = {device_of(t.data) for t in out if t is not None}
    if len(devices) > 1:
        detail = ", ".join(f"{shape_str(t.shape)} on {t.device}" for t in out if t is not None)
        raise RuntimeError(
            f"{op}: inputs are on different devices ({detail}); move them to one device with .to('cpu') or "
            ".to('cuda') first"
        )
    return tuple(out)


# ---------------------------------------------------------------------------------------------- the tensor
class Tensor:
    """An n-dimensional array that remembers how it was computed.

    Attributes:
        data: the raw ``numpy.ndarray`` (CPU) or ``cupy.ndarray`` (GPU).
        grad: the accumulated gradient (a raw array of ``data``'s shape) or None.
        requires_grad: whether backward should compute a gradient for it.
        grad_fn: the ``Context`` that produced it (None for a leaf).
    """

    __array_priority__ = 1000  # numpy_array + tensor calls Tensor.__radd__, not numpy's broadcasting

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        xp = get_array_module(data)
        if not hasattr(data, "dtype") or not hasattr(data, "shape"):
            data = np.asarray(data)
            if dtype is None and data.dtype == np.float64:
                data = data.astype(np.float32)  # Python floats become float32, as in PyTorch
        if dtype is not None and data.dtype != np.dtype(dtype):
            data = data.astype(dtype)
        elif not isinstance(data, xp.ndarray):  # numpy scalars (np.float32(1.0)) become 0-d arrays
            data = xp.asarray(data)
        if data.dtype.kind not in "biuf":
            _refuse_dtype(data)
        self.data = data
        self.grad: Optional[Any] = None
        self.requires_grad = bool(requires_grad)
        self.grad_fn: Optional[Context] = None
        self._retain_grad = False
        self._version = 0  # bumped by every in-place update (functional/inplace.py)
        if self.requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")

    # -- description
    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> Any:
        return self.data.dtype

    @property
    def device(self) -> str:
        return device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def numel(self) -> int:
        return int(self.data.size)

    def size(self, dim: Optional[int] = None) -> Any:
        return self.shape if dim is None else self.shape[dim]

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), precision=4, separator=", ", threshold=20)
        extra = ", grad_fn=<" + self.grad_fn.function.__name__ + ">" if self.grad_fn is not None else (
            ", requires_grad=True" if self.requires_grad else "")
        dev = ", device='cuda'" if self.device == "cuda" else ""
        return f"tensor({body}{dev}{extra})"

    # -- conversion
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied from the GPU if needed; no gradient)."""
        return to_device(self.data, "cpu")

    def item(self) -> float:
        if self.data.size != 1:
            raise ValueError(f"item(): only a one-element tensor converts to a Python number, got shape "
                             f"{shape_str(self.shape)}")
        return self.data.reshape(()).item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def to(self, device: str) -> "Tensor":
        """A copy on 'cpu' or 'cuda' (self when already there). The copy is a leaf with the same requires_grad."""
        data = to_device(self.data, device)
        if data is self.data:
            return self
        return Tensor(data, requires_grad=self.requires_grad)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor(self.data)

    # -- gradient bookkeeping
    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if not self.is_leaf:
            raise RuntimeError("requires_grad_() works on leaf tensors only; use .detach() first")
        self.requires_grad = flag
        return self

    def retain_grad(self) -> "Tensor":
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep theirs)."""
        self._retain_grad = True
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def backward(self, grad: Optional[ArrayLike] = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) * grad into every leaf's ``.grad``.

        ``grad`` defaults to 1 for a one-element tensor; any other tensor needs an explicit upstream gradient
        of its own shape. The graph's saved arrays are freed afterwards unless ``retain_graph=True``.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad: no input of the computation had "
                "requires_grad=True (or it was computed under no_grad())"
            )
        xp = get_array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward(): grad can be implied only for a one-element tensor, but this tensor has shape "
                    f"{shape_str(self.shape)}; pass grad= an array of that shape (or reduce with .sum() first)"
                )
            grad = xp.ones_like(self.data)
        else:
            grad = grad.data if isinstance(grad, Tensor) else xp.asarray(grad, dtype=self.dtype)
            if tuple(grad.shape) != self.shape:
                raise ValueError(f"backward(): grad has shape {shape_str(grad.shape)} but the tensor has shape "
                                 f"{shape_str(self.shape)}")
        run_backward(self, grad, retain_graph)


def _refuse_dtype(data: Any) -> None:
    """A tensor holds numbers: bool, int or float. Strings, objects and complex numbers are refused here, once."""
    kind = data.dtype.kind
    what = {"c": "complex numbers (this framework has no complex autograd)", "U": "strings", "S": "bytes",
            "O": "Python objects", "M": "dates", "m": "time spans", "V": "structured records"}.get(kind, kind)
    fix = "take x.real or abs(x) first" if kind == "c" else \
        "convert to numbers first, e.g. np.asarray(values, dtype=np.float32)"
    raise TypeError(f"Tensor: dtype {data.dtype} of shape {shape_str(data.shape)} holds {what}; a tensor holds "
                    f"bool, int or float: {fix}")


def unbroadcast(grad: Any, shape: Tuple[int, ...]) -> Any:
    """Sum a broadcast gradient back down to ``shape`` (the input's shape before broadcasting)."""
    if tuple(grad.shape) == tuple(shape):
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and grad.shape[lead + i] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _topological_order(root: Tensor) -> List[Context]:
    """The recorded operations behind root, each after every operation that uses its output (iterative
    depth-first search, no recursion)."""
    order: List[Context] = []
    if root.grad_fn is None:
        return order
    visited = set()
    stack: List[Tuple[Context, bool]] = [(root.grad_fn, False)]
    while stack:
        ctx, children_done = stack.pop()
        if children_done:
            order.append(ctx)
            continue
        if id(ctx) in visited:
            continue
        visited.add(id(ctx))
        stack.append((ctx, True))
        for edge in ctx.inputs:
            if edge is not None and edge.requires_grad and edge.grad_fn is not None \
                    and id(edge.grad_fn) not in visited:
                stack.append((edge.grad_fn, False))
    order.reverse()
    return order


class Grad(np.ndarray):
    """What backward writes into ``.grad`` on the CPU: a plain NumPy array (this framework keeps gradients as raw
    arrays, unlike PyTorch's tensors) that also answers PyTorch's ``p.grad.zero_()``. On a GPU it is a CuPy array."""

    def zero_(self) -> "Grad":
        """Set every element to 0 in place (``optimizer.zero_grad()`` instead forgets the gradient: None)."""
        self.fill(0)
        return self


def forget_grads(tensors: Iterable["Tensor"], set_to_none: bool = True) -> None:
    """``zero_grad`` for a module and an optimiser: every ``.grad`` to None (PyTorch's default; the next backward
    writes fresh ones), or to zeros in place with ``set_to_none=False``."""
    for t in tensors:
        if set_to_none or t.grad is None:
            t.grad = None
        else:
            t.grad[...] = 0


def _accumulate(t: Tensor, g: Any) -> None:
    if g.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)
    total = g.copy() if t.grad is None else t.grad + g
    t.grad = total.view(Grad) if isinstance(total, np.ndarray) else total


def _check_unchanged(ctx: Context) -> None:
    """Refuse to run a backward whose saved arrays were changed in place since its forward (PyTorch's check)."""
    watched = [(f"input {i}", e.tensor(), e.version) for i, e in enumerate(ctx.inputs) if e is not None]
    watched.append(("output", ctx.output(), 0))
    for what, t, version in watched:
        if t is None or t._version == version:
            continue
        xp = get_array_module(t.data)
        if any(hasattr(a, "shape") and xp.may_share_memory(a, t.data) for a in ctx.saved):
            raise RuntimeError(
                f"backward(): the {what} of {ctx.function.op_name()} (shape {shape_str(t.shape)}) was modified by an "
                f"in-place operation after {ctx.function.op_name()} saved it for backward (version {version}, now "
                f"{t._version}); make the change on a copy (x = x + 1) or before the forward pass")


def run_backward(root: Tensor, grad: Any, retain_graph: bool = False) -> None:
    """The graph walk: run each operation's backward once, after all gradients flowing into its output have been
    summed; leaves (and tensors that asked to ``retain_grad``) accumulate theirs in ``.grad``."""
    if root.grad_fn is None:
        _accumulate(root, grad)
        return
    pending = {id(root.grad_fn): grad}
    for ctx in _topological_order(root):
        g = pending.pop(id(ctx), None)
        if g is None:
            continue
        if ctx.freed:
            raise RuntimeError(
                f"backward(): the graph through {ctx.function.op_name()} was already freed by an earlier "
                "backward(); pass retain_graph=True to the first backward() to walk it twice"
            )
        if g.dtype != ctx.output_dtype:
            g = g.astype(ctx.output_dtype)
        _check_unchanged(ctx)
        out = ctx.output()
        if out is not None and out._retain_grad:
            _accumulate(out, g)
        grads = ctx.function.backward(ctx, g)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) != len(ctx.inputs):
            raise RuntimeError(f"{ctx.function.op_name()}.backward returned {len(grads)} gradients for "
                               f"{len(ctx.inputs)} inputs")
        for edge, ig in zip(ctx.inputs, grads):
            if edge is None or ig is None or not edge.requires_grad:
                continue
            ig = unbroadcast(ig, edge.shape)
            if edge.grad_fn is None:
                _accumulate(edge.tensor(), ig)  # type: ignore[arg-type]
            else:
                key = id(edge.grad_fn)
                pending[key] = ig if key not in pending else pending[key] + ig
        if not retain_graph:
            ctx.free()


# ------------------------------------------------------------------------------------------------- helpers
def array_of(x: Any) -> Any:
    """The raw array of a Tensor; anything else (an array, None, a number) is returned as it is."""
    return x.data if isinstance(x, Tensor) else x


def as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, device: str = "cpu") -> Tensor:
    """Make a tensor from a list, scalar or array (Python floats become float32) on 'cpu' or 'cuda'."""
    t = Tensor(data, dtype=dtype)
    if device != "cpu":
        t = t.to(device)
    return Tensor(t.data, requires_grad=requires_grad)


def graph_nodes(root: Tensor) -> Iterator[Context]:
    """Every recorded node behind ``root``, outputs first (for printing a graph in lesson 00)."""
    yield from _topological_order(root)
