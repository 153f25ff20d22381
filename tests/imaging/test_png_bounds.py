"""The memory bound on decoding, checked structurally: a picture larger than our limits is
refused on its declared size, before Pillow or libspng inflates anything; one at the limit is
decoded at its declared size. Some of these were found by the fuzzing in ``test_fuzz.py``."""

import base64
import tracemalloc

import pytest
from PIL import Image, ImageDraw

from sketch_model.imaging import png
from sketch_model.imaging.errors import ImageTooLarge, NotAnImage
from sketch_model.imaging.png import MAX_SIDE
from sketch_model.imaging.restroke import to_bitmap
from testkit.drawings import png_bytes
from testkit.pngs import declared_png, decoders_watched, long_transparency, outcome


def test_a_declared_bomb_is_refused_before_pillow_opens_it(monkeypatch):
    opened = []
    monkeypatch.setattr(png.Image, "open", lambda *a, **k: opened.append(a) or 1 / 0)
    bomb = declared_png(100_000, 100_000)
    tracemalloc.start()
    try:
        with pytest.raises(ImageTooLarge, match="too large"):
            to_bitmap(bomb)
        with pytest.raises(ImageTooLarge):
            to_bitmap(base64.b64decode(base64.b64encode(bomb)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert opened == []  # refused on the IHDR alone: Pillow never saw it (tracemalloc does
    assert peak < 50 * 2**20, peak  # not see Pillow's own C allocations, hence the spy too)


def test_a_second_ihdr_cannot_smuggle_a_bomb_past_the_size_check():
    """Found while hardening (the fuzzing repeats and inserts IHDR chunks too): Pillow believes
    the last IHDR, the size check read the first. A small PNG (IHDR 1x1, then IHDR 9000x9000
    and zeros) made one request inflate hundreds of MB; now it is refused before anything is
    decoded."""
    for first, size in (((1, 1), (9000, 9000)), ((64, 64), (5000, 5000)), ((64, 64), (64, 65))):
        smuggler = declared_png(*size, first=first, full=size[0] * size[1] <= 25_000_000)
        with decoders_watched() as decoded:
            with pytest.raises(NotAnImage, match="damaged"):
                to_bitmap(smuggler)
        assert decoded == []


def test_the_largest_accepted_picture_is_decoded_at_its_declared_size():
    """The other side of the bound: a picture at the limit is decoded, and at that size."""
    wide = Image.new("LA", (MAX_SIDE, 8), (0, 0))
    wide.paste((0, 255), (100, 2, MAX_SIDE - 100, 6))
    with decoders_watched() as decoded:
        assert outcome(png_bytes(wide)) == "bitmap"
    assert decoded == [(MAX_SIDE, 8)]
    with decoders_watched() as decoded, pytest.raises(ImageTooLarge):
        to_bitmap(png_bytes(Image.new("L", (MAX_SIDE + 1, 8))))
    assert decoded == []


def test_a_transparency_table_longer_than_the_palette_is_a_damaged_png():
    """Found by this fuzzing: a palette PNG whose tRNS chunk has more entries than its PLTE
    opens and decodes, then Pillow's convert("RGBA") raised a bare ValueError ("palette index
    out of range"), which the app would have answered with a 500."""
    grey = Image.new("L", (32, 24), 255)
    ImageDraw.Draw(grey).line((2, 2, 30, 20), fill=0, width=2)
    with pytest.raises(NotAnImage, match="damaged"):
        to_bitmap(long_transparency(grey))
