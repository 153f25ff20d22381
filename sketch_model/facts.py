"""How the QuickDraw bitmaps were made, stated once (ARCHITECTURE.md, "Facts about QuickDraw
data"); every module that draws, reads or feeds a bitmap asks here.

A simplified drawing (top-left at 0, longest side 255 units) was centred in a 256-unit box,
padded by 16 units on each side, stroked with round lines 16 units wide (so half a line more
of room), and sampled at 28x28: one pixel is 304 / 28 units.
"""

from __future__ import annotations

import numpy as np

SIDE = 28  # the bitmap is SIDE x SIDE pixels, one channel
PIXELS = SIDE * SIDE  # one row of a numpy_bitmap file
SHAPE = (SIDE, SIDE, 1)  # one bitmap as the network takes it

DRAWING_UNITS = 255  # the simplified drawing's longest side
BOX_UNITS = 256  # the box it is centred in
PADDING_UNITS = 16  # around the box, on each side
LINE_UNITS = 16  # the stroke's width
FRAME_UNITS = BOX_UNITS + 2 * PADDING_UNITS + LINE_UNITS  # the whole bitmap, 304 units
PIXELS_PER_UNIT = SIDE / FRAME_UNITS

SKELETON_SPAN = DRAWING_UNITS * PIXELS_PER_UNIT  # the drawing's longest side, in px (23.5)
STROKE_WIDTH = LINE_UNITS * PIXELS_PER_UNIT  # the line's width, in px (1.47)


def as_batch(bitmaps) -> np.ndarray:
    """Bitmaps in any layout of whole 28x28 pictures as the float32 (N, 28, 28, 1) batch the
    network takes."""
    return np.asarray(bitmaps, dtype=np.float32).reshape(-1, *SHAPE)


def mirrored(batch: np.ndarray) -> np.ndarray:
    """Each drawing of an (N, 28, 28, 1) batch flipped left to right.

    The mirror rule: a drawing and its mirror image are the same thing (a cat facing left is a
    cat), so the model answers with the mean over both, and batch norm is measured on both.
    """
    return batch[:, :, ::-1]
