"""Where the model looked: which parts of a drawing pushed its answer towards a class.

Occlusion, through the served model itself: each square patch of the 28x28 bitmap that holds
ink is hidden in turn (set to the paper's black), and the drop in the class's probability (the
app's, with class bias and temperature) is credited to the patch's pixels. A pixel's heat is
the mean drop over the patches that cover it, scaled so the hottest is 1. Patches without ink
are skipped: hiding paper changes nothing, and skipping them keeps the cost to a few dozen
runs of the export.

A drawing the model is very sure of may lose no visible probability to any small patch (the
export's probabilities come in steps of 1/256): then larger patches are tried.
"""

from __future__ import annotations

import numpy as np

from ..facts import SIDE, as_batch
from .classifier import Classifier

SCALES = ((8, 4), (12, 4))  # (side, step) of the hidden squares, in pixels, tried in turn
INK = 16  # a pixel at least this bright is ink (the dataset's lines fade out below it)


def patches(size: int, step: int, side: int = SIDE) -> list[tuple[int, int]]:
    """Top-left corners of ``size`` squares every ``step`` pixels, the last row and column
    flush with the edge."""
    starts = list(range(0, side - size + 1, step))
    if starts[-1] != side - size:
        starts.append(side - size)
    return [(top, left) for top in starts for left in starts]


def occlusion_map(classifier: Classifier, bitmap: np.ndarray, label: str) -> np.ndarray:
    """Heat over ``bitmap`` (28x28 uint8, ink bright on black) for class ``label``: 28x28
    numbers in 0..1, 1 where hiding the drawing lowered the class's probability most, 0
    where hiding it did not lower it (or raised it)."""
    column = classifier.classes.index(label)
    bitmap = np.asarray(bitmap, dtype=np.uint8)
    whole = _probabilities(classifier, bitmap[np.newaxis])[0, column]
    for size, step in SCALES:
        heat = _heat(classifier, bitmap, column, whole, size, step)
        if heat.max() > 0:
            return (heat / heat.max()).astype(np.float32)
    return np.zeros(bitmap.shape, np.float32)  # no part of the drawing counted


def _heat(classifier: Classifier, bitmap: np.ndarray, column: int, whole: float, size: int,
          step: int) -> np.ndarray:
    """Mean probability drop per pixel over the inked ``size`` patches that cover it."""
    inked = [(top, left) for top, left in patches(size, step, bitmap.shape[0])
             if bitmap[top:top + size, left:left + size].max() >= INK]
    heat = np.zeros(bitmap.shape, np.float64)
    if not inked:
        return heat
    hidden = np.repeat(bitmap[np.newaxis], len(inked), axis=0)
    for copy, (top, left) in zip(hidden, inked):
        copy[top:top + size, left:left + size] = 0
    drops = np.maximum(whole - _probabilities(classifier, hidden)[:, column], 0.0)
    cover = np.zeros(bitmap.shape, np.float64)
    for drop, (top, left) in zip(drops, inked):
        heat[top:top + size, left:left + size] += drop
        cover[top:top + size, left:left + size] += 1
    return np.divide(heat, cover, out=np.zeros_like(heat), where=cover > 0)


def _probabilities(classifier: Classifier, bitmaps: np.ndarray) -> np.ndarray:
    """The app's probabilities for a few bitmaps, one at a time through the runtime's call for
    one drawing (as ``classify`` makes it): the LiteRT export's only call, and for a model
    served by TensorFlow its traced function, never ``model.predict`` in a request."""
    return classifier.adjusted(np.stack([classifier.runtime.single(as_batch(bitmap))
                                         for bitmap in bitmaps]))
