"""Browser drawings become the same 28x28 pictures the QuickDraw renderer makes."""

import base64
import io
import itertools
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sketch_model.errors import BlankDrawing, ImageTooLarge, NotAnImage, SketchError
from sketch_model.preprocess import MAX_PNG_BYTES, decode_data_url, read_ink, to_bitmap
from tests.drawing import (ANIMALS, canvas_from_bitmap, page_png, png_bytes, png_chunk,
                           random_strokes, render_canvas, render_quickdraw)

STROKE_SETS = [(name, make()) for name, make in ANIMALS.items()] + \
              [(f"random-{seed}", random_strokes(seed)) for seed in range(10)]
# (canvas px, pen px, drawing's longest side as a share of the canvas, its centre)
CANVASES = [(300, 2, 0.5, (0.5, 0.5)), (400, 8, 0.7, (0.5, 0.5)), (800, 16, 0.3, (0.3, 0.7)),
            (800, 2, 0.8, (0.5, 0.5)), (300, 16, 0.8, (0.5, 0.5)), (600, 5, 0.25, (0.7, 0.3)),
            (500, 12, 0.5, (0.4, 0.6))]


def mae(a, b):
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


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
    """Longest side spans 26 of 28 px, the other side is centred (DESIGN.md)."""
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
            original = rows[index].reshape(28, 28)
            png = canvas_from_bitmap(original, canvas=500, size=rng.uniform(0.3, 0.8),
                                     corner=tuple(rng.uniform(0.0, 0.2, 2)))
            ours.append(mae(to_bitmap(png), original))
            squashed = Image.open(io.BytesIO(png)).getchannel("A")
            naive.append(mae(np.asarray(squashed.resize((28, 28), Image.Resampling.BOX)),
                             original))
    print(f"\nround trip of real bitmaps: median MAE ours {np.median(ours):.1f}, "
          f"naive resize {np.median(naive):.1f}")
    assert np.median(ours) < 20
    assert np.median(ours) < 0.75 * np.median(naive)


# --- image formats ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cat_rgba():
    return render_canvas(ANIMALS["cat"](), canvas=400, pen=8, size=0.7)


def reference(png):
    return to_bitmap(png)


def _as(png: bytes, convert) -> bytes:
    image = Image.open(io.BytesIO(png))
    return png_bytes(convert(image))


def _white_paper(image):
    paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(paper, image).convert("RGB")


@pytest.mark.parametrize("name, convert", [
    ("white background RGB", _white_paper),
    ("opaque white canvas", lambda im: _white_paper(im).convert("RGBA")),
    ("greyscale", lambda im: _white_paper(im).convert("L")),
    ("palette", lambda im: _white_paper(im).convert("P", palette=Image.Palette.ADAPTIVE)),
    ("16-bit grey", lambda im: Image.fromarray(
        np.asarray(_white_paper(im).convert("L"), dtype=np.uint16) * 257)),
    ("white on black", lambda im: Image.fromarray(np.asarray(im.getchannel("A")), "L")),
    ("grey with alpha", lambda im: im.convert("LA")),
    ("coloured ink", lambda im: Image.merge("RGBA", (
        Image.new("L", im.size, 200), Image.new("L", im.size, 30), Image.new("L", im.size, 90),
        im.getchannel("A")))),
])
def test_png_modes_give_the_same_bitmap(cat_rgba, name, convert):
    assert mae(to_bitmap(_as(cat_rgba, convert)), reference(cat_rgba)) < 3.0, name


def test_a_canvas_png_is_read_as_its_alpha_channel(cat_rgba):
    """Canvas PNGs (8-bit RGBA) take the faster decoder; it must read what Pillow reads."""
    assert np.array_equal(read_ink(cat_rgba),
                          np.asarray(Image.open(io.BytesIO(cat_rgba)).getchannel("A")))


def test_the_pages_greyscale_png_reads_as_the_canvas_does(cat_rgba):
    """draw.js sends the canvas as black-on-white 8-bit grey in a ring of white: the same
    ink, exactly, and the same bitmap."""
    page = page_png(cat_rgba)
    assert page[24:26] == b"\x08\x00" and len(page) < len(cat_rgba)
    ink = read_ink(page)
    assert np.array_equal(ink[1:-1, 1:-1], read_ink(cat_rgba)) and not ink[[0, -1]].any()
    assert np.array_equal(to_bitmap(page), to_bitmap(cat_rgba))


def test_ink_along_the_edges_does_not_turn_the_page_into_ink():
    """Without an alpha channel, the paper's shade is read off the border: a frame drawn
    along the canvas' edges must not make the paper count as ink (draw.js's white ring)."""
    canvas = Image.open(io.BytesIO(render_canvas(ANIMALS["fish"](), canvas=400, size=0.6)))
    ImageDraw.Draw(canvas).rectangle((0, 0, 399, 399), outline=(0, 0, 0, 255), width=4)
    framed = png_bytes(canvas)
    assert np.array_equal(to_bitmap(page_png(framed)), to_bitmap(framed))


def test_pngs_with_large_headers_are_left_to_pillow(cat_rgba, monkeypatch):
    """Compressed text before the pixels would be inflated by Pillow and libspng both; such
    PNGs go to Pillow alone, and read the same."""
    from PIL import PngImagePlugin
    from sketch_model import preprocess

    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * 5000, zip=True)
    info.add_text("note", bytes(range(256)).hex() * 4)
    noisy = png_bytes(Image.open(io.BytesIO(cat_rgba)), pnginfo=info)
    expected = to_bitmap(cat_rgba)
    monkeypatch.setattr(preprocess.pyspng, "load", lambda *a, **k: pytest.fail("libspng"))
    assert np.array_equal(to_bitmap(noisy), expected)


def test_bitmap_is_dataset_shaped(cat_rgba):
    bitmap = to_bitmap(cat_rgba)
    assert bitmap.shape == (28, 28) and bitmap.dtype == np.uint8
    assert bitmap.max() == 255 and bitmap[0].max() == 0  # bright ink on black, margin kept
    assert 120 < np.median(bitmap[bitmap > 0]) < 200  # antialiased like the dataset (~160)


# --- what users may send -------------------------------------------------------------------

def test_data_url_round_trip(cat_rgba):
    assert decode_data_url(data_url(cat_rgba)) == cat_rgba
    assert decode_data_url("  " + data_url(cat_rgba)[:40] + "\n" + data_url(cat_rgba)[40:]) \
        == cat_rgba


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("   ", "empty"),
    ("hello", "data URL"),
    ("data:image/jpeg;base64,/9j/4AAQ", "PNG"),
    ("data:text/html,<b>hi</b>", "PNG"),
    ("data:image/png,plainbytes", "base64"),
    ("data:image/png;base64,@@@not base64@@@", "base64"),
    ("data:image/png;base64,", "empty"),
])
def test_bad_data_urls_are_explained(text, words):
    with pytest.raises(NotAnImage, match=words):
        decode_data_url(text)


def test_data_url_that_is_not_text():
    with pytest.raises(NotAnImage):
        decode_data_url(b"data:image/png;base64,AAAA")


def test_oversized_data_url_is_refused_before_decoding():
    with pytest.raises(ImageTooLarge):
        decode_data_url("data:image/png;base64," + "A" * (MAX_PNG_BYTES * 2))


def _declared_png(width: int, height: int) -> bytes:
    """A PNG that claims a size but carries only a sliver of (valid) compressed zeros."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\0" * 1024)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data)
            + png_chunk(b"IEND", b""))


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ImageTooLarge, match="too large"):
        to_bitmap(_declared_png(100_000, 100_000))
    with pytest.raises(ImageTooLarge):
        to_bitmap(_declared_png(10_000, 10))


def test_too_many_bytes_is_refused():
    with pytest.raises(ImageTooLarge):
        to_bitmap(b"\x89PNG\r\n\x1a\n" + b"\0" * MAX_PNG_BYTES)


@pytest.mark.parametrize("fmt", ["JPEG", "GIF", "BMP", "WEBP"])
def test_other_image_formats_are_refused(fmt):
    image = Image.new("RGB", (50, 50), "white")
    with pytest.raises(NotAnImage, match="PNG"):
        to_bitmap(png_bytes(image) if fmt == "PNG" else _save(image, fmt))


def _save(image, fmt):
    buffer = __import__("io").BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def test_svg_and_random_bytes_are_refused():
    for data in (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', bytes(range(256)) * 4):
        with pytest.raises(NotAnImage):
            to_bitmap(data)


def test_truncated_png_is_refused(cat_rgba):
    with pytest.raises(NotAnImage, match="damaged"):
        to_bitmap(cat_rgba[: len(cat_rgba) // 2])


def test_animated_png_is_refused():
    frames = [Image.new("RGBA", (40, 40), (0, 0, 0, 0)), Image.new("RGBA", (40, 40), "black")]
    buffer = __import__("io").BytesIO()
    frames[0].save(buffer, format="PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(NotAnImage, match="animation"):
        to_bitmap(buffer.getvalue())


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
    assert bitmap.shape == (28, 28) and bitmap.max() > 200


@pytest.mark.parametrize("shape", ["rectangle", "ellipse"])
def test_a_filled_in_shape_is_thinned_to_its_centre(shape):
    """Solid ink is re-stroked like any line: what is left is its skeleton at the dataset's
    line width, a dot in the middle, never an empty or a fully inked frame."""
    canvas = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    getattr(ImageDraw.Draw(canvas), shape)((100, 100, 300, 300), fill=(0, 0, 0, 255))
    inked = np.argwhere(to_bitmap(png_bytes(canvas)) > 0)
    assert 0 < len(inked) <= 16
    assert np.all(np.abs(inked - 13.5) <= 3)


def test_all_errors_share_one_base_class():
    for error in (NotAnImage, ImageTooLarge, BlankDrawing):
        assert issubclass(error, SketchError)
