"""How often a model admits it does not know, measured the way people meet it: as canvases.

``evaluate.rejection`` runs the held-out categories' 28x28 bitmaps through the classifier.
People send canvas PNGs instead, so here each held-out stroke drawing is drawn as a browser
would (``canvas.random_canvas``: a random canvas, pen, size and place), turned back into the
model's input by the app's own ``imaging.restroke.to_bitmap``, and classified. The classes have no
stroke drawings in the data, so their test-split bitmaps are enlarged onto a canvas instead
(``canvas.canvas_from_bitmap``, at a random size and place): the nearest a bitmap gets to
the app's path.
"""

from __future__ import annotations

import random

import numpy as np

from ..facts import SHAPE, SIDE
from ..imaging.canvas import canvas_from_bitmap, random_canvas
from ..imaging.errors import BlankDrawing
from ..imaging.render import as_points
from ..imaging.restroke import to_bitmap
from ..inference.classifier import Classifier
from .dataset import Dataset
from .metrics import holdout_rates

PER_CLASS = 150  # test drawings of each class redrawn on a canvas


def app_path(classifier: Classifier, data: Dataset, seed: int = 0,
             per_class: int = PER_CLASS) -> dict:
    """The rejection and accuracy figures of ``classifier`` through canvases and
    ``to_bitmap``: held-out categories' "unsure" rates (from ``data.holdout_strokes``) and,
    on ``per_class`` test drawings of each class, balanced accuracy, top-3 accuracy, the
    lowest recall and the share answered "unsure"."""
    rng = random.Random(seed)
    report: dict = {}
    strokes = {name: drawings for name, drawings in data.holdout_strokes.items() if drawings}
    if strokes:
        rates = {}
        for name, drawings in strokes.items():
            bitmaps = _bitmaps([random_canvas(as_points(d.strokes), rng) for d in drawings])
            rates[name] = float(classifier.unsure(classifier.probabilities(bitmaps)).mean())
        report.update(holdout_rates(rates, data.recipe.animals if data.recipe else ()))
    pngs, labels = [], []
    for index in classifier.answer_columns:
        rows = np.flatnonzero(data.y["test"] == index)
        for row in rng.sample(list(rows), min(per_class, len(rows))):
            size = rng.uniform(0.35, 0.85)
            corner = (rng.uniform(0, 1 - size), rng.uniform(0, 1 - size))
            pngs.append(canvas_from_bitmap(data.x["test"][row], canvas=rng.randint(300, 800),
                                           size=size, corner=corner))
            labels.append(index)
    if pngs:
        probabilities = classifier.probabilities(_bitmaps(pngs))
        report.update(_accuracy(classifier, probabilities, np.array(labels)))
    report["drawings"] = (f"{sum(map(len, strokes.values()))} held-out stroke drawings and "
                          f"{len(pngs)} test drawings of the classes on canvases of random "
                          "size, pen and place")
    return report


def _bitmaps(pngs: list[bytes]) -> np.ndarray:
    """``to_bitmap`` of each PNG; a drawing too small to see stays blank (an empty picture is
    what the app would refuse, and it counts as not recognised)."""
    rows = []
    for png in pngs:
        try:
            rows.append(to_bitmap(png))
        except BlankDrawing:
            rows.append(np.zeros((SIDE, SIDE), np.uint8))
    return np.stack(rows).reshape(-1, *SHAPE)


def _accuracy(classifier: Classifier, probabilities: np.ndarray, labels: np.ndarray) -> dict:
    known = probabilities[:, classifier.answer_columns]
    truth = np.searchsorted(classifier.answer_columns, labels)
    predicted = known.argmax(axis=1)
    top3 = (np.argsort(-known, axis=1)[:, :3] == truth[:, None]).any(axis=1)
    recall = {classifier.labels[k]: float((predicted[truth == k] == k).mean())
              for k in np.unique(truth)}
    return {"balanced_accuracy": float(np.mean(list(recall.values()))),
            "top3_accuracy": float(top3.mean()), "lowest_recall": min(recall.values()),
            "recall_per_class": recall,
            "known_unsure_rate": float(classifier.unsure(probabilities).mean())}
