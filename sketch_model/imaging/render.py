"""Render stroke drawings exactly the way the QuickDraw ``numpy_bitmap`` files were made.

The simplified drawing (top-left at 0, longest side 255 units) is centred in a 256-unit box,
translated by 24 units of padding, scaled by 28/304 and stroked with round 16-unit lines
(``facts``). Pixel values are the exact share of each pixel the
stroke covers, found by supersampling, which is what cairo's best antialiasing computes.

Training uses it for the dataset's simplified stroke drawings (``render_simplified``) and for
synthetic "none of these" drawings; the tests use it as the reference the canvas preprocessing
must match.
"""

from __future__ import annotations

import numpy as np

from ..facts import (
    BOX_UNITS,
    DRAWING_UNITS,
    LINE_UNITS,
    PADDING_UNITS,
    PIXELS,
    PIXELS_PER_UNIT,
    SIDE,
)

Stroke = list[tuple[float, float]]

_SCALE = PIXELS_PER_UNIT
_PADDING = PADDING_UNITS + LINE_UNITS / 2  # the padding plus half a line
_RADIUS = LINE_UNITS / 2


def normalise(strokes: list[Stroke]) -> list[np.ndarray]:
    """Align to the top-left and scale the longest side to 255, as the simplified data is."""
    arrays = [np.asarray(s, dtype=np.float64) for s in strokes]
    points = np.vstack(arrays)
    low = points.min(axis=0)
    span = (points.max(axis=0) - low).max() or 1.0
    return [(a - low) * (DRAWING_UNITS / span) for a in arrays]


def as_points(strokes) -> list[Stroke]:
    """Strokes of the simplified format, ``(xs, ys)`` each, as lists of points."""
    return [list(zip(xs, ys)) for xs, ys in strokes]


def render_simplified(drawings) -> np.ndarray:
    """(N, 784) uint8 rows of simplified drawings (``quickdraw.Drawing``): numpy_bitmap rows."""
    rows = np.empty((len(drawings), PIXELS), dtype=np.uint8)
    for number, drawing in enumerate(drawings):
        rows[number] = render_quickdraw(as_points(drawing.strokes)).reshape(-1)
    return rows


def render_quickdraw(strokes: list[Stroke], supersample: int = 8) -> np.ndarray:
    """The 28x28 uint8 bitmap the QuickDraw pipeline makes of these strokes."""
    simplified = normalise(strokes)
    offset = (BOX_UNITS - np.vstack(simplified).max(axis=0)) / 2.0
    strokes_px = [(s + offset + _PADDING) * _SCALE for s in simplified]
    coverage = _capsule_coverage(strokes_px, _RADIUS * _SCALE, SIDE, supersample)
    return np.rint(coverage * 255).astype(np.uint8)


def _capsule_coverage(strokes_px, radius, size, supersample):
    """Share of each pixel within ``radius`` of any stroke segment (round caps and joins)."""
    grid = (np.arange(size * supersample) + 0.5) / supersample
    inside = np.zeros((grid.size, grid.size), dtype=bool)
    for stroke in strokes_px:
        segments = zip(stroke, stroke[1:]) if len(stroke) > 1 else [(stroke[0], stroke[0])]
        for (ax, ay), (bx, by) in segments:
            x_lo = np.searchsorted(grid, min(ax, bx) - radius)
            x_hi = np.searchsorted(grid, max(ax, bx) + radius)
            y_lo = np.searchsorted(grid, min(ay, by) - radius)
            y_hi = np.searchsorted(grid, max(ay, by) + radius)
            px, py = np.meshgrid(grid[x_lo:x_hi], grid[y_lo:y_hi])
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            t = 0.0 if length2 == 0 else np.clip(((px - ax) * dx + (py - ay) * dy) / length2, 0, 1)
            near = (px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2 <= radius * radius
            inside[y_lo:y_hi, x_lo:x_hi] |= near
    return inside.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
