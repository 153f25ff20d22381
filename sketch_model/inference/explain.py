"""Why an answer: how others drew the animals the model weighed, and where it looked.

``explain`` puts together, for one drawing and its answer, the heat map of the best guess
(``occlusion``) and, when the model has a gallery, the gallery's drawings of each class
nearest to this one: the classes the answer weighed (its best two) first, then every other
class, so that a page can show the one a person names when they correct the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .classifier import Classifier, Prediction
from .gallery import Gallery
from .occlusion import occlusion_map

SHOWN = 6    # drawings of a class shown, the nearest first
WEIGHED = 2  # the answer's best classes: the guess and its runner-up


@dataclass(frozen=True)
class Explanation:
    """``heatmap``: 28x28 in 0..1 over the model's input, for ``label`` (the best guess, sure
    or not). ``others``: gallery rows by class, nearest first; ``weighed`` names the classes
    the answer weighed, in rank order (empty without a gallery)."""

    label: str
    heatmap: np.ndarray
    weighed: tuple[str, ...] = ()
    others: dict[str, list[int]] = field(default_factory=dict)


def explain(classifier: Classifier, gallery: Gallery | None, bitmap: np.ndarray,
            prediction: Prediction) -> Explanation:
    label = prediction.best.label
    heatmap = occlusion_map(classifier, bitmap, label)
    if gallery is None:
        return Explanation(label, heatmap)
    vector = gallery.vector(bitmap)
    ranked = [guess.label for guess in prediction.ranking]
    others = {name: gallery.nearest(vector, name, SHOWN) for name in ranked}
    return Explanation(label, heatmap, tuple(ranked[:WEIGHED]),
                       {name: rows for name, rows in others.items() if rows})
