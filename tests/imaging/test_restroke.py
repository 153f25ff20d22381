"""Browser drawings become the same 28x28 pictures the QuickDraw renderer makes
(``sketch_model.imaging.restroke``)."""

import io
import itertools

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sketch_model.facts import SIDE
from sketch_model.imaging.errors import BlankDrawing
from sketch_model.imaging.restroke import to_bitmap
from testkit.drawings import (
    ANIMALS,
    canvas_from_bitmap,
    mae,
    png_bytes,
    random_strokes,
    render_canvas,
    render_quickdraw,
)

STROKE_SETS = [(name, make()) for name, make in ANIMALS.items()] + \
              [(f"random-{seed}", random_strokes(seed)) for seed in range(10)]

CANVASES = [(300, 2, 0.5, (0.5, 0.5)), (400, 8, 0.7, (0.5, 0.5)), (800, 16, 0.3, (0.3, 0.7)),
            (800, 2, 0.8, (0.5, 0.5)), (300, 16, 0.8, (0.5, 0.5)), (600, 5, 0.25, (0.7, 0.3)),
            (500, 12, 0.5, (0.4, 0.6))]


# --- parity with the dataset's renderer --------------------------------------------------


def test_canvas_drawings_match_the_dataset_renderer(record_property):
    """Any pen, canvas size, drawing size and position gives the dataset's picture."""
    errors = {}
    for (name, strokes), (canvas, pen, size, centre) in itertools.product(STROKE_SETS, CANVASES):
        got = to_bitmap(render_canvas(strokes, canvas, pen, size, centre))
        errors[name, canvas, pen, size] = mae(got, render_quickdraw(strokes))
    mean = float(np.mean(list(errors.values())))
    worst = max(errors, key=errors.get)
    record_property("parity_mae_mean", mean)
    print(f"\nparity: mean MAE {mean:.2f}/255 over {len(errors)} drawings, "
          f"worst {errors[worst]:.2f} for {worst}")
    assert mean < 6.0
    assert errors[worst] < 16.0


def test_pen_width_does_not_change_the_picture():
    """A small drawing with a thick pen and a large one with a thin pen agree."""
    strokes = ANIMALS["cat"]()
    thin = to_bitmap(render_canvas(strokes, canvas=800, pen=2, size=0.85))
    thick = to_bitmap(render_canvas(strokes, canvas=300, pen=14, size=0.5))
    truth = render_quickdraw(strokes)
    assert mae(thin, truth) < 10.0 and mae(thick, truth) < 10.0
    assert mae(thin, thick) < 10.0
    ink = thin.sum() / 255, thick.sum() / 255  # total ink: same line width, same length
    assert abs(ink[0] - ink[1]) / max(ink) < 0.15


def test_drawing_fills_the_frame_like_the_dataset():
    """Longest side spans 26 of 28 px, the other side is centred (ARCHITECTURE.md)."""
    bitmap = to_bitmap(render_canvas(ANIMALS["fish"](), canvas=600, pen=6, size=0.3,
                                     centre=(0.2, 0.8)))
    rows = np.flatnonzero(bitmap.max(axis=1) > 40)
    cols = np.flatnonzero(bitmap.max(axis=0) > 40)
    assert cols[0] in (0, 1, 2) and cols[-1] in (25, 26, 27)
    assert abs((rows[0] + rows[-1]) / 2 - 13.5) <= 1.0


def test_dataset_bitmaps_drawn_on_a_canvas_come_back(shared_data):
    """Real drawings, enlarged and inverted like a canvas, return close to themselves.

    Enlarging a 28 px picture 15x blurs its 1.5 px strokes, so exact equality is impossible;
    we require being far closer than the naive resize many demos use.
    """
    rng = np.random.default_rng(7)
    ours, naive = [], []
    for name in ("cat", "fish", "octopus", "camel"):
        rows = shared_data(name)
        for index in rng.choice(len(rows), 15, replace=False):
            original = rows[index].reshape(SIDE, SIDE)
            png = canvas_from_bitmap(original, canvas=500, size=rng.uniform(0.3, 0.8),
                                     corner=tuple(rng.uniform(0.0, 0.2, 2)))
            ours.append(mae(to_bitmap(png), original))
            squashed = Image.open(io.BytesIO(png)).getchannel("A")
            naive.append(mae(np.asarray(squashed.resize((SIDE, SIDE), Image.Resampling.BOX)),
                             original))
    print(f"\nround trip of real bitmaps: median MAE ours {np.median(ours):.1f}, "
          f"naive resize {np.median(naive):.1f}")
    assert np.median(ours) < 20
    assert np.median(ours) < 0.75 * np.median(naive)


def test_bitmap_is_dataset_shaped(cat_rgba):
    bitmap = to_bitmap(cat_rgba)
    assert bitmap.shape == (SIDE, SIDE) and bitmap.dtype == np.uint8
    assert bitmap.max() == 255 and bitmap[0].max() == 0  # bright ink on black, margin kept
    assert 120 < np.median(bitmap[bitmap > 0]) < 200  # antialiased like the dataset (~160)


# --- what is and is not a drawing -----------------------------------------------------------


@pytest.mark.parametrize("image", [
    Image.new("RGBA", (400, 400), (0, 0, 0, 0)),  # untouched transparent canvas
    Image.new("RGB", (400, 400), "white"),  # untouched white canvas
    Image.new("L", (400, 400), 0),  # black, nothing drawn
    Image.new("RGBA", (1, 1), (0, 0, 0, 255)),  # a single pixel
])
def test_blank_canvas_says_draw_something_first(image):
    with pytest.raises(BlankDrawing, match="Draw something first"):
        to_bitmap(png_bytes(image))


def test_a_single_dot_is_not_a_drawing():
    dot = render_canvas([[(10, 10)]], canvas=400, pen=12, size=0.01)
    with pytest.raises(BlankDrawing, match="Draw something first"):
        to_bitmap(dot)


def test_a_short_line_is_a_drawing():
    stroke = [[(0, 0), (255, 0)]]
    bitmap = to_bitmap(render_canvas(stroke, canvas=400, pen=6, size=0.3))
    assert mae(bitmap, render_quickdraw(stroke)) < 3.0


def test_extreme_aspect_ratio_is_handled():
    wide = Image.new("RGBA", (4000, 10), (0, 0, 0, 0))
    wide.paste((0, 0, 0, 255), (100, 3, 3900, 7))
    bitmap = to_bitmap(png_bytes(wide))
    assert bitmap.shape == (SIDE, SIDE) and bitmap.max() > 200


@pytest.mark.parametrize("shape", ["rectangle", "ellipse"])
def test_a_filled_in_shape_is_thinned_to_its_centre(shape):
    """Solid ink is re-stroked like any line: what is left is its skeleton at the dataset's
    line width, a dot in the middle, never an empty or a fully inked frame."""
    canvas = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    getattr(ImageDraw.Draw(canvas), shape)((100, 100, 300, 300), fill=(0, 0, 0, 255))
    inked = np.argwhere(to_bitmap(png_bytes(canvas)) > 0)
    assert 0 < len(inked) <= 16
    assert np.all(np.abs(inked - 13.5) <= 3)
