"""``feedback.drawing``: what a request may carry, and the official simplified form.

Known cases worked out by hand, the properties every simplified drawing has (integers in
0..255, top-left at 0, longest side 255, simplifying again changes nothing) on random drawings
and on the real QuickDraw drawings of the offline mirror, and every refusal with its status and
its sentence.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback import (
    MAX_JSON_BYTES,
    MAX_POINTS,
    MAX_STROKES,
    Rejected,
    check_size,
    parse_drawing,
    simplify,
)
from feedback import drawing as module

pytestmark = pytest.mark.timeout(300)
PROPERTY = dict(deadline=None, database=None, max_examples=300,
                suppress_health_check=[HealthCheck.too_slow])


def points_of(drawing):
    return [point for xs, ys in drawing for point in zip(xs, ys)]


def assert_simplified(drawing):
    """The simplified format's promises."""
    assert drawing and all(len(stroke) == 2 and stroke[0] and len(stroke[0]) == len(stroke[1])
                           for stroke in drawing)
    points = points_of(drawing)
    assert all(type(v) is int and 0 <= v <= 255 for point in points for v in point)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    assert min(xs) == 0 and min(ys) == 0
    assert max(max(xs), max(ys)) in (0, 255)
    for xs, ys in drawing:  # no point repeats the one before it
        assert all((a, b) != (c, d) for a, b, c, d in zip(xs, ys, xs[1:], ys[1:]))


# --- known cases -------------------------------------------------------------------------

def test_a_straight_line_keeps_its_two_ends():
    xs = [float(x) for x in range(0, 401, 4)]
    assert simplify(parse_drawing([[xs, [3.5] * len(xs)]])) == [[[0, 255], [0, 0]]]
    diagonal = [[list(range(-50, 51)), list(range(100, -1, -1))]]
    assert simplify(parse_drawing(diagonal)) == [[[0, 255], [255, 0]]]


def test_corners_stay_and_a_wobble_within_epsilon_goes():
    # An L drawn with many points: its three corners remain.
    ell = [[[0, 0, 0, 0, 25, 50, 75, 100], [0, 25, 50, 100, 100, 100, 100, 100]]]
    assert simplify(parse_drawing(ell)) == [[[0, 0, 255], [0, 255, 255]]]
    # Scaled by 255/200 the middle point is (127.5, 1.275), on the grid (128, 1): 1 unit off
    # the line, within epsilon, but it is where the drawing reaches its largest y: kept.
    bump = simplify(parse_drawing([[[0, 100, 200], [0, 1, 0]]]))
    assert bump == [[[0, 128, 255], [0, 1, 0]]]
    # The same wobble in a drawing that is taller elsewhere goes.
    wobble = simplify(parse_drawing([[[0, 100, 200], [0, 1, 0]], [[0, 0], [0, 200]]]))
    assert wobble == [[[0, 255], [0, 0]], [[0, 0], [0, 255]]]
    # A bump of 3 units (4 on the grid) is beyond epsilon: kept.
    assert simplify(parse_drawing([[[0, 100, 200], [0, 3, 0]], [[0, 0], [0, 200]]])) == \
        [[[0, 128, 255], [0, 4, 0]], [[0, 0], [0, 255]]]


def test_a_square_in_canvas_pixels_by_hand():
    # 40 px square at (100, 60) drawn with fractional points, then a diagonal.
    side = np.linspace(0, 40, 17)
    xs = [*(100 + side), *([140.0] * 17), *(140 - side), *([100.0] * 17)]
    ys = [*([60.0] * 17), *(60 + side), *([100.0] * 17), *(100 - side)]
    drawing = [[xs, ys], [[100.0, 140.0], [100.0, 60.0]]]
    assert simplify(parse_drawing(drawing)) == [
        [[0, 255, 255, 0, 0], [0, 0, 255, 255, 0]], [[0, 255], [255, 0]]]


def test_the_drawings_extremes_stay_so_it_spans_0_to_255():
    # The lowest point (y = 2 on the grid) is 2 units from the line between its neighbours:
    # plain Ramer-Douglas-Peucker drops it, and the drawing would no longer reach its extent.
    grid = np.array([[0, 0], [100, 2], [255, 0]], dtype=float)
    assert module._rdp(grid).tolist() == [0, 2]
    assert simplify([([0.0, 100.0, 255.0], [0.0, 2.0, 0.0])]) == [[[0, 100, 255], [0, 2, 0]]]


def test_a_dot_and_a_drawing_without_extent():
    assert simplify(parse_drawing([[[5], [5]]])) == [[[0], [0]]]
    assert simplify(parse_drawing([[[7.5, 7.5, 7.5], [-2, -2, -2]], [[7.5], [-2]]])) == \
        [[[0], [0]], [[0], [0]]]
    # A dot beside a line is a one-point stroke of its own.
    assert simplify(parse_drawing([[[0, 10], [0, 0]], [[5], [10]]])) == \
        [[[0, 255], [0, 0]], [[128], [255]]]


def test_repeated_points_go_and_units_do_not_matter():
    drawing = [[[10, 10, 10, 20, 20, 30], [10, 10, 10, 10, 10, 30]]]
    assert simplify(parse_drawing(drawing)) == [[[0, 128, 255], [0, 0, 255]]]
    big = [[[x * 4.0 - 1000.5 for x in xs], [y * 4.0 - 1000.5 for y in ys]] for xs, ys in drawing]
    assert simplify(parse_drawing(big)) == simplify(parse_drawing(drawing))


# --- properties --------------------------------------------------------------------------

coordinate = st.floats(min_value=-5000, max_value=5000, allow_nan=False, allow_infinity=False)


@st.composite
def canvas_drawings(draw):
    """Strokes as a canvas has them: random walks of any scale, dots, straight runs."""
    strokes = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["walk", "dot", "line", "points"]))
        if kind == "dot":
            x, y = draw(coordinate), draw(coordinate)
            strokes.append([[x], [y]])
        elif kind == "points":
            n = draw(st.integers(1, 30))
            strokes.append([draw(st.lists(coordinate, min_size=n, max_size=n)),
                            draw(st.lists(coordinate, min_size=n, max_size=n))])
        else:
            seed = draw(st.integers(0, 2 ** 32 - 1))
            rng = np.random.default_rng(seed)
            n = draw(st.integers(2, 200))
            steps = rng.normal(0, draw(st.floats(0.01, 50)), (n, 2))
            if kind == "line":
                steps = np.outer(np.abs(steps[:, 0]), rng.normal(size=2))
            walk = np.cumsum(steps, axis=0) + rng.uniform(-1000, 1000, 2)
            strokes.append([walk[:, 0].tolist(), walk[:, 1].tolist()])
    return strokes


@given(canvas_drawings())
@settings(**PROPERTY)
def test_any_drawing_simplifies_within_the_format_and_again_changes_nothing(drawing):
    once = simplify(parse_drawing(drawing))
    assert len(once) == len(drawing)
    assert_simplified(once)
    assert simplify(parse_drawing(once)) == once
    assert simplify(parse_drawing(json.loads(json.dumps(once)))) == once


def exact_rdp(points) -> list[int]:
    """Ramer-Douglas-Peucker in exact arithmetic (``Fraction`` points), the first farthest
    point splitting: the reference the module's claims are measured against."""
    keep, pending = {0, len(points) - 1}, [(0, len(points) - 1)]
    while pending:
        first, end = pending.pop()
        (ax, ay), (bx, by) = points[first], points[end]
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        best, far = -1, None
        for k in range(first + 1, end):
            px, py = points[k][0] - ax, points[k][1] - ay
            d2 = (dx * py - dy * px) ** 2 / length2 if length2 else px * px + py * py
            if d2 > best:
                best, far = d2, k
        if far is not None and best > module.EPSILON ** 2:
            keep.add(far)
            pending += [(first, far), (far, end)]
    return sorted(keep)


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=2, max_size=16))
@settings(**PROPERTY)
def test_resampling_at_1_unit_changes_nothing_ramer_douglas_peucker_keeps(points):
    """The module folds the 1-unit resampling into the simplification. Resampling for real
    (each segment cut into pieces of at most 1 unit, the drawn points kept), in exact
    arithmetic, keeps the same points, all of them drawn ones; and the module's own
    Ramer-Douglas-Peucker on grid points decides as exact arithmetic does."""
    drawn = [(Fraction(x), Fraction(y)) for x, y in points]
    resampled, origin = [drawn[0]], [0]
    for number, ((ax, ay), (bx, by)) in enumerate(zip(drawn, drawn[1:]), 1):
        steps = max(1, math.ceil(math.hypot(bx - ax, by - ay)))
        resampled += [(ax + (bx - ax) * Fraction(t, steps), ay + (by - ay) * Fraction(t, steps))
                      for t in range(1, steps + 1)]
        origin += [-1] * (steps - 1) + [number]
    kept = [origin[k] for k in exact_rdp(resampled)]
    assert min(kept) >= 0, "a resampled point was kept instead of a drawn one"
    assert kept == exact_rdp(drawn) == module._rdp(np.array(points, dtype=float)).tolist()


def test_real_quickdraw_drawings_simplify_to_a_fixed_point(strokes_source):
    """The dataset's own simplified drawings: within the format after one pass, and no
    change after another."""
    checked = 0
    for path in sorted(strokes_source.glob("*.ndjson"))[:30]:
        for text in path.read_text().splitlines():
            official = json.loads(text)["drawing"]
            once = simplify(parse_drawing(official))
            assert_simplified(once)
            assert simplify(once) == once
            checked += 1
    assert checked >= 500


# --- what a request may carry --------------------------------------------------------------

SENTENCE = {
    "not a list": "The drawing must be a list of strokes, each [[x, ...], [y, ...]].",
    "empty": "The drawing is empty: draw something first.",
}


@pytest.mark.parametrize("value, status, sentence", [
    (None, 400, SENTENCE["not a list"]),
    ("[[[1], [2]]]", 400, SENTENCE["not a list"]),
    ({"strokes": []}, 400, SENTENCE["not a list"]),
    ([], 400, SENTENCE["empty"]),
    ([[[1, 2], [3, 4]], "stroke"], 400, "Stroke 2 of the drawing is not [[x, ...], [y, ...]]."),
    ([[[1, 2]]], 400, "Stroke 1 of the drawing is not [[x, ...], [y, ...]]."),
    ([[[1, 2], [3, 4], [5, 6]]], 400, "Stroke 1 of the drawing is not [[x, ...], [y, ...]]."),
    ([[1, 2]], 400, "Stroke 1 of the drawing is not [[x, ...], [y, ...]]."),
    ([[[1, 2, 3], [4, 5]]], 400,
     "Stroke 1 of the drawing has 3 x and 2 y coordinates: they must come in pairs."),
    ([[[1], [2]], [[], []]], 400, "Stroke 2 of the drawing has no points."),
    ([[[1, "2"], [3, 4]]], 400, "Stroke 1 of the drawing has a coordinate that is not a number."),
    ([[[1, None], [3, 4]]], 400,
     "Stroke 1 of the drawing has a coordinate that is not a number."),
    ([[[True, 2], [3, 4]]], 400,
     "Stroke 1 of the drawing has a coordinate that is not a number."),
    ([[[1, 2], [3, [4]]]], 400,
     "Stroke 1 of the drawing has a coordinate that is not a number."),
    ([[[1, float("nan")], [3, 4]]], 400,
     "Stroke 1 of the drawing has a coordinate that is not a finite number."),
    ([[[1, 2], [float("-inf"), 4]]], 400,
     "Stroke 1 of the drawing has a coordinate that is not a finite number."),
    ([[[1, 2], [3, 10 ** 400]]], 400,
     "Stroke 1 of the drawing has a coordinate beyond 1,000,000."),
    ([[[1, -2e6], [3, 4]]], 400, "Stroke 1 of the drawing has a coordinate beyond 1,000,000."),
])
def test_each_bad_drawing_is_refused_with_its_status_and_sentence(value, status, sentence):
    with pytest.raises(Rejected) as refused:
        parse_drawing(value)
    assert refused.value.status == status
    assert str(refused.value) == sentence


def test_nan_as_json_decodes_it_is_refused():
    with pytest.raises(Rejected, match="not a finite number"):
        parse_drawing(json.loads('[[[1, NaN], [2, 3]]]'))


def test_the_bounds_on_strokes_points_and_bytes():
    assert len(parse_drawing([[[1], [1]]] * MAX_STROKES)) == MAX_STROKES
    with pytest.raises(Rejected) as refused:
        parse_drawing([[[1], [1]]] * (MAX_STROKES + 1))
    assert refused.value.status == 413
    assert str(refused.value) == ("The drawing has more than 1,000 strokes: that is more than "
                                  "I can keep.")

    half = MAX_POINTS // 2
    parse_drawing([[[0.5] * half, [1] * half], [[2] * half, [3] * half]])
    with pytest.raises(Rejected) as refused:
        parse_drawing([[[0.5] * half, [1] * half], [[2] * (half + 1), [3] * (half + 1)]])
    assert refused.value.status == 413
    assert str(refused.value) == ("The drawing has more than 30,000 points: that is more than "
                                  "I can keep.")
    # The bound is checked before the numbers are read: no sentence about stroke 1's values.
    with pytest.raises(Rejected, match="more than 30,000 points"):
        parse_drawing([[["x"] * MAX_POINTS, ["y"] * MAX_POINTS], [[1], [1]]])

    check_size(MAX_JSON_BYTES)
    check_size(None)
    with pytest.raises(Rejected) as refused:
        check_size(MAX_JSON_BYTES + 1)
    assert refused.value.status == 413
    assert str(refused.value) == "The drawing is too large to keep: at most 512 KB of strokes."


def test_the_largest_drawing_the_page_sends_fits_the_bounds():
    """The drawing page stops taking points at 20,000, in 400 px with one decimal: a drawing of
    that many points, as JSON, is well within the bounds and simplifies."""
    rng = np.random.default_rng(3)
    strokes = []
    for _ in range(50):
        walk = np.clip(np.cumsum(rng.normal(0, 3, (400, 2)), axis=0) + 200, 0, 400)
        strokes.append([np.round(walk[:, 0], 1).tolist(), np.round(walk[:, 1], 1).tolist()])
    text = json.dumps(strokes)
    check_size(len(text.encode()))
    assert_simplified(simplify(parse_drawing(json.loads(text))))


def test_a_drawing_too_intricate_to_simplify_is_refused():
    """A zigzag whose every point is a corner costs n * n / 2 distances: bounded."""
    n = 20_000
    zigzag = [[[float(i) for i in range(n)], [float((i % 2) * 1000) for i in range(n)]]]
    with pytest.raises(Rejected) as refused:
        simplify(parse_drawing(zigzag))
    assert refused.value.status == 413
    assert str(refused.value) == ("The drawing is too intricate to keep: it has more sharp "
                                  "turns than I can simplify.")
