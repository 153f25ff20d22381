"""A taught drawing: what a request may carry, and Quick, Draw!'s *simplified* form of it.

A request carries strokes as a canvas has them, ``[[[x, ...], [y, ...]], ...]`` in any units
(pixels, maybe fractions, maybe negative). ``parse_drawing`` checks the shape and the bounds
and refuses anything else with a sentence; ``simplify`` turns the strokes into the form the
dataset's ``simplified`` files hold (and its bitmaps were rendered from), so that a taught
drawing is training data like any other:

1. align to the top-left (smallest x and y become 0);
2. scale uniformly so that the longest side is 255 units;
3. resample every stroke at 1-unit spacing;
4. Ramer-Douglas-Peucker with epsilon 2.0; integer coordinates in 0..255.

How the steps are carried out here, and why:

- Coordinates go to the integer grid right after scaling, before Ramer-Douglas-Peucker, so the
  points it keeps are final: rounding afterwards could move a kept point closer than epsilon
  to its neighbours' line and make a second simplification drop it.
- The resampling keeps every point the person drew and adds points on the straight segments
  between them. A point on a segment is never farther from a line than one of the segment's
  two ends (the distance to a line is convex along a segment), so Ramer-Douglas-Peucker keeps
  the same points with the added ones as without them (ties go to the earlier point, one the
  person drew). The resampling is therefore folded into the simplification instead of being
  materialised: the cost follows the points sent, not the length of the lines.
- The points where the drawing reaches its smallest and largest x and y (the first such point
  of each) are kept like the ends of a stroke. Plain Ramer-Douglas-Peucker may drop one, and
  the drawing would no longer span 0..255; kept, the result really spans 0..255 on its longest
  side, and simplifying it again does not scale it anew.
- Consecutive repeats of a point are dropped. A stroke may be a single point (a dot).
- A drawing with no extent (one dot, or every point in one place) has nothing to scale: it
  becomes one point per stroke at (0, 0), which the dataset's renderer draws as a dot in the
  middle of the bitmap.

Simplifying is repeated until a pass changes nothing (as a rule, by the reasoning above, the
second pass), so simplifying a simplified drawing gives it back unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from sketch_model.facts import DRAWING_UNITS

from .errors import Rejected

MAX_STROKES = 1_000  # strokes in one drawing (a quick sketch has a few dozen)
MAX_POINTS = 30_000  # points of all strokes together (the drawing page stops at 20,000)
MAX_JSON_BYTES = 512 * 1024  # the drawing as JSON text: room for MAX_POINTS canvas points
MAX_COORDINATE = 1e6  # |x| and |y| in the request's units, far beyond any canvas
EPSILON = 2.0  # Ramer-Douglas-Peucker's tolerance, in simplified units
SIDE = DRAWING_UNITS  # the simplified drawing's longest side: 255
_MAX_PASSES = 8  # simplifying again until nothing changes (as a rule, the second pass)
# Ramer-Douglas-Peucker measures each point against the line of every range it falls in: about
# n log n distances for a drawing, but n * n / 2 for a zigzag whose every corner stays. The
# bound is far above what a drawing needs, and stops thousands of corners stacked on purpose.
MAX_DISTANCES = 20_000_000

Strokes = list[tuple[list[float], list[float]]]
Simplified = list[list[list[int]]]


def check_size(length: int | None) -> None:
    """Refuse a drawing whose JSON text is longer than ``MAX_JSON_BYTES`` (413)."""
    if length is not None and length > MAX_JSON_BYTES:
        raise Rejected(413, f"The drawing is too large to keep: at most "
                            f"{MAX_JSON_BYTES // 1024} KB of strokes.")


def parse_drawing(value) -> Strokes:
    """The strokes of ``value`` (a drawing as decoded from JSON) as ``(xs, ys)`` float lists.

    Refused with a sentence: anything but a non-empty list of ``[[x, ...], [y, ...]]`` strokes
    (400), a stroke without points or with more x than y (400), a coordinate that is no finite
    number, a boolean, or beyond ``MAX_COORDINATE`` (400), more than ``MAX_STROKES`` strokes or
    ``MAX_POINTS`` points (413). The bounds are checked before any number is read.
    """
    if not isinstance(value, (list, tuple)):
        raise Rejected(400, "The drawing must be a list of strokes, each [[x, ...], [y, ...]].")
    if not value:
        raise Rejected(400, "The drawing is empty: draw something first.")
    if len(value) > MAX_STROKES:
        raise Rejected(413, f"The drawing has more than {MAX_STROKES:,} strokes: "
                            "that is more than I can keep.")
    total = 0
    for number, stroke in enumerate(value, 1):
        if not (isinstance(stroke, (list, tuple)) and len(stroke) == 2
                and all(isinstance(axis, (list, tuple)) for axis in stroke)):
            raise Rejected(400, f"Stroke {number} of the drawing is not [[x, ...], [y, ...]].")
        xs, ys = stroke
        if len(xs) != len(ys):
            raise Rejected(400, f"Stroke {number} of the drawing has {len(xs)} x and "
                                f"{len(ys)} y coordinates: they must come in pairs.")
        if not xs:
            raise Rejected(400, f"Stroke {number} of the drawing has no points.")
        total += len(xs)
        if total > MAX_POINTS:
            raise Rejected(413, f"The drawing has more than {MAX_POINTS:,} points: "
                                "that is more than I can keep.")
    return [(_numbers(xs, number), _numbers(ys, number))
            for number, (xs, ys) in enumerate(value, 1)]


def _numbers(axis, number: int) -> list[float]:
    values = []
    for item in axis:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise Rejected(400, f"Stroke {number} of the drawing has a coordinate that is "
                                "not a number.")
        if isinstance(item, float) and not math.isfinite(item):
            raise Rejected(400, f"Stroke {number} of the drawing has a coordinate that is "
                                "not a finite number.")
        if abs(item) > MAX_COORDINATE:
            raise Rejected(400, f"Stroke {number} of the drawing has a coordinate beyond "
                                f"{MAX_COORDINATE:,.0f}.")
        values.append(float(item))
    return values


def simplify(strokes) -> Simplified:
    """The simplified form of ``strokes`` (as ``parse_drawing`` returns them, or simplified
    strokes): ``[[xs], [ys]]`` per stroke, integers in 0..255, longest side exactly 255 (0 for
    a drawing with no extent). See the module's docstring for the steps.

    A drawing so intricate that simplifying it would take more than ``MAX_DISTANCES``
    measurements (thousands of sharp corners on top of one another) is refused (413)."""
    drawing = _pass([np.column_stack((np.asarray(xs, dtype=np.float64),
                                      np.asarray(ys, dtype=np.float64))) for xs, ys in strokes])
    for _ in range(_MAX_PASSES):
        again = _pass(drawing)
        if all(np.array_equal(a, b) for a, b in zip(again, drawing)):
            break
        drawing = again
    return [[a[:, 0].astype(int).tolist(), a[:, 1].astype(int).tolist()] for a in drawing]


def _pass(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """One simplification: to the grid, then Ramer-Douglas-Peucker between the kept points."""
    grid = _to_grid(strokes)
    kept = _extremes(grid)
    budget = [MAX_DISTANCES]
    return [_distinct(a[_rdp(a, kept.get(n, ()), budget)]) for n, a in enumerate(grid)]


def _to_grid(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """Aligned to the top-left, scaled so the longest side is 255, on the integer grid,
    without consecutive repeats."""
    points = np.vstack(strokes)
    low = points.min(axis=0)
    span = float((points.max(axis=0) - low).max()) or math.inf  # no extent: all at 0
    return [_distinct(np.clip(np.floor((a - low) * SIDE / span + 0.5), 0, SIDE))
            for a in strokes]


def _distinct(a: np.ndarray) -> np.ndarray:
    """``a`` without points that repeat the point before them."""
    if len(a) < 2:
        return a
    moved = np.any(a[1:] != a[:-1], axis=1)
    return a[np.concatenate(([True], moved))]


def _extremes(strokes: list[np.ndarray]) -> dict[int, set[int]]:
    """Per stroke, the points that must stay: the first to reach the drawing's smallest and
    largest x and y."""
    points = np.vstack(strokes)
    starts = np.cumsum([0] + [len(a) for a in strokes])
    kept: dict[int, set[int]] = {}
    for index in (points[:, 0].argmin(), points[:, 0].argmax(),
                  points[:, 1].argmin(), points[:, 1].argmax()):
        stroke = int(np.searchsorted(starts, index, side="right")) - 1
        kept.setdefault(stroke, set()).add(int(index - starts[stroke]))
    return kept


def _rdp(points: np.ndarray, fixed=(), budget: list[int] | None = None) -> np.ndarray:
    """Indices of ``points`` Ramer-Douglas-Peucker keeps with ``EPSILON``, the ends and the
    ``fixed`` points always among them, in order. ``budget``: distances it may still measure
    (one number in a list, shared by the strokes of a drawing), else no limit."""
    last = len(points) - 1
    keep = np.zeros(len(points), dtype=bool)
    bounds = sorted({0, last, *fixed})
    keep[bounds] = True
    pending = list(zip(bounds, bounds[1:]))
    while pending:
        first, end = pending.pop()
        if end - first < 2:
            continue
        if budget is not None:
            budget[0] -= end - first - 1
            if budget[0] < 0:
                raise Rejected(413, "The drawing is too intricate to keep: it has more sharp "
                                    "turns than I can simplify.")
        far, distance = _farthest(points[first + 1:end], points[first], points[end])
        if distance > EPSILON:
            split = first + 1 + far
            keep[split] = True
            pending += [(first, split), (split, end)]
    return np.flatnonzero(keep)


def _farthest(inner: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """The first of ``inner`` farthest from the line through ``a`` and ``b`` (from ``a`` if
    they coincide), and its distance."""
    direction = b - a
    length = math.hypot(*direction)
    offset = inner - a
    if length == 0:
        distances = np.hypot(offset[:, 0], offset[:, 1])
    else:
        distances = np.abs(direction[0] * offset[:, 1] - direction[1] * offset[:, 0]) / length
    far = int(distances.argmax())
    return far, float(distances[far])


def as_simplified(drawing) -> Simplified:
    """``drawing`` checked to be simplified strokes (integers in 0..255, ``[[xs], [ys]]`` per
    stroke, at least one point) and copied as lists; ``ValueError`` if it is not. The store
    keeps nothing else."""
    if not isinstance(drawing, (list, tuple)) or not drawing:
        raise ValueError("a simplified drawing is a non-empty list of strokes")
    strokes = []
    for stroke in drawing:
        if not (isinstance(stroke, (list, tuple)) and len(stroke) == 2):
            raise ValueError("a simplified stroke is [[x, ...], [y, ...]]")
        xs, ys = (list(axis) for axis in stroke)
        if not xs or len(xs) != len(ys) or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= SIDE
                for v in xs + ys):
            raise ValueError("simplified coordinates are integers from 0 to 255, in pairs "
                             "(pass the strokes through feedback.simplify first)")
        strokes.append([[int(v) for v in xs], [int(v) for v in ys]])
    return strokes
