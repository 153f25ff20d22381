"""How others drew it: a model's gallery of Quick, Draw! drawings, and the ones most like a
person's drawing.

A gallery (written by ``training.gallery``) holds up to 64 drawings of each class with their
feature vectors: the network's layer before its classifier, as unit vectors, stored in 8 bits.
A person's drawing goes through the same layer (``<name>-features.tflite``, mirror-averaged
like the answer), and the drawings nearest to it by cosine similarity come first. The
drawings are Google's Quick, Draw! data (CC BY 4.0), credited in the README.
"""

from __future__ import annotations

import logging

import numpy as np

from ..facts import SIDE, as_batch
from ..modelcard import ModelCard
from .runtimes import LiteRuntime

logger = logging.getLogger(__name__)
LEVELS = 255  # a stored feature is round(LEVELS * value) of a unit vector of values >= 0


class Gallery:
    """A model's gallery, loaded once; ``nearest`` is safe to call from many threads."""

    def __init__(self, classes: list[str], labels: np.ndarray, bitmaps: np.ndarray,
                 features: np.ndarray, runtime):
        self.classes = list(classes)
        self.labels = labels.astype(np.int64)  # a class index per drawing
        self.bitmaps = bitmaps  # (N, 28, 28) uint8, ink bright on black, as the model sees
        self.features = unit(features.astype(np.float32))
        self.runtime = runtime  # the features export: one drawing in, its vector out
        self.rows_of = {name: np.flatnonzero(self.labels == index)
                        for index, name in enumerate(self.classes)}

    @classmethod
    def load(cls, card: ModelCard) -> "Gallery | None":
        """The gallery of the model ``card`` describes, or None when it has none that fits it
        (then the app serves the model without "how others drew it", and logs why)."""
        files = card.gallery_files()
        if files is None:
            return None
        path, features_path = files
        try:
            with np.load(path, allow_pickle=False) as stored:
                labels, bitmaps, features = (stored[key] for key in
                                             ("labels", "bitmaps", "features"))
            runtime = LiteRuntime(features_path)
        except Exception as error:  # a damaged file: serve the model, leave the gallery out
            logger.warning("the gallery of %s cannot be loaded (%s): served without it",
                           card.path, error)
            return None
        count = len(labels)
        if bitmaps.shape != (count, SIDE, SIDE) or features.shape != (count, runtime.outputs) \
                or count == 0 or labels.min() < 0 or labels.max() >= len(card.classes):
            logger.warning("the gallery of %s does not fit its model: served without it",
                           card.path)
            return None
        return cls(card.classes, labels, bitmaps, features, runtime)

    def vector(self, bitmap: np.ndarray) -> np.ndarray:
        """The unit feature vector of one 28x28 bitmap (ink bright on black)."""
        return unit(self.runtime.single(as_batch(bitmap))[np.newaxis])[0]

    def nearest(self, vector: np.ndarray, label: str, count: int) -> list[int]:
        """Up to ``count`` rows of class ``label``, the most like ``vector`` first."""
        rows = self.rows_of.get(label)
        if rows is None or not len(rows):
            return []
        similarity = self.features[rows] @ vector
        order = np.argsort(-similarity, kind="stable")[:count]
        return [int(row) for row in rows[order]]


def unit(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (a row of zeros stays zeros)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def stored(vectors: np.ndarray) -> np.ndarray:
    """Feature vectors as the gallery keeps them: unit length, 8 bits a value."""
    return np.round(np.clip(unit(vectors), 0.0, 1.0) * LEVELS).astype(np.uint8)
