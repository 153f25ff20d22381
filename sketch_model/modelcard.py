"""The one owner of a model's files and of what its metadata promises.

A model is ``<name>.keras`` (the network, Keras 3) with, beside it:

    <name>.json              the metadata: classes, thresholds, class bias, temperature, what
                             it was trained on, its test metrics (ARCHITECTURE.md, "Model files")
    <name>.tflite            the LiteRT export the app serves, made from one exact .keras file
    <name>-confusion.png     the test split's confusion matrix
    <name>-reliability.png   confidence against accuracy, before and after calibration
    <name>-gallery.npz       up to 64 Quick, Draw! drawings a class with their feature vectors
    <name>-features.tflite   the network up to those features, for a person's drawing

Training writes a card (``ModelCard.new``), export and evaluation read and update it
(``ModelCard.read``, ``save``), and the classifier asks it for the fields it decides with;
nothing else knows a file name or validates a field.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import facts

MODEL_ENV = "SKETCHBOOK_MODEL"  # the default model: a shipped model's name, or a path
MODELS_ENV = "SKETCHBOOK_MODELS"  # every model the app serves: names or paths, space-separated
SHIPPED = Path(__file__).resolve().parent / "models"
SHIPPED_MODELS = ("animals", "zoo")  # served when nothing else is said; the first the default
DEFAULT_MODEL = SHIPPED / f"{SHIPPED_MODELS[0]}.keras"
MAX_BIAS = 5.0  # a log-probability shift; e^5 ~ 150x, far past any useful correction
# The game's (/play) accept threshold for a model whose metadata has none (older models): a
# prompt's probability must reach it; training tunes each model's own (training.metrics).
DEFAULT_ACCEPT_THRESHOLD = 0.5
TEMPERATURES = (0.05, 20.0)  # the temperatures calibration searches and a card may hold
INPUT = {"shape": list(facts.SHAPE), "dtype": "float32", "range": [0, 255],
         "ink": "bright (255) strokes on black (0), like QuickDraw numpy_bitmap",
         "preprocess": "sketch_model.imaging.restroke.to_bitmap"}


class ModelError(Exception):
    """A model that cannot be used, with a message for the person who runs it."""


def keras_path(path: str | os.PathLike) -> Path:
    """``path`` with the ``.keras`` suffix, which may be left out."""
    path = Path(path)
    return path if path.suffix == ".keras" else path.with_name(path.name + ".keras")


def model_path(path: str | os.PathLike | None = None) -> Path:
    """The model to load: ``path``, else ``$SKETCHBOOK_MODEL``, else the shipped default.

    A bare name ("zoo") is a shipped model's, unless a model of that name is in the current
    folder; the ``.keras`` suffix may be left out.
    """
    chosen = keras_path(path or os.environ.get(MODEL_ENV) or DEFAULT_MODEL)
    shipped = SHIPPED / chosen.name
    if len(chosen.parts) == 1 and not chosen.exists() and shipped.exists():
        return shipped
    return chosen


def served_model_paths(default: str | os.PathLike | None = None,
                       others: list | tuple | None = None) -> list[Path]:
    """Every model the app serves, each once, the default first.

    ``others``, else ``$SKETCHBOOK_MODELS`` (names or paths, separated by spaces, quoted as in
    a shell), else the shipped models; the default is ``default``, else ``$SKETCHBOOK_MODEL``,
    else the first of the others. Two models may not share a name: pages and the API choose
    a model by it (``?model=zoo``).
    """
    if others is None:
        try:
            others = shlex.split(os.environ.get(MODELS_ENV, "")) or SHIPPED_MODELS
        except ValueError as error:  # an unclosed quote
            raise ModelError(f"{MODELS_ENV} cannot be read ({error}): give model names or "
                             "paths separated by spaces, quoted as in a shell.") from None
    others = [model_path(spec) for spec in others]
    first = model_path(default) if default or os.environ.get(MODEL_ENV) or not others \
        else others[0]
    paths: list[Path] = []
    for path in [first, *others]:
        if any(path.resolve() == kept.resolve() for kept in paths):
            continue
        clash = next((kept for kept in paths if kept.stem == path.stem), None)
        if clash is not None:
            raise ModelError(f"Two models are named '{path.stem}' ({clash} and {path}): pages "
                             "choose a model by its name, so give each file its own.")
        paths.append(path)
    return paths


@dataclass
class ModelCard:
    """A model's ``.keras`` path and its metadata (a JSON object, kept as read)."""

    path: Path
    metadata: dict
    # (file identity, hex digest) of the .keras file last hashed: see digest()
    _digest: tuple | None = field(default=None, repr=False, compare=False)

    # --- the files

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def json_path(self) -> Path:
        return self.path.with_suffix(".json")

    @property
    def litert_path(self) -> Path:
        """Where the LiteRT export is written (``litert_export`` says whether it may serve)."""
        return self.path.with_suffix(".tflite")

    @property
    def gallery_path(self) -> Path:
        return self.path.with_name(f"{self.name}-gallery.npz")

    @property
    def features_path(self) -> Path:
        return self.path.with_name(f"{self.name}-features.tflite")

    @property
    def confusion_path(self) -> Path:
        return self.path.with_name(f"{self.name}-confusion.png")

    @property
    def reliability_path(self) -> Path:
        return self.path.with_name(f"{self.name}-reliability.png")

    # --- reading, writing

    @classmethod
    def new(cls, path: Path, *, classes: list[str], reject_class: str | None, **fields
            ) -> "ModelCard":
        """The card of a freshly trained model (not yet tuned: no thresholds, no bias)."""
        metadata = {"name": path.stem, "classes": list(classes), "reject_class": reject_class,
                    "input": dict(INPUT), "unsure_threshold": 0.0, "other_threshold": 1.0,
                    **fields}
        return cls(path, _validated(metadata, path.with_suffix(".json")))

    @classmethod
    def read(cls, path: str | os.PathLike | None = None) -> "ModelCard":
        """The card of the model at ``path`` (as ``model_path`` resolves it), checked for
        every field the app decides with."""
        path = model_path(path)
        if not path.is_file():
            raise ModelError(f"Model file {path} is missing. Train one with "
                             "`python -m sketch_model.train` or set SKETCHBOOK_MODEL.")
        json_path = path.with_suffix(".json")
        try:
            metadata = json.loads(json_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"Model metadata {json_path} is missing.") from None
        except (OSError, ValueError) as error:
            raise ModelError(f"Model metadata {json_path} cannot be read: {error}") from None
        return cls(path, _validated(metadata, json_path))

    def save(self) -> None:
        """Write the metadata, stamped with the time, after checking it again."""
        self.metadata["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        _validated(self.metadata, self.json_path)
        self.json_path.write_text(json.dumps(self.metadata, indent=2) + "\n")

    def load_keras(self):
        """The ``.keras`` model, in safe mode: nothing in the file is unpickled or run."""
        import keras  # imported here: TensorFlow takes seconds to load, only pay when needed

        try:
            return keras.saving.load_model(self.path, compile=False, safe_mode=True)
        except Exception as error:  # Keras raises many types for a damaged archive
            raise ModelError(f"Model file {self.path} cannot be loaded: {error}") from None

    def digest(self) -> str:
        """SHA-256 of the ``.keras`` file, in hex: what an export records it was made from.

        Hashed once while the file stays the same (its inode, size and modification time):
        loading a model checks its export against it and the app records it with every
        taught drawing, and the next issue's models are three times the size.
        """
        with open(self.path, "rb") as file:
            stat = os.fstat(file.fileno())
            identity = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
            if self._digest is None or self._digest[0] != identity:
                self._digest = (identity, hashlib.file_digest(file, "sha256").hexdigest())
        return self._digest[1]

    def litert_export(self) -> tuple[Path | None, str]:
        """The LiteRT export that may serve this ``.keras`` file, or None and why there is none.

        The metadata records the digest of the ``.keras`` file the export was made from, so a
        retrained model is never served through the export of its predecessor.
        """
        entry = self.metadata.get("litert")
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            return None, "its metadata names no LiteRT export"
        export = self.path.with_name(Path(entry["file"]).name)
        if not export.is_file():
            return None, f"its LiteRT export {export} is missing"
        if entry.get("keras_sha256") != self.digest():
            return None, f"its LiteRT export {export} was made from another version of the model"
        return export, ""

    def gallery_files(self) -> tuple[Path, Path] | None:
        """The gallery and its features export, if the metadata lists them, both files are
        there and they were made from this ``.keras`` file; else None (a model without a
        gallery is served without "how others drew it")."""
        entry = self.metadata.get("gallery")
        if not isinstance(entry, dict) or entry.get("keras_sha256") != self.digest():
            return None
        files = (self.gallery_path, self.features_path)
        return files if all(path.is_file() for path in files) else None

    # --- what the classifier decides with

    @property
    def title(self) -> str:
        """The model's name for people ("Zoo (17)"), from its recipe; else its file's name."""
        title = self.metadata.get("title")
        return title if isinstance(title, str) and title.strip() else self.name

    @property
    def classes(self) -> list[str]:
        return list(self.metadata["classes"])

    @property
    def reject_class(self) -> str | None:
        return self.metadata.get("reject_class")

    @property
    def unsure_threshold(self) -> float:
        return float(self.metadata.get("unsure_threshold", 0.0))

    @property
    def other_threshold(self) -> float:
        return float(self.metadata.get("other_threshold", 1.0))

    @property
    def accept_threshold(self) -> float:
        """The prompt probability at which the game takes a drawing for its prompt."""
        return float(self.metadata.get("accept_threshold", DEFAULT_ACCEPT_THRESHOLD))

    @property
    def class_bias(self) -> dict[str, float]:
        return dict(self.metadata.get("class_bias", {}))

    @property
    def temperature(self) -> float:
        return float(self.metadata.get("temperature", 1.0))

    @property
    def balanced_accuracy(self) -> float | None:
        """The test split's balanced accuracy (else accuracy), if the card has a valid one."""
        metrics = self.metadata.get("metrics") or {}
        value = metrics.get("balanced_accuracy", metrics.get("accuracy"))
        return float(value) if isinstance(value, (int, float)) and 0 <= value <= 1 else None


def _validated(metadata, where: Path) -> dict:
    """``metadata`` if it holds what the app relies on, else ModelError saying what is wrong."""
    if not isinstance(metadata, dict):
        raise ModelError(f"Model metadata {where} must be a JSON object.")
    classes = metadata.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or \
            not all(isinstance(c, str) and c for c in classes):
        raise ModelError(f"Model metadata {where} must list at least two 'classes'.")
    reject = metadata.get("reject_class")
    if reject is not None and reject not in classes:
        raise ModelError(f"Model metadata {where}: reject_class {reject!r} is not a class.")
    threshold = metadata.get("unsure_threshold", 0.0)
    if not _number(threshold) or not 0.0 <= threshold < 1.0:
        raise ModelError(f"Model metadata {where}: unsure_threshold must be in [0, 1).")
    other_threshold = metadata.get("other_threshold", 1.0)
    if not _number(other_threshold) or not 0.0 < other_threshold <= 1.0:
        raise ModelError(f"Model metadata {where}: other_threshold must be in (0, 1].")
    accept = metadata.get("accept_threshold", DEFAULT_ACCEPT_THRESHOLD)
    if not _number(accept) or not 0.0 < accept < 1.0:
        raise ModelError(f"Model metadata {where}: accept_threshold must be in (0, 1).")
    bias = metadata.get("class_bias", {})
    if not isinstance(bias, dict) or not set(bias) <= set(classes) or not all(
            _number(v) and -MAX_BIAS <= v <= MAX_BIAS for v in bias.values()):
        raise ModelError(f"Model metadata {where}: class_bias must map classes to numbers "
                         f"in [-{MAX_BIAS:g}, {MAX_BIAS:g}].")
    temperature = metadata.get("temperature", 1.0)
    low, high = TEMPERATURES
    if not _number(temperature) or not low <= temperature <= high:
        raise ModelError(f"Model metadata {where}: temperature must be a number in "
                         f"[{low:g}, {high:g}].")
    return metadata


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
