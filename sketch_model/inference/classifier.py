"""Load a trained sketch model once, and answer for a 28x28 bitmap: which class, how sure.

A model's files and metadata are its ``ModelCard``; ``runtimes`` run its network (the LiteRT
export when there is one, without TensorFlow). The metadata names the output classes; if it
names a ``reject_class`` (an "other" class trained on drawings of other things), that class is
never an answer: ``labels`` are the classes that can be. The answer is "unsure" when the best
label is below ``unsure_threshold``, or when the "other" class outweighs it or is above
``other_threshold``: training weights the classes equally, which makes the many "other"
drawings count for less and their class's probability come out low, so it gets a threshold of
its own. Its ``class_bias`` (tuned on the validation split, ``training.metrics``) shifts each
class's log probability before any decision, so that no class is favoured over another, and
its ``temperature`` (fitted on the validation split too, ``training.calibration``) scales them
so that the confidence shown means what it says.

The web app, the evaluation and the benchmarks all decide through ``Classifier.decide``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from ..facts import as_batch
from ..modelcard import ModelCard, ModelError  # noqa: F401 (ModelError: the error of loading)
from .runtimes import KerasRuntime, LiteRuntime

logger = logging.getLogger(__name__)

UNSURE = "unsure"
LOOKS_OTHER = "unfamiliar"  # why unsure: it looks like none of the classes
LOW_CONFIDENCE = "low_confidence"  # why unsure: torn between classes, none likely enough
RUNTIMES = ("auto", "litert", "keras")


@dataclass(frozen=True)
class Guess:
    label: str
    probability: float


@dataclass(frozen=True)
class Prediction:
    """The answer for one drawing.

    ``label`` is the best known class, or "unsure"; ``confidence`` is the best known class's
    probability either way; ``ranking`` lists every known class, best first; ``other`` is the
    probability that it is none of them (None for a model without an "other" class);
    ``reason`` says why an answer is unsure: ``LOOKS_OTHER`` or ``LOW_CONFIDENCE``.
    """

    label: str
    confidence: float
    unsure: bool
    ranking: tuple[Guess, ...]
    other: float | None = None
    reason: str | None = None

    @property
    def best(self) -> Guess:
        return self.ranking[0]


def scaled(log_probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities of rows of log probabilities (any constant per row) at ``temperature``."""
    z = log_probabilities / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def unsure_rows(probabilities: np.ndarray, answers: np.ndarray, reject: int | None,
                threshold: float, other_threshold: float = 1.0) -> np.ndarray:
    """The one rule for "unsure": the best known class is below ``threshold``, or the
    "other" class outweighs it or is above ``other_threshold``."""
    best = probabilities[:, answers].max(axis=1)
    unsure = best < threshold
    if reject is not None:
        other = probabilities[:, reject]
        unsure |= (other > best) | (other > other_threshold)
    return unsure


def unsure_reasons(probabilities: np.ndarray, answers: np.ndarray, reject: int | None,
                   threshold: float, other_threshold: float = 1.0) -> np.ndarray:
    """Why each row is "unsure" by that rule: ``LOOKS_OTHER`` when "other" outweighs the best
    known class (it is most likely none of them), ``LOW_CONFIDENCE`` when it is unsure for
    another reason (the best known class is below ``threshold``, or "other" is above its
    threshold without outweighing it), else "" (sure)."""
    best = probabilities[:, answers].max(axis=1)
    low = best < threshold
    if reject is None:
        return np.where(low, LOW_CONFIDENCE, "")
    other = probabilities[:, reject]
    return np.where(other > best, LOOKS_OTHER,
                    np.where(low | (other > other_threshold), LOW_CONFIDENCE, ""))


class Classifier:
    """A loaded model with its metadata; ``classify`` is safe to call from many threads."""

    def __init__(self, runtime, card: ModelCard):
        self.runtime = runtime
        self.card = card
        self.metadata = card.metadata
        self.path = card.path
        self.name = card.name
        self.classes: list[str] = card.classes
        self.reject_class: str | None = card.reject_class
        self.labels = [c for c in self.classes if c != self.reject_class]  # the answers
        self.unsure_threshold = card.unsure_threshold
        self.other_threshold = card.other_threshold
        self.temperature = card.temperature
        self.class_bias = card.class_bias
        # The output column of each label, in ``labels`` order.
        self.answer_columns = np.array([self.classes.index(c) for c in self.labels])
        self._reject_index = None if self.reject_class is None else \
            self.classes.index(self.reject_class)
        if runtime.outputs != len(self.classes):
            raise ModelError(f"Model {self.path} has {runtime.outputs} outputs but its "
                             f"metadata lists {len(self.classes)} classes.")

    @property
    def class_bias(self) -> dict[str, float]:
        """Log-probability shift per class (absent: 0), applied to every model output."""
        return dict(self._bias)

    @class_bias.setter
    def class_bias(self, bias: dict[str, float]) -> None:
        self._bias = {label: float(bias[label]) for label in self.classes if bias.get(label)}
        self._shifts = np.array([self._bias.get(c, 0.0) for c in self.classes])

    def adjusted(self, outputs: np.ndarray, temperature: float | None = None) -> np.ndarray:
        """Model outputs (rows of probabilities) with the class bias applied and scaled by the
        temperature (the model's, unless given): softmax((log p + bias) / temperature)."""
        temperature = self.temperature if temperature is None else temperature
        if not self._bias and temperature == 1.0:
            return outputs
        return scaled(self.biased_logs(outputs), temperature)

    def biased_logs(self, outputs: np.ndarray) -> np.ndarray:
        """Log probabilities of model outputs with the class bias but no temperature: what
        calibration fits the temperature to."""
        return np.log(np.clip(outputs, 1e-30, None)) + self._shifts

    def probabilities(self, bitmaps: np.ndarray) -> np.ndarray:
        """Class probabilities (in ``classes`` order) for many 28x28 bitmaps at once, each
        the mean over the drawing and its mirror image with the class bias and temperature
        applied, like ``classify``."""
        return self.adjusted(self.runtime.batch(
            as_batch(bitmaps)))

    def classify(self, bitmap: np.ndarray) -> Prediction:
        """The answer for one 28x28 uint8 bitmap, ink bright on black."""
        return self.decide(self.adjusted(self.runtime.single(
            as_batch(bitmap))))

    def decide(self, probabilities: np.ndarray) -> Prediction:
        """Turn one row of class probabilities (as ``probabilities`` gives them: bias and
        temperature applied) into ranked known classes and an honest answer."""
        known = probabilities[self.answer_columns]
        order = np.argsort(-known, kind="stable")
        ranking = tuple(Guess(self.labels[i], float(known[i])) for i in order)
        best = ranking[0]
        other = None if self._reject_index is None else float(probabilities[self._reject_index])
        reason = str(unsure_reasons(probabilities[np.newaxis], self.answer_columns,
                                    self._reject_index,
                                    self.unsure_threshold, self.other_threshold)[0]) or None
        return Prediction(UNSURE if reason else best.label, best.probability, bool(reason),
                          ranking, other, reason)

    def unsure(self, probabilities: np.ndarray, threshold: float | None = None,
               other_threshold: float | None = None) -> np.ndarray:
        """For rows of model outputs: is the answer "unsure"? (at the thresholds if given)"""
        return unsure_rows(probabilities, self.answer_columns, self._reject_index,
                           self.unsure_threshold if threshold is None else threshold,
                           self.other_threshold if other_threshold is None else other_threshold)


def load_classifier(path: str | os.PathLike | None = None, runtime: str = "auto") -> Classifier:
    """Load a model and its metadata once.

    ``runtime`` "auto" serves the model's LiteRT export when it is up to date (no TensorFlow
    needed) and the ``.keras`` file otherwise; "litert" and "keras" insist on one of them.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, not {runtime!r}")
    card = ModelCard.read(path)
    path = card.path
    if runtime != "keras":
        export, problem = card.litert_export()
        if export is not None:
            try:
                engine = LiteRuntime(export)
            except Exception as error:  # a damaged export, or LiteRT missing on this platform
                problem = f"{export} cannot be loaded: {error}"
            else:
                return Classifier(engine, card)
        if runtime == "litert":
            raise ModelError(f"Model {path} cannot run in LiteRT: {problem}. Export it with "
                             f"`python -m sketch_model.export --model {path}`.")
        logger.warning("Serving %s through TensorFlow, because %s. `python -m "
                       "sketch_model.export --model %s` makes it start and answer faster.",
                       path, problem, path)
    return Classifier(KerasRuntime(card.load_keras()), card)
