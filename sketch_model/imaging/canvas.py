"""Stroke drawings as the app receives them: PNGs of a browser canvas.

``render_canvas`` draws strokes the way ``canvas.toDataURL("image/png")`` returns them: black,
antialiased, round caps and joins, on a transparent canvas of any size and pen width;
``page_png`` turns such a canvas into the greyscale PNG that ``static/js/draw.js`` sends;
``random_canvas`` picks the canvas, pen, size and place a person might have used. The
evaluation measures the model through this path (``to_bitmap`` of these PNGs), and the tests
and benchmarks draw with it.
"""

from __future__ import annotations

import io
import random
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw

from ..facts import SIDE
from .png import PNG_SIGNATURE
from .render import Stroke, normalise


def render_canvas(strokes: list[Stroke], canvas: int = 400, pen: float = 8, size: float = 0.7,
                  centre: tuple[float, float] = (0.5, 0.5), ink=(0, 0, 0)) -> bytes:
    """PNG bytes of the strokes drawn on a ``canvas`` px square, as a browser would export it.

    ``size`` is the drawing's longest side as a share of the canvas, ``centre`` its centre as
    shares of the canvas; the canvas stays transparent, as the app's is.
    """
    supersample = 4
    simplified = normalise(strokes)
    extent = np.vstack(simplified).max(axis=0)
    scale = size * canvas / 255.0
    shift = np.asarray(centre) * canvas - extent * scale / 2
    big = Image.new("L", (canvas * supersample, canvas * supersample), 0)
    draw = ImageDraw.Draw(big)
    width = max(1, round(pen * supersample))
    for stroke in simplified:
        xy = [tuple(p) for p in (stroke * scale + shift) * supersample]
        if len(xy) > 1:
            draw.line(xy, fill=255, width=width, joint="curve")
        r = width / 2
        for x, y in (xy[0], xy[-1]) if len(xy) > 1 else xy:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    alpha = big.resize((canvas, canvas), Image.Resampling.BOX)
    picture = Image.new("RGBA", (canvas, canvas), tuple(ink) + (0,))
    picture.putalpha(alpha)
    return png_bytes(picture)


def page_png(canvas_png: bytes) -> bytes:
    """The PNG draw.js sends for a canvas: its alpha channel as 8-bit grey, black ink on white,
    in a one-pixel ring of white, rows unfiltered and deflated (draw.js ``pictureUrl``)."""
    alpha = np.pad(np.asarray(Image.open(io.BytesIO(canvas_png)).getchannel("A")), 1)
    height, width = alpha.shape
    rows = np.zeros((height, width + 1), np.uint8)  # filter type 0, then the row
    rows[:, 1:] = 255 - alpha
    return (PNG_SIGNATURE
            + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(rows.tobytes())) + png_chunk(b"IEND", b""))


def random_canvas(strokes: list[Stroke], rng: random.Random) -> bytes:
    """The strokes as one person's browser might send them: a canvas of 300 to 800 px, a pen
    of 2 to 16 px, the drawing 30% to 90% of the canvas wide, off-centre; half of them as the
    page's greyscale PNG, half as the canvas's own RGBA export."""
    size = rng.uniform(0.3, 0.9)
    slack = (1 - size) / 2
    centre = (0.5 + rng.uniform(-slack, slack), 0.5 + rng.uniform(-slack, slack))
    png = render_canvas(strokes, canvas=rng.randint(300, 800), pen=rng.uniform(2, 16),
                        size=size, centre=centre)
    return page_png(png) if rng.random() < 0.5 else png


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, payload and its CRC."""
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_bytes(image: Image.Image, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **params)
    return buffer.getvalue()


def canvas_from_bitmap(bitmap: np.ndarray, canvas: int = 500, size: float = 0.6,
                       corner: tuple[float, float] = (0.1, 0.3)) -> bytes:
    """A 28x28 dataset bitmap enlarged and inverted onto a black-on-transparent canvas PNG.

    The bitmap becomes a square ``size`` of the canvas wide with its top-left at ``corner``
    (shares of the canvas), as a person would draw somewhere on the page: the nearest a
    drawing known only as a bitmap gets to the app's path.
    """
    side = round(size * canvas)
    alpha = Image.new("L", (canvas, canvas), 0)
    alpha.paste(Image.fromarray(np.asarray(bitmap).reshape(SIDE, SIDE)).resize(
        (side, side), Image.Resampling.BICUBIC),
        (round(corner[0] * canvas), round(corner[1] * canvas)))
    picture = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    picture.putalpha(alpha)
    return png_bytes(picture)
