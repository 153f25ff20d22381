"""Drawings for tests and benchmarks: hand-made stroke sets, the typical drawing, data URLs,
and (re-exported) the product's renderers.

``render_quickdraw`` (``sketch_model.imaging.render``) makes a drawing's 28x28 bitmap exactly
the way the official files were made: the reference the canvas preprocessing must match.
``render_canvas`` and ``page_png`` (``sketch_model.imaging.canvas``) draw strokes as a browser
canvas exports them and as static/js/draw.js sends them.
"""

from __future__ import annotations

import math
import random
from functools import lru_cache

import numpy as np

from sketch_model.imaging.canvas import canvas_from_bitmap, page_png, png_bytes, render_canvas
from sketch_model.imaging.render import normalise, render_quickdraw
from web.payload import png_url

__all__ = ["ANIMALS", "Stroke", "canvas_from_bitmap", "cat_png", "data_url", "mae",
           "normalise", "page_png", "png_bytes", "random_strokes", "render_canvas",
           "render_quickdraw"]

Stroke = list[tuple[float, float]]


# --- stroke sets -------------------------------------------------------------------------

def _ellipse(cx, cy, rx, ry, start=0.0, end=360.0, steps=24) -> Stroke:
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start, end, steps)]


def _wave(x0, y0, x1, y1, amplitude, waves=2, steps=16) -> Stroke:
    length = math.hypot(x1 - x0, y1 - y0)
    nx, ny = -(y1 - y0) / length, (x1 - x0) / length
    return [(x0 + (x1 - x0) * t + nx * amplitude * math.sin(2 * math.pi * waves * t),
             y0 + (y1 - y0) * t + ny * amplitude * math.sin(2 * math.pi * waves * t))
            for t in np.linspace(0, 1, steps)]


def cat() -> list[Stroke]:
    """A cat's face, the way most people draw one: round head, pointed ears, whiskers."""
    return [
        _ellipse(128, 140, 90, 80, steps=32),
        [(55, 95), (60, 20), (105, 62)],
        [(150, 62), (196, 20), (201, 95)],
        _ellipse(95, 125, 9, 12, steps=10),
        _ellipse(161, 125, 9, 12, steps=10),
        [(120, 158), (128, 166), (136, 158)],
        [(128, 166), (128, 178)],
        [(110, 160), (40, 145)], [(110, 168), (38, 172)],
        [(146, 160), (216, 145)], [(146, 168), (218, 172)],
    ]


def fish() -> list[Stroke]:
    """A fish facing left: oval body, triangle tail, eye, a fin."""
    return [
        _ellipse(110, 128, 95, 55, steps=32),
        [(200, 128), (250, 80), (250, 176), (200, 128)],
        _ellipse(55, 115, 6, 6, steps=8),
        [(100, 73), (125, 45), (150, 78)],
        [(130, 100), (150, 128), (130, 156)],
    ]


def bird() -> list[Stroke]:
    """A bird in profile: body, head, beak, wing, legs."""
    return [
        _ellipse(130, 140, 80, 50, steps=28),
        _ellipse(60, 80, 32, 30, steps=20),
        [(30, 72), (2, 82), (30, 90)],
        _ellipse(55, 74, 4, 4, steps=6),
        [(105, 130), (150, 105), (190, 135), (150, 145), (105, 130)],
        [(120, 188), (115, 240)], [(150, 188), (155, 240)],
        [(210, 140), (255, 120), (250, 160), (210, 150)],
    ]


def octopus() -> list[Stroke]:
    """An octopus: round head with eyes and eight wavy arms."""
    strokes = [_ellipse(128, 80, 75, 70, start=160, end=380, steps=28),
               _ellipse(100, 75, 10, 12, steps=8), _ellipse(156, 75, 10, 12, steps=8)]
    for i in range(8):
        x = 60 + i * 19.5
        strokes.append(_wave(x, 112, x + (i - 3.5) * 12, 250, amplitude=8, waves=1.5))
    return strokes


def camel() -> list[Stroke]:
    """A camel in profile: two humps, long neck, small head, four legs."""
    return [
        [(40, 150), (60, 95), (85, 70), (110, 100), (130, 75), (160, 60), (185, 100),
         (200, 140), (190, 160), (45, 160), (40, 150)],
        [(200, 140), (220, 90), (225, 60), (250, 58), (255, 70), (235, 78), (222, 140)],
        [(60, 160), (58, 240)], [(85, 160), (87, 240)],
        [(160, 160), (158, 240)], [(185, 160), (190, 240)],
        [(40, 150), (25, 185)],
    ]


def dog() -> list[Stroke]:
    """A dog's face: head, floppy ears, snout, tongue."""
    return [
        _ellipse(128, 130, 75, 85, steps=32),
        [(62, 80), (20, 100), (25, 190), (65, 160)],
        [(194, 80), (236, 100), (231, 190), (191, 160)],
        _ellipse(100, 110, 8, 10, steps=8), _ellipse(156, 110, 8, 10, steps=8),
        _ellipse(128, 160, 16, 11, steps=12),
        [(128, 171), (128, 195)], [(105, 190), (128, 200), (151, 190)],
        _ellipse(128, 210, 10, 14, start=0, end=180, steps=10),
    ]


ANIMALS = {"cat": cat, "dog": dog, "fish": fish, "bird": bird, "octopus": octopus,
           "camel": camel}


def random_strokes(seed: int) -> list[Stroke]:
    """A random sketch of 1..6 strokes: smooth curves, polylines and loops."""
    rng = random.Random(seed)
    strokes = []
    for _ in range(rng.randint(1, 6)):
        kind = rng.choice(["curve", "polyline", "loop"])
        if kind == "loop":
            strokes.append(_ellipse(rng.uniform(40, 216), rng.uniform(40, 216),
                                    rng.uniform(10, 100), rng.uniform(10, 100),
                                    steps=rng.randint(8, 30)))
        elif kind == "polyline":
            strokes.append([(rng.uniform(0, 255), rng.uniform(0, 255))
                            for _ in range(rng.randint(2, 6))])
        else:
            x, y, heading = rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 2 * math.pi)
            points = [(x, y)]
            for _ in range(rng.randint(5, 25)):
                heading += rng.uniform(-0.6, 0.6)
                x, y = x + 12 * math.cos(heading), y + 12 * math.sin(heading)
                points.append((x, y))
            strokes.append(points)
    return strokes


# --- the typical drawing, and how it travels -----------------------------------------------

@lru_cache(maxsize=None)
def cat_png(canvas: int = 400) -> bytes:
    """The typical drawing as a canvas exports it (8-bit RGBA): the cat drawn with an 8 px pen,
    70% of a transparent ``canvas`` px square."""
    return render_canvas(cat(), canvas=canvas, pen=8, size=0.7)


def data_url(data: bytes, mime: str = "image/png") -> str:
    """``data`` as a base64 data URL, as a canvas makes one (``mime`` to label it otherwise)."""
    return png_url(data).replace("image/png", mime, 1)


def mae(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two bitmaps, in levels of 255: how far apart they look."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
