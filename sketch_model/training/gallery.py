"""The gallery that travels with a model: "how others drew it" (``inference.gallery`` reads it).

Up to ``PER_CLASS`` drawings of each class, picked at random (seeded) from the training split
among those the served model answers with their own class, so that the examples shown for
"cat" look like cats to it; with their feature vectors, the network's layer before its
classifier, computed by that layer's own LiteRT export (``<name>-features.tflite``), which
the app runs on a person's drawing to find the nearest ones. Written by training and by
``python -m sketch_model.export`` (``finish``), listed in the model card.
"""

from __future__ import annotations

import numpy as np

from ..facts import SIDE, as_batch
from ..inference.classifier import Classifier
from ..inference.gallery import LEVELS, stored
from ..inference.runtimes import LiteRuntime
from ..modelcard import ModelCard
from .dataset import Dataset
from .litert import export_features

PER_CLASS = 64  # drawings a class at most
CANDIDATES = 4  # drawings looked at for each one kept
FEATURES_LAYER = "probabilities"  # the features are this layer's input


def features_network(model):
    """``model`` up to its features: the input of its classifier layer (``FEATURES_LAYER``;
    else of its last layer)."""
    import keras

    names = [layer.name for layer in model.layers]
    last = model.get_layer(FEATURES_LAYER) if FEATURES_LAYER in names else model.layers[-1]
    return keras.Model(model.input, last.input, name=f"{model.name}_features")


def write_gallery(model, card: ModelCard, data: Dataset, classifier: Classifier) -> dict:
    """Write ``card``'s gallery and features export; return its entry in the metadata."""
    entry = export_features(features_network(model), card.features_path, data.x["train"],
                            data.x["validation"])
    rows, labels = _picked(classifier, data)
    bitmaps = np.asarray(data.x["train"])[rows].reshape(-1, SIDE, SIDE).astype(np.uint8)
    vectors = LiteRuntime(card.features_path).batch(as_batch(bitmaps))
    np.savez_compressed(card.gallery_path, labels=labels.astype(np.int16),
                        bitmaps=bitmaps, features=stored(vectors))
    counts = {name: int((labels == index).sum()) for index, name in
              enumerate(classifier.classes) if name in classifier.labels}
    return {"file": card.gallery_path.name, **entry, "keras_sha256": card.digest(),
            "per_class": counts, "bytes": card.gallery_path.stat().st_size,
            "features_bytes": card.features_path.stat().st_size, "feature_levels": LEVELS,
            "data": "Quick, Draw! dataset by Google, CC BY 4.0 (training split)"}


def _picked(classifier: Classifier, data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Training rows of each answer class that the classifier answers with that class."""
    rng = np.random.default_rng(data.recipe.seed if data.recipe else 0)
    y = np.asarray(data.y["train"])
    rows, labels = [], []
    for name in classifier.labels:
        index = data.classes.index(name)
        column = classifier.classes.index(name)
        candidates = rng.permutation(np.flatnonzero(y == index))[:PER_CLASS * CANDIDATES]
        if not len(candidates):
            continue
        probabilities = classifier.probabilities(np.asarray(data.x["train"])[candidates])
        answered = probabilities[:, classifier.answer_columns].argmax(axis=1)
        own = candidates[classifier.answer_columns[answered] == column][:PER_CLASS]
        rows.append(own)
        labels.append(np.full(len(own), column))
    return np.concatenate(rows), np.concatenate(labels)
