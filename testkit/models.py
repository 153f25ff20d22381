"""Models for tests: tiny untrained Keras models saved with their card, and a stand-in runtime.

A tiny model (Input -> Rescaling -> Flatten -> Dense) loads in a second and is enough to test
loading, the decision rule and the app with any class list. With ``bias`` its kernel is zero,
so it answers softmax(bias) for every drawing: that is how the "sure", "unsure" and reject
class paths are tested without trained weights. ``TableRuntime`` stands in for a network where
a test needs chosen probabilities for many drawings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sketch_model.facts import PIXELS, SHAPE
from sketch_model.modelcard import ModelCard


def tiny_network(outputs: int, bias=None):
    """An untrained Keras model of the drawings' shape with ``outputs`` softmax outputs (with
    ``bias``: a zero kernel and this bias, the same answer for any drawing)."""
    import keras  # imported here: TensorFlow takes seconds to load

    model = keras.Sequential([keras.Input(SHAPE, dtype="float32"),
                              keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
                              keras.layers.Dense(outputs, activation="softmax")])
    if bias is not None:
        dense = model.layers[-1]
        kernel, _ = dense.get_weights()
        dense.set_weights([np.zeros_like(kernel), np.asarray(bias, dtype=np.float32)])
    return model


def make_tiny_model(directory: Path | str, classes=("cat", "dog", "fish"), *,
                    name: str = "tiny", reject_class: str | None = None,
                    unsure_threshold: float = 0.3, bias=None, seed: int | None = None,
                    export: bool = False, **fields) -> Path:
    """A tiny model saved as ``<directory>/<name>.keras`` with its card (``ModelCard.new``,
    ``fields`` added to the metadata); returns the ``.keras`` path.

    ``seed`` makes its random weights the same every run. ``export``: with a LiteRT export
    beside it, as training writes, so that ``python app.py`` serves it from forked workers (a
    model that needs TensorFlow is served by one process).
    """
    if seed is not None:
        import keras

        keras.utils.set_random_seed(seed)
    model = tiny_network(len(classes), bias)
    path = Path(directory) / f"{name}.keras"
    model.save(path)
    card = ModelCard.new(path, classes=list(classes), reject_class=reject_class,
                         unsure_threshold=unsure_threshold, **fields)
    if export:
        from sketch_model.training.litert import export_litert

        bitmaps = np.random.default_rng(7).integers(0, 256, (64, PIXELS), dtype=np.uint8)
        card.metadata["litert"] = export_litert(model, card, bitmaps[::2], bitmaps[1::2])
    card.save()
    return path


STAND_IN = Path("stand-in.keras")  # the card path of a table classifier: nothing is read


def table_classifier(table, metadata: dict, path: Path = STAND_IN):
    """A Classifier whose network is a ``TableRuntime`` of ``table``, with ``metadata``."""
    from sketch_model.inference.classifier import Classifier

    return Classifier(TableRuntime(table), ModelCard(path, metadata))


class TableRuntime:
    """A stand-in network: drawing ``i`` (written in its first two pixels by
    ``table_drawings``) answers row ``i`` of ``table``."""

    name = "table"

    def __init__(self, table):
        self.table = np.asarray(table, dtype=np.float64)
        self.outputs = self.table.shape[1]

    def batch(self, x):
        pixels = np.asarray(x).reshape(len(x), -1).astype(int)
        return self.table[pixels[:, 0] + 256 * pixels[:, 1]]


def table_drawings(count: int) -> np.ndarray:
    """Drawings 0 to ``count - 1`` for a ``TableRuntime``, as a uint8 batch of the network's
    shape."""
    x = np.zeros((count, *SHAPE), dtype=np.uint8)
    x[:, 0, 0, 0], x[:, 0, 1, 0] = np.arange(count) % 256, np.arange(count) // 256
    return x
