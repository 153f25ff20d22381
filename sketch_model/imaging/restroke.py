"""Turn ink on a canvas into the 28x28 picture a QuickDraw model was trained on.

The official bitmaps were rendered from stroke skeletons: the drawing's longest side scaled to
255 of 304 units, centred, and stroked with round 16-unit lines, then sampled at 28x28
(``facts``). A canvas has only pixels, drawn with any pen width at any size. So we:

1. crop to the ink's bounding box and estimate the pen width there,
2. map the stroke skeleton's longest side onto the dataset's span, centred, by area-averaging
   onto a 4x oversampled frame,
3. re-stroke to the dataset's line width with a distance transform (thicken thin pens, thin
   thick ones), and
4. area-average down to 28x28.

``to_bitmap`` is the one preprocessing of the product: the web app, the evaluation of the app's
path and the benchmarks all call it; nothing here writes to disk.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from ..facts import SIDE, SKELETON_SPAN, STROKE_WIDTH
from .errors import BlankDrawing
from .png import read_ink

# Re-stroking works on a frame OVERSAMPLE times finer than 28x28, with a margin so that strokes
# still too thick before thinning are not cut by the frame's edge.
OVERSAMPLE = 4
_MARGIN = 2  # px at 28x28, on each side
_WORK = (SIDE + 2 * _MARGIN) * OVERSAMPLE
# Re-stroking grows lines by 1 + (STROKE_WIDTH * OVERSAMPLE - width) / 2 < 3.2 work px at most
# (the measured width is at least 1.5), and distances are exact within the ink's bounding box
# plus this much background around it.
_WINDOW_PAD = 8

_NEIGHBOURS = np.ones((3, 3), np.uint8)  # a pixel and its 8 neighbours
_INK_LEVEL = 40  # of 255: fainter pixels are antialiasing fringe or noise, not ink
_DOT_SHARE = 0.1  # a blob this small against the canvas, no longer than 2.5 pen widths, is a dot


def to_bitmap(png: bytes) -> np.ndarray:
    """Return the drawing in ``png`` as a QuickDraw-style 28x28 uint8 bitmap, ink 255 on 0."""
    return restroke(read_ink(png))


def restroke(ink: np.ndarray) -> np.ndarray:
    """The 28x28 bitmap of ``ink`` (0..255 per pixel): cropped, scaled, centred and re-stroked
    the way the dataset was drawn (BlankDrawing when there is nothing to recognise)."""
    peak = int(ink.max())
    if peak <= _INK_LEVEL:
        raise BlankDrawing()
    # The crop keeps the faint antialiased fringe; the drawing's extent and centre are measured
    # at half the peak ink, where the edge of an antialiased stroke really is.
    top, bottom, left, right = _bounds(ink, _INK_LEVEL)
    crop = ink[top:bottom, left:right]
    edge = peak // 2
    e_top, e_bottom, e_left, e_right = _bounds(crop, edge)
    pen = _pen_width(crop, edge)
    extent = max(e_bottom - e_top, e_right - e_left)
    if extent < 3 or (extent <= 2.5 * pen and extent <= _DOT_SHARE * max(ink.shape)):
        raise BlankDrawing("Draw something first: a dot is not enough to recognise.")
    centre = ((e_top + e_bottom) / 2, (e_left + e_right) / 2)

    # The outline-based pen width is a first guess (solid blobs inflate it); the ridge of the
    # distance transform on the work frame measures it properly, so one more pass settles it.
    for _ in range(2):
        scale = SKELETON_SPAN / max(extent - pen, 1.0)
        frame = _onto_work_frame(crop, centre, px_per_source_px=scale)
        mask, inside, width = _ink_and_width(frame)
        measured = width / (OVERSAMPLE * scale)
        if abs(measured - pen) < 0.01 * extent:
            break
        pen = measured
    cover = _restroke(mask, inside, width)
    margin = _MARGIN * OVERSAMPLE
    inner = cover[margin:-margin, margin:-margin]
    small = cv2.resize(inner, (SIDE, SIDE), interpolation=cv2.INTER_AREA)  # 4x4 box means
    return np.rint(small * 255).astype(np.uint8)


def _bounds(ink: np.ndarray, level: int) -> tuple[int, int, int, int]:
    """Top, bottom, left, right (exclusive) of the pixels above ``level``."""
    rows = np.flatnonzero(ink.max(axis=1) > level)
    cols = np.flatnonzero(ink[rows[0]:rows[-1] + 1].max(axis=0) > level)
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def _pen_width(crop: np.ndarray, edge: int) -> float:
    """Average stroke width in source pixels: twice the ink area over the outline length."""
    mask = crop > edge
    crossings = (np.count_nonzero(mask[:, 1:] != mask[:, :-1])
                 + np.count_nonzero(mask[1:] != mask[:-1])
                 + np.count_nonzero(mask[[0, -1]]) + np.count_nonzero(mask[:, [0, -1]]))  # edges
    outline = crossings * math.pi / 4  # grid-step length -> Euclidean, averaged over directions
    area = crop.sum(dtype=np.float64) / float(crop.max())
    return max(2.0 * area / outline, 1.0)


def _onto_work_frame(crop: np.ndarray, centre: tuple[float, float],
                     px_per_source_px: float) -> np.ndarray:
    """Area-average the crop onto the oversampled frame, ``centre`` in the middle (0..1)."""
    span = _WORK / (OVERSAMPLE * px_per_source_px)  # source px seen by the whole work frame
    height, width = crop.shape
    cy, cx = centre
    half = int(math.ceil(max(span / 2, cy, height - cy, cx, width - cx))) + 2
    padded = np.zeros((2 * half, 2 * half), dtype=np.uint8)
    y0, x0 = half - round(cy), half - round(cx)
    padded[y0:y0 + height, x0:x0 + width] = crop
    cy, cx = y0 + cy, x0 + cx
    box = (cx - span / 2, cy - span / 2, cx + span / 2, cy + span / 2)
    method = Image.Resampling.BOX if span >= _WORK else Image.Resampling.BILINEAR
    work = Image.fromarray(padded).resize((_WORK, _WORK), method, box=box)
    return np.asarray(work, dtype=np.float32) / 255.0


def _ink_and_width(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The ink mask, each ink pixel's distance to the background, and the typical line width.

    The width is read on the ridge of the distance transform (the stroke centre lines), whose
    median ignores the blobs where strokes cross or were filled in. Distances inside the ink
    depend only on the ink's window (its bounding box and a ring of background), so that is all
    the transform sees.
    """
    mask = frame >= 0.35 * frame.max()
    # The frame's outermost pixels are background, so that even ink filling the whole frame
    # (a filled-in shape, blown up by its huge first pen-width guess) has finite distances.
    mask[[0, -1]] = mask[:, [0, -1]] = False
    window = _ink_window(mask)
    inside = np.zeros(mask.shape, np.float32)
    part = inside[window] = _distance_to_background(mask[window])
    # Local maxima. OpenCV's float32 distances may differ in the last bit for equal exact
    # distances, and distinct ones (square roots of whole numbers) are > 0.005 apart here.
    ridge = mask[window] & (part >= cv2.dilate(part, _NEIGHBOURS) - 1e-4)
    width = 2.0 * float(np.median(part[ridge])) - 0.5  # a band n px wide: ridge ~(n + 0.5)/2
    return mask, inside, width


def _restroke(mask: np.ndarray, inside: np.ndarray, width: float) -> np.ndarray:
    """Redraw the strokes at the dataset's line width, as pixel coverage (0..1).

    The outline of the ink is moved in or out by a signed distance, measured with an exact
    Euclidean distance transform, so lines keep their shape and round ends. Growing reaches
    less than ``_WINDOW_PAD`` px past the ink, so the outside distance is only measured there.
    """
    grow = (STROKE_WIDTH * OVERSAMPLE - width) / 2.0
    if grow >= 0:
        window = _ink_window(mask)
        cover = np.zeros(mask.shape, np.float32)
        outside = _distance_to_background(~mask[window])
        cover[window] = np.clip(1.0 + grow - outside, 0.0, 1.0)
        return cover
    return np.clip(inside + grow, 0.0, 1.0)


def _distance_to_background(mask: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance from each True pixel to the nearest False one (0 on False).

    OpenCV's precise mode is the exact transform of Felzenszwalb and Huttenlocher, SciPy's
    ``distance_transform_edt`` distances (to float32 precision) in a third of the time.
    """
    return cv2.distanceTransform(mask.view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def _ink_window(mask: np.ndarray) -> tuple[slice, slice]:
    """The bounding box of ``mask`` grown by ``_WINDOW_PAD`` px, clipped to the frame."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    height, width = mask.shape
    return (slice(max(rows[0] - _WINDOW_PAD, 0), min(rows[-1] + 1 + _WINDOW_PAD, height)),
            slice(max(cols[0] - _WINDOW_PAD, 0), min(cols[-1] + 1 + _WINDOW_PAD, width)))
