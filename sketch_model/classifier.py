"""Load a trained sketch model once, and answer for a 28x28 bitmap: which class, how sure.

A model is a ``<name>.keras`` file with a ``<name>.json`` beside it (DESIGN.md, "Model files").
The metadata names the output classes; if it names a ``reject_class`` (an "other" class trained
on drawings of other things), that class is never an answer: its weight makes the known classes
less likely, and a best known class below ``unsure_threshold`` is reported as "unsure".

The web app, the evaluation and the benchmarks all decide through ``Classifier.decide``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_ENV = "SKETCHBOOK_MODEL"
DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "animals.keras"
UNSURE = "unsure"


class ModelError(Exception):
    """The model file or its metadata is missing or unusable: an operator's problem."""


@dataclass(frozen=True)
class Guess:
    label: str
    probability: float


@dataclass(frozen=True)
class Prediction:
    """The answer for one drawing.

    ``label`` is the best known class, or "unsure"; ``confidence`` is the best known class's
    probability either way; ``ranking`` lists every known class, best first.
    """

    label: str
    confidence: float
    unsure: bool
    ranking: tuple[Guess, ...]

    @property
    def best(self) -> Guess:
        return self.ranking[0]


def unsure_rows(probabilities: np.ndarray, known: np.ndarray, reject: int | None,
                threshold: float) -> np.ndarray:
    """The one rule for "unsure": the best known class is below the threshold, or the
    "other" class outweighs it."""
    best = probabilities[:, known].max(axis=1)
    unsure = best < threshold
    if reject is not None:
        unsure |= probabilities[:, reject] > best
    return unsure


def model_path(path: str | os.PathLike | None = None) -> Path:
    """The model to load: ``path``, else ``$SKETCHBOOK_MODEL``, else the shipped one."""
    chosen = Path(path or os.environ.get(MODEL_ENV) or DEFAULT_MODEL)
    return chosen if chosen.suffix == ".keras" else chosen.with_name(chosen.name + ".keras")


def read_metadata(path: Path) -> dict:
    """The metadata beside a ``.keras`` file, checked for the fields the app relies on."""
    meta_path = path.with_suffix(".json")
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"Model metadata {meta_path} is missing.") from None
    except (OSError, ValueError) as error:
        raise ModelError(f"Model metadata {meta_path} cannot be read: {error}") from None
    classes = metadata.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or \
            not all(isinstance(c, str) and c for c in classes):
        raise ModelError(f"Model metadata {meta_path} must list at least two 'classes'.")
    reject = metadata.get("reject_class")
    if reject is not None and reject not in classes:
        raise ModelError(f"Model metadata {meta_path}: reject_class {reject!r} is not a class.")
    threshold = metadata.get("unsure_threshold", 0.0)
    if not isinstance(threshold, (int, float)) or not 0.0 <= threshold < 1.0:
        raise ModelError(f"Model metadata {meta_path}: unsure_threshold must be in [0, 1).")
    return metadata


class Classifier:
    """A loaded model with its metadata; ``classify`` is safe to call from many threads."""

    def __init__(self, model, metadata: dict, path: Path):
        import tensorflow as tf

        self.model = model
        self.metadata = metadata
        self.path = path
        self.name = path.stem
        self.classes: list[str] = list(metadata["classes"])
        self.reject_class: str | None = metadata.get("reject_class")
        self.labels = [c for c in self.classes if c != self.reject_class]
        self.unsure_threshold = float(metadata.get("unsure_threshold", 0.0))
        self._known = np.array([self.classes.index(c) for c in self.labels])
        self._reject_index = None if self.reject_class is None else \
            self.classes.index(self.reject_class)
        outputs = model.output_shape[-1]
        if outputs != len(self.classes):
            raise ModelError(f"Model {path} has {outputs} outputs but its metadata lists "
                             f"{len(self.classes)} classes.")
        # One traced graph for single drawings: no per-call graph building, no predict() loop.
        # It sees the drawing and its mirror image in one batch of two and averages them.
        self._single = tf.function(
            lambda x: tf.reduce_mean(model(tf.concat([x, x[:, :, ::-1]], 0), training=False),
                                     axis=0, keepdims=True),
            input_signature=[tf.TensorSpec((1, 28, 28, 1), tf.float32)])
        self._single(tf.zeros((1, 28, 28, 1)))  # warm up: trace now, not on the first request

    def probabilities(self, bitmaps: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Class probabilities (in ``classes`` order) for many 28x28 bitmaps at once.

        Like ``classify``, each drawing's answer is the mean over it and its mirror image:
        people draw animals facing either way, and the average is steadier than either.
        """
        x = np.asarray(bitmaps, dtype=np.float32).reshape(-1, 28, 28, 1)
        plain = self.model.predict(x, batch_size=batch_size, verbose=0)
        mirrored = self.model.predict(x[:, :, ::-1], batch_size=batch_size, verbose=0)
        return (plain + mirrored) / 2

    def classify(self, bitmap: np.ndarray) -> Prediction:
        """The answer for one 28x28 uint8 bitmap, ink bright on black."""
        x = np.asarray(bitmap, dtype=np.float32).reshape(1, 28, 28, 1)
        return self.decide(self._single(x).numpy()[0])

    def decide(self, probabilities: np.ndarray) -> Prediction:
        """Turn one row of model outputs into ranked known classes and an honest answer."""
        known = probabilities[self._known]
        order = np.argsort(-known, kind="stable")
        ranking = tuple(Guess(self.labels[i], float(known[i])) for i in order)
        unsure = bool(self.unsure(probabilities[np.newaxis])[0])
        best = ranking[0]
        return Prediction(UNSURE if unsure else best.label, best.probability, unsure, ranking)

    def unsure(self, probabilities: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """For rows of model outputs: is the answer "unsure"? (at ``threshold`` if given)"""
        return unsure_rows(probabilities, self._known, self._reject_index,
                           self.unsure_threshold if threshold is None else threshold)


def load_classifier(path: str | os.PathLike | None = None) -> Classifier:
    """Load a model and its metadata once (Keras safe mode: nothing is unpickled)."""
    path = model_path(path)
    if not path.is_file():
        raise ModelError(f"Model file {path} is missing. Train one with "
                         "`python -m sketch_model.train` or set SKETCHBOOK_MODEL.")
    metadata = read_metadata(path)
    import keras  # imported here: TensorFlow takes seconds to load, only pay when needed

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a damaged archive
        raise ModelError(f"Model file {path} cannot be loaded: {error}") from None
    return Classifier(model, metadata, path)
