"""Synthetic drawings of nothing in particular: scribbles, lines and plain shapes.

People test a recogniser with scrawls, a circle, a few lines or a box, and the honest answer to
those is "I'm not sure". The "other" class learns that from drawings of other QuickDraw
categories; these add the shapeless end of the range, which no category covers. They are
rendered like the dataset (``sketch_model.imaging.render``), so only their content is new.

Nothing here imitates a particular category: each drawing is one to four random primitives.
"""

from __future__ import annotations

import math
import random

import numpy as np

from ..facts import PIXELS
from ..imaging.render import Stroke, render_quickdraw


def scribbles(count: int, seed: int) -> np.ndarray:
    """``count`` synthetic drawings as (count, 784) uint8 rows, the same for the same seed."""
    rows = np.empty((count, PIXELS), dtype=np.uint8)
    for number in range(count):
        rng = random.Random(f"scribble-{seed}-{number}")
        rows[number] = render_quickdraw(drawing(rng)).reshape(PIXELS)
    return rows


def drawing(rng: random.Random) -> list[Stroke]:
    """One to four random primitives, each placed and sized at random on a 256-unit page."""
    strokes: list[Stroke] = []
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        strokes += rng.choice(PRIMITIVES)(rng)
    return strokes


def _box(rng):
    """A random region of the page: centre x, centre y, half width, half height."""
    return (rng.uniform(50, 206), rng.uniform(50, 206), rng.uniform(15, 110),
            rng.uniform(15, 110))


def _wobble(rng, points: Stroke, amount: float) -> Stroke:
    return [(x + rng.gauss(0, amount), y + rng.gauss(0, amount)) for x, y in points]


def scrawl(rng) -> list[Stroke]:
    """A smooth wandering line, possibly long and looping."""
    x, y = rng.uniform(30, 226), rng.uniform(30, 226)
    heading, step = rng.uniform(0, 2 * math.pi), rng.uniform(6, 16)
    turn = rng.uniform(0.2, 1.0)
    points = [(x, y)]
    for _ in range(rng.randint(8, 60)):
        heading += rng.uniform(-turn, turn)
        x, y = x + step * math.cos(heading), y + step * math.sin(heading)
        points.append((x, y))
    return [points]


def zigzag(rng) -> list[Stroke]:
    """Back-and-forth strokes, like hatching or crossing something out."""
    cx, cy, w, h = _box(rng)
    teeth = rng.randint(2, 12)
    angle = rng.uniform(0, math.pi)
    cos, sin = math.cos(angle), math.sin(angle)
    points = []
    for i in range(teeth + 1):
        u, v = -w + 2 * w * i / teeth, h if i % 2 else -h
        points.append((cx + u * cos - v * sin, cy + u * sin + v * cos))
    return [_wobble(rng, points, 3)]


def lines(rng) -> list[Stroke]:
    """A few straight lines anywhere."""
    return [[(rng.uniform(0, 255), rng.uniform(0, 255)) for _ in range(2)]
            for _ in range(rng.randint(1, 5))]


def polygon(rng) -> list[Stroke]:
    """A closed shape with three to eight corners, regular-ish or not."""
    cx, cy, w, h = _box(rng)
    corners = rng.randint(3, 8)
    start = rng.uniform(0, 2 * math.pi)
    points = []
    for i in range(corners):
        angle = start + 2 * math.pi * (i + rng.uniform(-0.3, 0.3)) / corners
        reach = rng.uniform(0.6, 1.0)
        points.append((cx + w * reach * math.cos(angle), cy + h * reach * math.sin(angle)))
    return [points + points[:1]]


def ellipse(rng) -> list[Stroke]:
    """A circle or an oval, sometimes not quite closed."""
    cx, cy, w, h = _box(rng)
    start = rng.uniform(0, 360)
    sweep = rng.choice((360, 360, rng.uniform(180, 340)))
    steps = 28
    points = [(cx + w * math.cos(math.radians(start + sweep * i / steps)),
               cy + h * math.sin(math.radians(start + sweep * i / steps)))
              for i in range(steps + 1)]
    return [_wobble(rng, points, 2)]


def spiral(rng) -> list[Stroke]:
    """A coil winding out from a point."""
    cx, cy, w, _ = _box(rng)
    turns = rng.uniform(1.5, 4)
    steps = int(turns * 20)
    direction = rng.choice((-1, 1))
    return [[(cx + w * i / steps * math.cos(direction * 2 * math.pi * turns * i / steps),
              cy + w * i / steps * math.sin(direction * 2 * math.pi * turns * i / steps))
             for i in range(1, steps + 1)]]


def dots(rng) -> list[Stroke]:
    """Scattered dots and dashes."""
    strokes = []
    for _ in range(rng.randint(3, 12)):
        x, y = rng.uniform(0, 255), rng.uniform(0, 255)
        strokes.append([(x, y), (x + rng.uniform(-12, 12), y + rng.uniform(-12, 12))])
    return strokes


PRIMITIVES = (scrawl, scrawl, zigzag, lines, polygon, polygon, ellipse, spiral, dots)
