"""An answer's explanation as the results page and the JSON API show it: the gallery's drawings
as small pictures, and the heat map drawn over the person's drawing in the page's colours.

The numbers come from ``sketch_model.inference.explain``; this module only draws them.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from sketch_model.inference.explain import Explanation
from sketch_model.inference.gallery import Gallery

from .payload import bitmap_url

PAPER = (255, 253, 249)  # the page's --paper
INK = (31, 35, 40)       # the page's --ink
HEAT = (196, 80, 44)     # the page's --accent-strong
SCALE = 8                # the heat map's picture: 28 x 8 = 224 px a side
HEAT_OPACITY = 0.8       # of the hottest part; the ink stays on top, fully visible


def others_json(explanation: Explanation, gallery: Gallery | None) -> list[dict]:
    """The weighed classes' nearest drawings, the guess's first: [{"label", "image"}]."""
    if gallery is None:
        return []
    return [{"label": label, "image": drawing_url(gallery.bitmaps[row])}
            for label in explanation.weighed for row in explanation.others.get(label, [])]


def others_rows(explanation: Explanation, gallery: Gallery | None) -> list[dict]:
    """Every class's nearest drawings for the page, the weighed classes first:
    [{"label", "weighed", "images": [data URL...]}]."""
    if gallery is None:
        return []
    return [{"label": label, "weighed": label in explanation.weighed,
             "images": [drawing_url(gallery.bitmaps[row]) for row in rows]}
            for label, rows in explanation.others.items()]


def drawing_url(bitmap: np.ndarray) -> str:
    """A 28x28 dataset bitmap (ink bright on black) as dark ink on paper, a PNG data URL."""
    ink = np.asarray(bitmap, dtype=np.float32)[..., None] / 255.0
    colours = (1 - ink) * np.array(PAPER) + ink * np.array(INK)
    return bitmap_url(colours.round().astype(np.uint8))


def heatmap_url(bitmap: np.ndarray, heatmap: np.ndarray) -> str:
    """The model's input drawn as dark ink on paper, SCALE times larger, with the heat map
    under the ink in the page's accent, as a PNG data URL."""
    side = bitmap.shape[0] * SCALE
    heat = np.asarray(Image.fromarray((np.clip(heatmap, 0, 1) * 255).astype(np.uint8)).resize(
        (side, side), Image.Resampling.BILINEAR), dtype=np.float32)[..., None] / 255.0
    ink = np.asarray(Image.fromarray(np.asarray(bitmap, np.uint8)).resize(
        (side, side), Image.Resampling.BILINEAR), dtype=np.float32)[..., None] / 255.0
    under = (1 - heat * HEAT_OPACITY) * np.array(PAPER) + heat * HEAT_OPACITY * np.array(HEAT)
    colours = (1 - ink) * under + ink * np.array(INK)
    return bitmap_url(colours.round().astype(np.uint8))


def heatmap_json(heatmap: np.ndarray) -> list[list[float]]:
    """28 rows of 28 numbers in 0..1, rounded to three places."""
    return np.round(np.asarray(heatmap, dtype=np.float64), 3).tolist()

