"""Photos of handwritten digits -> MNIST-style (28, 28) inputs, made the way MNIST itself was made.

    digit = preprocess(read_photo("seven.jpg"))     # digit.image: float32 (28, 28) in [0, 1], white ink on black

The steps: grayscale (EXIF rotation applied, transparency over white), a bounded working size, the polarity
(light ink on a dark ground is inverted), the lighting flattened (divide by a morphological closing, which
keeps shadow edges and removes strokes), a threshold (Otsu, floored relative to the ink's own darkness, so
faint ruled lines and paper noise are not ink), ruled lines and specks removed, the digit kept (the main blob
and the blobs near it), the stroke width matched to MNIST's, and the ink fitted in a 20x20 box and centred by
mass in 28x28 (LeCun et al., 1998). NumPy and Pillow only; Pillow is imported where it is used.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

import numpy as np

WORK_SIDE = 384         # photos are reduced so that their longer side is at most this (speed; plenty for 20 px)
FINE_SIDE = 80          # the digit's mask is drawn at 4x the 20 px box, then area-averaged down (anti-aliasing)
MNIST_BOX, MNIST_SIZE = 20, 28
MNIST_STROKE = 0.107    # MNIST's median stroke width / longer side of its ink box (stroke_width, embedded test set)
MNIST_CENTRE = (14.0, 14.0)  # (row, col) of MNIST's centre of mass (the embedded test set's mean, +- 0.3)


@dataclass
class Digit:
    """One preprocessed photo: ``image`` is what the model sees; the rest is for looking at (``--show``)."""

    image: np.ndarray   # float32 (28, 28) in [0, 1], white ink on black
    photo: np.ndarray   # float32 (h, w) the photo at working size, ink made dark on light
    ink: np.ndarray     # float32 (h, w) ink strength after flattening the lighting, 0 = paper
    mask: np.ndarray    # bool (h, w) the pixels kept as the digit
    crop: np.ndarray    # bool (FINE_SIDE-ish, ...) the cleaned, stroke-normalised digit before the 20 px fit


def read_photo(path: Any) -> np.ndarray:
    """An image file -> float32 (H, W) gray in [0, 1]; EXIF rotation applied, transparency composited.

    Transparent pixels go over white, unless the opaque pixels are light (white ink): then over black.
    Raises FileNotFoundError for a missing file and ValueError for a file Pillow cannot read.
    """
    from .photo_io import opened, wide_grey

    with opened(path) as im:
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255
            gray, alpha = rgba[..., :3] @ np.float32([0.299, 0.587, 0.114]), rgba[..., 3]
            over_white, over_black = gray * alpha + 1 - alpha, gray * alpha
            return over_white if over_white.std() >= over_black.std() else over_black
        wide = wide_grey(im)
        if wide is not None:
            return wide[0]
        return np.asarray(im.convert("L"), dtype=np.float32) / 255


def preprocess(gray: np.ndarray) -> Digit:
    """A photo of one digit, float (H, W) gray in [0, 1], either polarity -> ``Digit`` (image (28, 28))."""
    photo = _resize(np.asarray(gray, dtype=np.float32), WORK_SIDE / max(gray.shape)) if max(gray.shape) > WORK_SIDE \
        else np.asarray(gray, dtype=np.float32)
    if _ink_is_light(photo):
        photo = 1 - photo
    ink = ink_strength(photo)
    mask, threshold, level = threshold_ink(ink)
    faint = ink >= threshold / 2
    mask = _digit_components(remove_ruled_lines(mask, faint), ink, level)
    if not mask.any():
        raise ValueError("no ink found: the image looks blank (a digit needs dark strokes on light paper, or "
                         "light strokes on a dark ground)")
    mask = _grow_into(mask, remove_ruled_lines(faint), max(4, max(mask.shape) // 40))
    crop = match_stroke_width(_fine_mask(ink, mask, threshold / 2))
    return Digit(fit_mnist_box(crop.astype(np.float32)), photo, ink, mask, crop)


# ------------------------------------------------------------------------------------------ lighting and ink
def ink_strength(photo: np.ndarray) -> np.ndarray:
    """(H, W) dark ink on light paper -> (H, W) in [0, 1]: 1 - photo / background, 0 on paper, ~0.8 on ink.

    The background is a closing (max filter, then min filter): it removes dark strokes narrower than its window
    but keeps gradients and shadow edges, so dividing by it flattens uneven lighting. The window is twice the
    smallest of 15, 31, 63, ... px that holds the whole strokes (a wider one adds less than 15% more strong
    ink): a shadow wider than the window stays background, and shadows are fainter than ink, so not strong.
    Dark frames along the border (a table, the paper's edge) are set to 0.
    """
    smooth = _box_blur(photo, 1)  # tames sensor noise and JPEG blocks
    sizes = [s for s in (15, 31, 63, 127, 255) if s < max(photo.shape) / 2] or [15]
    inks = [np.clip(1 - smooth / np.maximum(_closing(smooth, s), 0.05), 0, 1) for s in sizes]
    frame = _frame(inks[-1])
    inks = [np.where(frame, 0, ink) for ink in inks]
    strong = 0.55 * _ink_level(inks[-1])
    mass = [np.count_nonzero(ink >= strong) for ink in inks]
    pick = next((i for i in range(len(inks) - 1) if mass[i] >= 0.85 * mass[i + 1]), len(inks) - 1)
    return inks[min(pick + 1, len(inks) - 1)].astype(np.float32)  # one size up: ruled lines can hide strokes


def threshold_ink(ink: np.ndarray) -> Tuple[np.ndarray, float, float]:
    """(H, W) ink strength -> (bool mask, threshold, ink level): Otsu, but at least half the ink's level.

    Ink less than 15% darker than the paper is noise or texture: then the mask is empty.
    """
    level = _ink_level(ink)
    t = max(otsu_threshold(ink), 0.5 * level, 0.08)
    return (ink >= t) & (level >= 0.15), t, level


def _frame(ink: np.ndarray) -> np.ndarray:
    """bool (H, W): the blobs above Otsu's threshold that run along 15% or more of the image's border (a table,
    the paper's edge, a finger); ruled lines are not counted."""
    labels, n = label_components(remove_ruled_lines(ink > otsu_threshold(ink)))
    ring = np.concatenate([labels[0], labels[-1], labels[1:-1, 0], labels[1:-1, -1]])
    contact = np.bincount(ring, minlength=n + 1)
    contact[0] = 0
    return np.isin(labels, np.flatnonzero(contact >= 0.15 * ring.size))


def _ink_level(ink: np.ndarray) -> float:
    """The strength of the ink's cores: the 95th percentile of the pixels above Otsu's threshold."""
    above = ink[ink > otsu_threshold(ink)]
    return float(np.percentile(above, 95)) if above.size else 0.0


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """The threshold that maximises the between-class variance of ``values`` in [0, 1] (Otsu, 1979)."""
    counts, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    p = counts / max(counts.sum(), 1)
    centres = (edges[:-1] + edges[1:]) / 2
    w0, m0 = np.cumsum(p), np.cumsum(p * centres)
    between = (m0[-1] * w0 - m0) ** 2 / np.maximum(w0 * (1 - w0), 1e-12)
    return float(edges[np.argmax(between) + 1])


def _ink_is_light(photo: np.ndarray) -> bool:
    """True for light strokes on a dark ground (chalk on a board): the contrast's far tail is on the light side.

    The ground is what most pixels around show: a median over 13x13 of a 48 px copy (a quarter of the image).
    Against it, the paper sits near zero and the ink lies far out on its own side, while noise and shadow
    edges are two-sided; the third moment weighs that far tail. It flips sign exactly when the photo is
    inverted, so both polarities give the same digit.
    """
    tiny = _resize(photo, 48 / max(photo.shape))
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(tiny, 6, mode="edge"), (13, 13))
    ground = np.median(windows.reshape(*tiny.shape, -1), axis=-1)
    contrast = photo - _resize(ground, 1, smooth=True, size=photo.shape[::-1])
    return float((contrast ** 3).mean()) > 0


# ------------------------------------------------------------------------------------------ cleaning
def remove_ruled_lines(mask: np.ndarray, faint: Optional[np.ndarray] = None) -> np.ndarray:
    """Drop the thin pixels of ruled lines (two or more bands across 60% of the width, reaching both sides).

    The lines are found in ``faint`` (a lower threshold's mask, where they are less broken; default ``mask``),
    after shearing it by the tilt (-4..4 degrees) that packs its ink into the fewest rows. A pixel on a line's
    row band is dropped when its vertical run there is about the lines' thickness; strokes that cross a line
    have longer runs and stay. One wide band alone is kept (it may be a 7's bar).
    """
    faint = mask if faint is None else faint
    tilt = max(np.arange(-4, 4.5, 0.5), key=lambda t: float((_shear(faint[::4, ::4], t).sum(1) ** 2).sum()))
    straight = _shear(faint, tilt)
    band = _running(straight, 3, 0, np.maximum)
    covered = _running(band, 9, 1, np.maximum)  # 9 px bridge a dashed line's gaps
    edge = max(2, straight.shape[1] // 50)     # a ruled line runs off both sides; a digit's bar in a tight crop
    rows = (covered.mean(1) >= 0.6) & covered[:, :edge].any(1) & covered[:, -edge:].any(1)  # reaches one at most
    if np.count_nonzero(np.diff(rows.astype(np.int8)) == 1) + rows[0] < 2:
        return mask
    runs = _vertical_runs(straight)
    thickness = np.median(runs[straight & rows[:, None]])
    line = _shear(rows[:, None] & (runs <= 1.5 * thickness + 1), -tilt)
    return mask & ~line


def _shear(image: np.ndarray, degrees: float) -> np.ndarray:
    """Shift column x of an (H, W) image up by round(x * tan(degrees)) rows, wrapping around."""
    h, w = image.shape
    shift = np.round(np.arange(w) * np.tan(np.radians(degrees))).astype(np.int64)
    return image[(np.arange(h)[:, None] + shift) % h, np.arange(w)]


def _digit_components(mask: np.ndarray, ink: np.ndarray, level: float) -> np.ndarray:
    """Keep the main blob (most ink, away from the border) and the blobs near it (a 5's separate bar).

    Blobs whose core (90th percentile of strength) is under 70% of the ink's level are shadows, not ink.
    """
    labels, n = label_components(mask)
    if n == 0:
        return mask
    flat = labels.ravel()
    mass = np.bincount(flat, ink.ravel(), minlength=n + 1)[1:]
    core = _percentile_by_label(flat, ink.ravel(), n, 90)
    if (core >= 0.7 * level).any():
        mass = np.where(core >= 0.7 * level, mass, 0)
    boxes = _boxes(labels, n)  # (n, 4) top, left, bottom, right (inclusive)
    h, w = mask.shape
    on_border = (boxes[:, 0] <= 0) | (boxes[:, 1] <= 0) | (boxes[:, 2] >= h - 1) | (boxes[:, 3] >= w - 1)
    main = int(np.argmax(mass * np.where(on_border, 0.1, 1.0)))
    keep, box = {main}, boxes[main].copy()
    grown = True
    while grown:
        grown = False
        reach = 0.4 * max(box[2] - box[0], box[3] - box[1])
        for i in np.flatnonzero(mass >= 0.04 * mass[main]):
            gap = max(box[0] - boxes[i, 2], boxes[i, 0] - box[2], box[1] - boxes[i, 3], boxes[i, 1] - box[3], 0)
            if i not in keep and gap <= (0 if on_border[i] else reach):
                keep.add(int(i))
                box = np.r_[np.minimum(box[:2], boxes[i, :2]), np.maximum(box[2:], boxes[i, 2:])]
                grown = True
    return np.isin(labels, [k + 1 for k in keep])


def _percentile_by_label(labels: np.ndarray, values: np.ndarray, n: int, q: float) -> np.ndarray:
    """(n,) the q-th percentile (nearest rank) of ``values`` over each label 1..n (flat arrays)."""
    on = labels > 0
    order = np.lexsort((values[on], labels[on]))
    sorted_labels, sorted_values = labels[on][order], values[on][order]
    first = np.searchsorted(sorted_labels, np.arange(1, n + 1))
    counts = np.diff(np.r_[first, len(sorted_labels)])
    return sorted_values[first + (q / 100 * (counts - 1)).astype(np.int64)]


def label_components(mask: np.ndarray) -> Tuple[np.ndarray, int]:
    """8-connected components of a bool (H, W) mask -> (int32 labels (H, W), 0 = background; count).

    Runs of each row are joined to the overlapping runs of the row above with a union-find over runs.
    """
    h, w = mask.shape
    step = np.diff(np.pad(mask, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    rows, starts = np.nonzero(step == 1)
    ends = np.nonzero(step == -1)[1]  # exclusive
    parent = np.arange(len(rows))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first = np.searchsorted(rows, np.arange(h + 1))
    for y in range(1, h):
        a, b, c = first[y - 1], first[y], first[y + 1]
        if a == b or b == c:
            continue
        lo = a + np.searchsorted(ends[a:b], starts[b:c], side="left")       # above runs ending at or after s - 1
        hi = a + np.searchsorted(starts[a:b], ends[b:c], side="right")      # above runs starting at or before e
        for run, (i, j) in enumerate(zip(lo, hi), start=b):
            for other in range(i, j):
                parent[root(other)] = root(run)
    roots = np.array([root(i) for i in range(len(rows))], dtype=np.int64)
    ids = np.unique(roots, return_inverse=True)[1].astype(np.int32) + 1 if len(rows) else roots.astype(np.int32)
    labels = np.zeros(h * w, dtype=np.int32)
    lengths = ends - starts
    offsets = np.repeat(rows * w + starts - np.cumsum(lengths) + lengths, lengths)
    labels[offsets + np.arange(lengths.sum())] = np.repeat(ids, lengths)
    return labels.reshape(h, w), int(ids.max()) if len(rows) else 0


def _boxes(labels: np.ndarray, n: int) -> np.ndarray:
    """(n, 4) bounding boxes (top, left, bottom, right), inclusive, of labels 1..n."""
    ys, xs = np.nonzero(labels)
    ids = labels[ys, xs] - 1
    boxes = np.empty((n, 4), dtype=np.int64)
    boxes[:, :2], boxes[:, 2:] = np.iinfo(np.int64).max, -1
    np.minimum.at(boxes[:, 0], ids, ys)
    np.minimum.at(boxes[:, 1], ids, xs)
    np.maximum.at(boxes[:, 2], ids, ys)
    np.maximum.at(boxes[:, 3], ids, xs)
    return boxes


def _vertical_runs(mask: np.ndarray) -> np.ndarray:
    """(H, W) int: for each ink pixel, the length of the vertical run of ink it belongs to (0 off the ink)."""
    columns = mask.T
    starts = np.diff(np.pad(columns, ((0, 0), (1, 0))).astype(np.int8), axis=1) == 1
    ids = np.where(columns, np.cumsum(starts.ravel()).reshape(columns.shape), 0)  # 1, 2, ... per run
    lengths = np.bincount(ids.ravel())
    lengths[0] = 0
    return lengths[ids].T


# ------------------------------------------------------------------------------------------ MNIST's recipe
def _grow_into(mask: np.ndarray, weak: np.ndarray, steps: int) -> np.ndarray:
    """Extend the kept strokes into fainter ink (a bool mask) by up to ``steps`` pixels: a light stroke's end."""
    for _ in range(steps):
        mask = _dilate(mask, 1) & weak | mask
    return mask


def _fine_mask(ink: np.ndarray, mask: np.ndarray, threshold: float) -> np.ndarray:
    """Crop the kept ink, scale its longer side to FINE_SIDE and threshold: a bool mask with a smooth outline."""
    ys, xs = np.nonzero(mask)
    top, left, bottom, right = ys.min(), xs.min(), ys.max() + 1, xs.max() + 1
    kept = np.where(mask, ink, 0)[max(top - 2, 0):bottom + 2, max(left - 2, 0):right + 2]
    return _resize(kept, FINE_SIDE / max(bottom - top, right - left), smooth=True) >= threshold


def stroke_width(mask: np.ndarray) -> float:
    """Median stroke width of a bool mask in pixels: 4x the erosions that remove half its area.

    A stroke of width w loses about 2 pixels of width per erosion, so half of it is gone after w / 4; ragged
    edges vanish in the first erosion and barely count.
    """
    areas = [np.count_nonzero(mask)]
    while areas[-1] > areas[0] / 2:
        mask = _erode(mask, 1, cross=len(areas) % 2 == 0)
        areas.append(np.count_nonzero(mask))
    k = len(areas) - 1  # areas[k - 1] > half >= areas[k]: interpolate between them
    return 4.0 * (k - 1 + (areas[k - 1] - areas[0] / 2) / max(areas[k - 1] - areas[k], 1))


def match_stroke_width(mask: np.ndarray) -> np.ndarray:
    """Dilate a thin pen's or erode a marker's strokes so that width / longer side matches MNIST_STROKE."""
    ys, xs = np.nonzero(mask)
    side = max(np.ptp(ys), np.ptp(xs)) + 1
    width = stroke_width(mask)
    radius = int(round((MNIST_STROKE * side - width) / 2 / (1 - MNIST_STROKE)))  # dilation also grows the side
    if radius > 0:
        return _dilate(np.pad(mask, radius), radius)
    thinner = _erode(mask, min(-radius, int(width / 4)))  # gently: never so much that strokes break apart
    return thinner if thinner.any() else mask


def fit_mnist_box(ink: np.ndarray) -> np.ndarray:
    """(H, W) ink (white on black, any size) -> float32 (28, 28): MNIST's normalisation.

    Crop to the ink's bounding box, scale the longer side to 20 px (aspect kept, area-averaged, so edges are
    anti-aliased), paste into 28x28 and shift by whole pixels so the centre of mass sits at MNIST_CENTRE.
    """
    ink = np.clip(np.asarray(ink, dtype=np.float32), 0, 1)
    ys, xs = np.nonzero(ink > 0.05)
    if ys.size == 0:
        return np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
    box = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    scale = MNIST_BOX / max(box.shape)
    box = np.clip(_resize(box, scale, smooth=scale > 1), 0, 1)
    h, w = box.shape
    total = box.sum()
    cy, cx = (box.sum(1) @ np.arange(h)) / total, (box.sum(0) @ np.arange(w)) / total
    top = int(np.clip(round(MNIST_CENTRE[0] - cy), 0, MNIST_SIZE - h))
    left = int(np.clip(round(MNIST_CENTRE[1] - cx), 0, MNIST_SIZE - w))
    out = np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
    out[top:top + h, left:left + w] = box
    return out


# ------------------------------------------------------------------------------------------ small image tools
def _resize(image: np.ndarray, scale: float, smooth: bool = False, size: Optional[Tuple[int, int]] = None
            ) -> np.ndarray:
    """Scale a float (H, W) image by ``scale``, or to ``size`` (width, height); area-averaged, or bilinear."""
    from PIL import Image  # noqa: PLC0415

    h, w = image.shape
    size = size or (max(1, round(w * scale)), max(1, round(h * scale)))
    resample = Image.BILINEAR if smooth else Image.BOX
    return np.asarray(Image.fromarray(np.ascontiguousarray(image, dtype=np.float32)).resize(size, resample))


def _box_blur(image: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1) x (2r+1) window (edges repeated)."""
    out = np.pad(image, radius, mode="edge")
    for axis in (0, 1):
        c = np.cumsum(np.insert(out, 0, 0, axis=axis), axis=axis, dtype=np.float64)
        n = out.shape[axis] - 2 * radius
        out = (np.take(c, np.arange(2 * radius + 1, 2 * radius + 1 + n), axis) - np.take(c, np.arange(n), axis))
        out /= 2 * radius + 1
    return out.astype(np.float32)


def _running(a: np.ndarray, size: int, axis: int, op: Any) -> np.ndarray:
    """Running max or min (``op`` np.maximum / np.minimum) over a centred window of odd ``size`` along ``axis``.

    van Herk / Gil-Werman: prefix and suffix extremes within blocks of ``size``, O(1) work per pixel.
    """
    a = np.moveaxis(a, axis, -1)
    n, r = a.shape[-1], size // 2
    fill = -np.inf if op is np.maximum else np.inf
    blocks = -(-(n + 2 * r) // size)
    padded = np.full(a.shape[:-1] + (blocks * size,), fill, dtype=np.float32)
    padded[..., r:r + n] = a
    shaped = padded.reshape(a.shape[:-1] + (blocks, size))
    prefix = op.accumulate(shaped, axis=-1).reshape(padded.shape)
    suffix = np.flip(op.accumulate(np.flip(shaped, -1), axis=-1), -1).reshape(padded.shape)
    out = op(suffix[..., :n], prefix[..., size - 1:size - 1 + n])
    return np.moveaxis(out.astype(a.dtype), -1, axis)


def _closing(image: np.ndarray, size: int) -> np.ndarray:
    """Grayscale closing with a size x size square: removes dark features narrower than ``size``.

    The border pixels are repeated outwards first, so a ramp or a shadow that runs out of the image is kept
    (it stays wide out there), while a stroke ending at the border stays narrow.
    """
    size |= 1
    out = np.pad(image, size, mode="edge")
    for op in (np.maximum, np.minimum):
        out = _running(_running(out, size, 0, op), size, 1, op)
    return out[size:-size, size:-size]


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grow a bool mask by ``radius`` pixels with a near-disc (alternating square and cross steps)."""
    return _morph(mask, radius, grow=True)


def _erode(mask: np.ndarray, radius: int, cross: bool = False) -> np.ndarray:
    return _morph(mask, radius, grow=False, cross=cross)


def _morph(mask: np.ndarray, radius: int, grow: bool, cross: bool = False) -> np.ndarray:
    out = mask.copy()
    for step in range(radius):
        p = np.pad(out, 1, constant_values=False)
        neighbours = [p[1:-1, :-2], p[1:-1, 2:], p[:-2, 1:-1], p[2:, 1:-1]]
        if not cross and step % 2 == 0:
            neighbours += [p[:-2, :-2], p[:-2, 2:], p[2:, :-2], p[2:, 2:]]
        for n in neighbours:
            out = out | n if grow else out & n
    return out
