"""Reading a drawing's ink from any PNG a client sends, and refusing what is not a PNG we
accept, before anything is inflated (``sketch_model.imaging.png``)."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sketch_model.imaging import png
from sketch_model.imaging.errors import BlankDrawing, ImageTooLarge, NotAnImage, SketchError
from sketch_model.imaging.png import MAX_PNG_BYTES, read_ink
from sketch_model.imaging.restroke import to_bitmap
from testkit.drawings import ANIMALS, mae, page_png, png_bytes, render_canvas
from testkit.pngs import SIGNATURE, declared_png, encoded

# --- every kind of PNG ----------------------------------------------------------------------


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

    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * 5000, zip=True)
    info.add_text("note", bytes(range(256)).hex() * 4)
    noisy = png_bytes(Image.open(io.BytesIO(cat_rgba)), pnginfo=info)
    expected = to_bitmap(cat_rgba)
    monkeypatch.setattr(png.pyspng, "load", lambda *a, **k: pytest.fail("libspng"))
    assert np.array_equal(to_bitmap(noisy), expected)


# --- what is refused ------------------------------------------------------------------------


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ImageTooLarge, match="too large"):
        to_bitmap(declared_png(100_000, 100_000))
    with pytest.raises(ImageTooLarge):
        to_bitmap(declared_png(10_000, 10))


def test_too_many_bytes_is_refused():
    with pytest.raises(ImageTooLarge):
        to_bitmap(SIGNATURE + b"\0" * MAX_PNG_BYTES)


@pytest.mark.parametrize("fmt", ["JPEG", "GIF", "BMP", "WEBP"])
def test_other_image_formats_are_refused(fmt):
    image = Image.new("RGB", (50, 50), "white")
    with pytest.raises(NotAnImage, match="PNG"):
        to_bitmap(encoded(image, fmt))


def test_svg_and_random_bytes_are_refused():
    for data in (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', bytes(range(256)) * 4):
        with pytest.raises(NotAnImage):
            to_bitmap(data)


def test_truncated_png_is_refused(cat_rgba):
    with pytest.raises(NotAnImage, match="damaged"):
        to_bitmap(cat_rgba[: len(cat_rgba) // 2])


def test_animated_png_is_refused():
    frames = [Image.new("RGBA", (40, 40), (0, 0, 0, 0)), Image.new("RGBA", (40, 40), "black")]
    animation = png_bytes(frames[0], save_all=True, append_images=frames[1:])
    with pytest.raises(NotAnImage, match="animation"):
        to_bitmap(animation)


def test_all_errors_share_one_base_class():
    for error in (NotAnImage, ImageTooLarge, BlankDrawing):
        assert issubclass(error, SketchError)
