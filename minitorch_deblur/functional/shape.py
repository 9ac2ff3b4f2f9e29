"""Shape operators: reshape flatten squeeze unsqueeze transpose permute broadcast_to getitem cat stack pad.

None of these change values, so every backward only moves the gradient back where the value came from.
"""
from __future__ import annotations

from typing import Any, List, Sequence, Tuple, Union

from ..autograd import Context, Function, Tensor, array_of
from ..backend import get_array_module, shape_str


class Reshape(Function):
    """y = x viewed with a new shape;  dx = g reshaped back."""

    @staticmethod
    def forward(ctx: Context, x: Any, shape: Tuple[int, ...] = ()) -> Any:
        ctx.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot view a tensor of shape {shape_str(x.shape)} ({x.size} elements) "
                             f"as {tuple(shape)}") from None

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        return (grad.reshape(ctx.shape),)


class Permute(Function):
    """y = x with its axes reordered;  dx = g with the inverse order."""

    @staticmethod
    def forward(ctx: Context, x: Any, dims: Tuple[int, ...] = ()) -> Any:
        if sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
            raise ValueError(f"permute: dims {tuple(dims)} are not a permutation of the {x.ndim} axes of a "
                             f"tensor of shape {shape_str(x.shape)}")
        ctx.dims = tuple(d % x.ndim for d in dims)
        return x.transpose(ctx.dims)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return (grad.transpose(inverse),)


class BroadcastTo(Function):
    """y = x broadcast to a bigger shape;  dx = g summed over the broadcast axes (done by the engine)."""

    @staticmethod
    def forward(ctx: Context, x: Any, shape: Tuple[int, ...] = ()) -> Any:
        try:
            return get_array_module(x).broadcast_to(x, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {shape_str(x.shape)} to {tuple(shape)}") from None

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        return (grad,)


class GetItem(Function):
    """y = x[index] (slices, ints, None, boolean or integer arrays);  dx = zeros with g added at the index."""

    @staticmethod
    def forward(ctx: Context, x: Any, index: Any = None) -> Any:
        ctx.shape, ctx.index, ctx.dtype = x.shape, index, x.dtype
        try:
            return x[index]
        except IndexError as exc:
            raise IndexError(f"getitem: index {index!r} does not fit a tensor of shape {shape_str(x.shape)}: "
                             f"{exc}") from None

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        xp = get_array_module(grad)
        dx = xp.zeros(ctx.shape, dtype=grad.dtype)
        xp.add.at(dx, ctx.index, grad)  # add.at: an integer-array index may pick one element twice
        return (dx,)


class Cat(Function):
    """y = inputs joined along ``dim``;  each input's gradient is its slice of g."""

    @staticmethod
    def forward(ctx: Context, *xs: Any, dim: int = 0) -> Any:
        first = xs[0]
        dim = dim % first.ndim
        for i, x in enumerate(xs):
            if x.ndim != first.ndim or any(a != b for k, (a, b) in enumerate(zip(x.shape, first.shape)) if k != dim):
                shapes = ", ".join(shape_str(t.shape) for t in xs)
                raise ValueError(f"cat: all inputs must match except along dim {dim}; got shapes {shapes}")
        ctx.dim, ctx.sizes = dim, [x.shape[dim] for x in xs]
        return get_array_module(*xs).concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        out, start = [], 0
        for size in ctx.sizes:
            index = [slice(None)] * grad.ndim
            index[ctx.dim] = slice(start, start + size)
            out.append(grad[tuple(index)])
            start += size
        return tuple(out)


class Pad(Function):
    """y = x padded on its last dims (PyTorch order: (left, right, top, bottom, ...));
    dx = the gradient of every output position added back to the input position it copies."""

    @staticmethod
    def forward(ctx: Context, x: Any, pad: Tuple[int, ...] = (), mode: str = "constant", value: float = 0.0) -> Any:
        xp = get_array_module(x)
        if len(pad) % 2 or len(pad) // 2 > x.ndim:
            raise ValueError(f"pad: pad {tuple(pad)} needs an even length of at most 2*ndim for a tensor of shape "
                             f"{shape_str(x.shape)}")
        widths = [(0, 0)] * (x.ndim - len(pad) // 2) + [
            (pad[2 * i], pad[2 * i + 1]) for i in reversed(range(len(pad) // 2))]
        if any(lo < 0 or hi < 0 for lo, hi in widths):
            raise ValueError(f"pad: negative padding {tuple(pad)} is not supported")
        ctx.widths, ctx.mode, ctx.shape = widths, mode, x.shape
        if mode == "constant":
            return xp.pad(x, widths, mode="constant", constant_values=value)
        if mode == "reflect":
            for (lo, hi), size in zip(widths, x.shape):
                if lo >= size or hi >= size:
                    raise ValueError(f"pad: reflect padding {tuple(pad)} must be smaller than the padded dimension "
                                     f"of a tensor of shape {shape_str(x.shape)}")
            return xp.pad(x, widths, mode="reflect")
        if mode == "replicate":
            return xp.pad(x, widths, mode="edge")
        raise ValueError(f"pad: unknown mode {mode!r}; use 'constant', 'reflect' or 'replicate'")

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        xp = get_array_module(grad)
        if ctx.mode == "constant":
            return (grad[tuple(slice(lo, lo + n) for (lo, _), n in zip(ctx.widths, ctx.shape))],)
        for axis, ((lo, hi), n) in enumerate(zip(ctx.widths, ctx.shape)):
            if lo == 0 and hi == 0:
                continue
            source = _source_index(xp, n, lo, hi, ctx.mode)  # output position -> input position on this axis
            moved = xp.moveaxis(grad, axis, 0)
            dx = xp.zeros((n,) + moved.shape[1:], dtype=grad.dtype)
            xp.add.at(dx, source, moved)
            grad = xp.moveaxis(dx, 0, axis)
        return (grad,)


def _source_index(xp: Any, n: int, lo: int, hi: int, mode: str) -> Any:
    """For each padded position along one axis, the input position it was copied from."""
    i = xp.arange(-lo, n + hi)
    if mode == "replicate":
        return xp.clip(i, 0, n - 1)
    i = xp.abs(i)  # reflect about 0 ...
    return (n - 1) - xp.abs((n - 1) - i)  # ... and about n - 1


def reshape(x: Any, *shape: Any) -> Tensor:
    """View with a new shape; one dimension may be -1 (``reshape(x, (2, -1))`` or ``x.reshape(2, -1)``)."""
    shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
    return Reshape.apply(x, shape=shape)


def flatten(x: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) with start_dim=1."""
    s = x.shape
    start, end = start_dim % len(s), end_dim % len(s)
    merged = 1
    for d in s[start:end + 1]:
        merged *= d
    return reshape(x, tuple(s[:start]) + (merged,) + tuple(s[end + 1:]))


def squeeze(x: Any, dim: Union[int, None] = None) -> Tensor:
    """Drop size-1 dims (all, or just ``dim``)."""
    s = x.shape
    if dim is None:
        return reshape(x, tuple(d for d in s if d != 1))
    dim = dim % len(s)
    return reshape(x, s[:dim] + s[dim + 1:]) if s[dim] == 1 else x


def unsqueeze(x: Any, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim``."""
    s = x.shape
    dim = dim % (len(s) + 1)
    return reshape(x, s[:dim] + (1,) + s[dim:])


def permute(x: Any, *dims: Any) -> Tensor:
    """Reorder axes: ``permute(x, (0, 2, 3, 1))`` turns NCHW into NHWC."""
    dims = tuple(dims[0]) if len(dims) == 1 and not isinstance(dims[0], int) else dims
    return Permute.apply(x, dims=dims)


def transpose(x: Any, dim0: int = -2, dim1: int = -1) -> Tensor:
    """Swap two axes (the last two by default, which is ``x.T`` for a matrix)."""
    dims = list(range(x.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return Permute.apply(x, dims=tuple(dims))


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    return BroadcastTo.apply(x, shape=tuple(shape))


def getitem(x: Any, index: Any) -> Tensor:
    """x[index]; Tensor indices are unwrapped to their arrays."""
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return GetItem.apply(x, index=index)


def cat(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim (U-Net skip connections: ``cat([up, skip], dim=1)``)."""
    if len(tensors) == 0:
        raise ValueError("cat: needs at least one tensor")
    return Cat.apply(*tensors, dim=dim)


concat = cat


def stack(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Join tensors along a new dim."""
    return cat([unsqueeze(t, dim) for t in tensors], dim=dim)


def pad(x: Any, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:  # noqa: A002
    """Pad the last len(pad)//2 dims; ``pad=(1, 1, 2, 2)`` pads W by 1 and H by 2 on each side."""
    return Pad.apply(x, pad=tuple(int(p) for p in pad), mode=mode, value=value)


def gather(x: Any, dim: int, index: Any) -> Tensor:
    """PyTorch's ``torch.gather``: out[i][j] = x[index[i][j]][j] for dim 0 (likewise for any dim); index has x's
    number of dims. An integer-array ``getitem``, so its backward adds the gradient back where it was gathered."""
    xa, ia = array_of(x), array_of(index)
    if ia.ndim != xa.ndim:
        raise ValueError(f"gather: index of shape {shape_str(ia.shape)} must have as many dims as the input "
                         f"{shape_str(xa.shape)}")
    grids = list(get_array_module(ia).indices(ia.shape, sparse=True))
    grids[dim % xa.ndim] = ia
    return getitem(x, tuple(grids))


def expand(x: Any, *sizes: Any) -> Tensor:
    """PyTorch's ``x.expand(*sizes)``: broadcast size-1 dims (and new leading dims) to ``sizes``; -1 keeps a size."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and not isinstance(sizes[0], int) else sizes
    shape = array_of(x).shape
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise ValueError(f"expand: {len(sizes)} sizes for a tensor of shape {shape_str(shape)}; give at least "
                         f"{len(shape)}")
    target = tuple(shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return broadcast_to(x, target)


def repeat(x: Any, *repeats: Any) -> Tensor:
    """PyTorch's ``x.repeat(*repeats)`` (NumPy's tile): the whole tensor repeated r_i times along dim i."""
    repeats = tuple(repeats[0]) if len(repeats) == 1 and not isinstance(repeats[0], int) else repeats
    shape = array_of(x).shape
    if len(repeats) < len(shape):
        raise ValueError(f"repeat: {len(repeats)} repeats for a tensor of shape {shape_str(shape)}; give one per "
                         "dim (or more, for new leading dims)")
    shape = (1,) * (len(repeats) - len(shape)) + tuple(shape)
    interleaved = tuple(v for r, s in zip(repeats, shape) for v in (1, s))
    tiled = broadcast_to(reshape(x, interleaved), tuple(v for r, s in zip(repeats, shape) for v in (r, s)))
    return reshape(tiled, tuple(r * s for r, s in zip(repeats, shape)))
