"""Load a trained sketch model once, and answer for a 28x28 bitmap: which class, how sure.

A model is a ``<name>.keras`` file with a ``<name>.json`` beside it (DESIGN.md, "Model files"),
and usually a ``<name>.tflite`` export that serves it without TensorFlow (``runtimes``).
The metadata names the output classes; if it names a ``reject_class`` (an "other" class trained
on drawings of other things), that class is never an answer. The answer is "unsure" when the
best known class is below ``unsure_threshold``, or when the "other" class outweighs it or is
above ``other_threshold``: training weights the classes equally, which makes the many "other"
drawings count for less and their class's probability come out low, so it gets a threshold of
its own. Its ``class_bias`` (tuned on the validation split, see ``evaluate``) shifts each
class's log probability before any decision, so that no class is favoured over another, and
its ``temperature`` (fitted on the validation split too, see ``calibration``) scales them so
that the confidence shown means what it says.

The web app, the evaluation and the benchmarks all decide through ``Classifier.decide``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .calibration import TEMPERATURES, scaled
from .runtimes import KerasRuntime, LiteRuntime

logger = logging.getLogger(__name__)

MODEL_ENV = "SKETCHBOOK_MODEL"
DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "animals.keras"
UNSURE = "unsure"
LOOKS_OTHER = "unfamiliar"  # why unsure: it looks like none of the classes
LOW_CONFIDENCE = "low_confidence"  # why unsure: torn between classes, none likely enough
RUNTIMES = ("auto", "litert", "keras")
MAX_BIAS = 5.0  # a log-probability shift; e^5 ~ 150x, far past any useful correction


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


def unsure_rows(probabilities: np.ndarray, known: np.ndarray, reject: int | None,
                threshold: float, other_threshold: float = 1.0) -> np.ndarray:
    """The one rule for "unsure": the best known class is below ``threshold``, or the
    "other" class outweighs it or is above ``other_threshold``."""
    best = probabilities[:, known].max(axis=1)
    unsure = best < threshold
    if reject is not None:
        other = probabilities[:, reject]
        unsure |= (other > best) | (other > other_threshold)
    return unsure


def unsure_reasons(probabilities: np.ndarray, known: np.ndarray, reject: int | None,
                   threshold: float, other_threshold: float = 1.0) -> np.ndarray:
    """Why each row is "unsure" by that rule: ``LOOKS_OTHER`` when "other" outweighs the best
    known class (it is most likely none of them), ``LOW_CONFIDENCE`` when it is unsure for
    another reason (the best known class is below ``threshold``, or "other" is above its
    threshold without outweighing it), else "" (sure)."""
    best = probabilities[:, known].max(axis=1)
    low = best < threshold
    if reject is None:
        return np.where(low, LOW_CONFIDENCE, "")
    other = probabilities[:, reject]
    return np.where(other > best, LOOKS_OTHER,
                    np.where(low | (other > other_threshold), LOW_CONFIDENCE, ""))


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
    other_threshold = metadata.get("other_threshold", 1.0)
    if not isinstance(other_threshold, (int, float)) or not 0.0 < other_threshold <= 1.0:
        raise ModelError(f"Model metadata {meta_path}: other_threshold must be in (0, 1].")
    bias = metadata.get("class_bias", {})
    if not isinstance(bias, dict) or not set(bias) <= set(classes) or not all(
            isinstance(v, (int, float)) and -MAX_BIAS <= v <= MAX_BIAS for v in bias.values()):
        raise ModelError(f"Model metadata {meta_path}: class_bias must map classes to numbers "
                         f"in [-{MAX_BIAS:g}, {MAX_BIAS:g}].")
    temperature = metadata.get("temperature", 1.0)
    low, high = TEMPERATURES
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or \
            not low <= temperature <= high:
        raise ModelError(f"Model metadata {meta_path}: temperature must be a number in "
                         f"[{low:g}, {high:g}].")
    return metadata


class Classifier:
    """A loaded model with its metadata; ``classify`` is safe to call from many threads."""

    def __init__(self, runtime, metadata: dict, path: Path):
        self.runtime = runtime
        self.metadata = metadata
        self.path = path
        self.name = path.stem
        self.classes: list[str] = list(metadata["classes"])
        self.reject_class: str | None = metadata.get("reject_class")
        self.labels = [c for c in self.classes if c != self.reject_class]
        self.unsure_threshold = float(metadata.get("unsure_threshold", 0.0))
        self.other_threshold = float(metadata.get("other_threshold", 1.0))
        self.temperature = float(metadata.get("temperature", 1.0))
        self.class_bias = metadata.get("class_bias", {})
        self.known = np.array([self.classes.index(c) for c in self.labels])  # labels' outputs
        self._reject_index = None if self.reject_class is None else \
            self.classes.index(self.reject_class)
        if runtime.outputs != len(self.classes):
            raise ModelError(f"Model {path} has {runtime.outputs} outputs but its metadata "
                             f"lists {len(self.classes)} classes.")

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
        return scaled(self._biased_logs(outputs), temperature)

    def log_outputs(self, bitmaps: np.ndarray) -> np.ndarray:
        """Log probabilities of the model with the class bias but no temperature: what
        calibration fits the temperature to."""
        return self._biased_logs(self.runtime.batch(
            np.asarray(bitmaps, dtype=np.float32).reshape(-1, 28, 28, 1)))

    def _biased_logs(self, outputs: np.ndarray) -> np.ndarray:
        return np.log(np.clip(outputs, 1e-30, None)) + self._shifts

    def probabilities(self, bitmaps: np.ndarray) -> np.ndarray:
        """Class probabilities (in ``classes`` order) for many 28x28 bitmaps at once, each
        the mean over the drawing and its mirror image with the class bias and temperature
        applied, like ``classify``."""
        return self.adjusted(self.runtime.batch(
            np.asarray(bitmaps, dtype=np.float32).reshape(-1, 28, 28, 1)))

    def classify(self, bitmap: np.ndarray) -> Prediction:
        """The answer for one 28x28 uint8 bitmap, ink bright on black."""
        return self.decide(self.adjusted(self.runtime.single(
            np.asarray(bitmap, dtype=np.float32).reshape(1, 28, 28, 1))))

    def decide(self, probabilities: np.ndarray) -> Prediction:
        """Turn one row of class probabilities (as ``probabilities`` gives them: bias and
        temperature applied) into ranked known classes and an honest answer."""
        known = probabilities[self.known]
        order = np.argsort(-known, kind="stable")
        ranking = tuple(Guess(self.labels[i], float(known[i])) for i in order)
        best = ranking[0]
        other = None if self._reject_index is None else float(probabilities[self._reject_index])
        reason = str(unsure_reasons(probabilities[np.newaxis], self.known, self._reject_index,
                                    self.unsure_threshold, self.other_threshold)[0]) or None
        return Prediction(UNSURE if reason else best.label, best.probability, bool(reason),
                          ranking, other, reason)

    def unsure(self, probabilities: np.ndarray, threshold: float | None = None,
               other_threshold: float | None = None) -> np.ndarray:
        """For rows of model outputs: is the answer "unsure"? (at the thresholds if given)"""
        return unsure_rows(probabilities, self.known, self._reject_index,
                           self.unsure_threshold if threshold is None else threshold,
                           self.other_threshold if other_threshold is None else other_threshold)


def load_classifier(path: str | os.PathLike | None = None, runtime: str = "auto") -> Classifier:
    """Load a model and its metadata once.

    ``runtime`` "auto" serves the model's LiteRT export when it is up to date (no TensorFlow
    needed) and the ``.keras`` file otherwise; "litert" and "keras" insist on one of them.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, not {runtime!r}")
    path = model_path(path)
    if not path.is_file():
        raise ModelError(f"Model file {path} is missing. Train one with "
                         "`python -m sketch_model.train` or set SKETCHBOOK_MODEL.")
    metadata = read_metadata(path)
    if runtime != "keras":
        export, problem = litert_export(path, metadata)
        if export is not None:
            try:
                engine = LiteRuntime(export)
            except Exception as error:  # a damaged export, or LiteRT missing on this platform
                problem = f"{export} cannot be loaded: {error}"
            else:
                return Classifier(engine, metadata, path)
        if runtime == "litert":
            raise ModelError(f"Model {path} cannot run in LiteRT: {problem}. Export it with "
                             f"`python -m sketch_model.export --model {path}`.")
        logger.warning("Serving %s through TensorFlow, because %s. `python -m "
                       "sketch_model.export --model %s` makes it start and answer faster.",
                       path, problem, path)
    return Classifier(KerasRuntime(load_keras(path)), metadata, path)


def litert_export(path: Path, metadata: dict) -> tuple[Path | None, str]:
    """The LiteRT export of the ``.keras`` file at ``path``, or None and why there is none.

    The metadata records the digest of the ``.keras`` file the export was made from, so a
    retrained model is never served through the export of its predecessor.
    """
    entry = metadata.get("litert")
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
        return None, "its metadata names no LiteRT export"
    export = path.with_name(Path(entry["file"]).name)
    if not export.is_file():
        return None, f"its LiteRT export {export} is missing"
    if entry.get("keras_sha256") != file_digest(path):
        return None, f"its LiteRT export {export} was made from another version of the model"
    return export, ""


def file_digest(path: Path) -> str:
    """SHA-256 of a file, in hex."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def load_keras(path: Path):
    """The ``.keras`` model, in safe mode: nothing in the file is unpickled or run."""
    import keras  # imported here: TensorFlow takes seconds to load, only pay when needed

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a damaged archive
        raise ModelError(f"Model file {path} cannot be loaded: {error}") from None
