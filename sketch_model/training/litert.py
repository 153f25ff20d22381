"""The LiteRT export of a trained model: what the web app serves, without TensorFlow.

The export is the network with the mirror average built in, for one drawing at a time, the way
the app calls it. Its weights and activations are 8-bit integers (input and output stay
float): on a CPU that runs several times faster than float, in a quarter of the file, and the
answers stay those of the model. Quantising needs real drawings, to learn the range of each
layer's activations, and so does checking the result. The int8 export is kept if its top
answer matches the Keras model's on at least ``AGREEMENT`` of the check drawings and no
probability differs by more than ``TOLERANCE``; otherwise the export is float. Its entry in
the metadata records the ``.keras`` file's digest, so the app never serves an export of
another version of the model (``ModelCard.litert_export``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..facts import as_batch
from ..inference.gallery import unit
from ..inference.runtimes import KerasRuntime, LiteRuntime, mirror_averaged
from ..modelcard import ModelCard, ModelError

# The least share of check drawings whose top answer must match the model's. Int8 rounding
# flips near ties: about one drawing in 100 for six classes, a little more for seventeen (the
# zoo's export agrees on 98.9%). The figures a model card states are measured on the export
# the app serves, so a flipped tie shows there; a float export is 3.4x slower to serve.
AGREEMENT = 0.985
TOLERANCE = 0.15  # largest difference allowed in any probability of any check drawing
FLOAT_TOLERANCE = 1e-4  # the same for a float export, which must compute what the model does
CALIBRATION_SIZE = 500  # training drawings that set the activation ranges
CHECK_SIZE = 2000  # validation drawings the export is compared on (at most)


def export_litert(model, card: ModelCard, calibration: np.ndarray, check: np.ndarray) -> dict:
    """Write the LiteRT export of ``model`` (saved at ``card.path``); return its entry in the
    metadata.

    ``calibration`` and ``check`` are real bitmaps (training and validation ones). A model
    whose int8 version strays from it (an undertrained one, with many near ties, can) is
    exported in float instead: slower, never wrong.
    """
    target = card.litert_path
    partial = target.with_name(card.name + ".partial.tflite")
    bitmaps = _sample(check, CHECK_SIZE)
    reference = KerasRuntime(model).batch(bitmaps)
    entry = {"file": target.name, "keras_sha256": card.digest(),
             "checked_on": len(bitmaps)}
    try:
        _convert(model, partial, _sample(calibration, CALIBRATION_SIZE))
        agreement, difference = _compare(reference, LiteRuntime(partial).batch(bitmaps))
        if agreement >= AGREEMENT and difference <= TOLERANCE:
            entry["quantization"] = "int8"
        else:
            entry["int8_rejected"] = (f"same top answer for {agreement:.1%} of the check "
                                      f"drawings, probabilities up to {difference:.2f} apart")
            _convert(model, partial, None)
            agreement, difference = _compare(reference, LiteRuntime(partial).batch(bitmaps))
            if difference > FLOAT_TOLERANCE:
                raise ModelError(f"The LiteRT export of {card.path} differs from the model "
                                 f"by {difference:.2g} (at most {FLOAT_TOLERANCE} allowed); "
                                 "not kept.")
            entry["quantization"] = "float32"
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return {**entry, "top_answer_agreement": agreement, "max_difference": difference}


def export_features(network, path: Path, calibration: np.ndarray, check: np.ndarray) -> dict:
    """Write the LiteRT export of ``network`` (a model's layers up to its features, see
    ``training.gallery``) to ``path``; return what the metadata keeps of it. In int8 if the
    served features point where the model's do (mean cosine similarity over the check
    drawings at least ``AGREEMENT``), else in float."""
    bitmaps = _sample(check, CHECK_SIZE)
    reference = unit(KerasRuntime(network).batch(bitmaps))
    partial = path.with_name(path.stem + ".partial.tflite")

    def similarity() -> float:
        return float((reference * unit(LiteRuntime(partial).batch(bitmaps))).sum(axis=1).mean())

    try:
        _convert(network, partial, _sample(calibration, CALIBRATION_SIZE))
        quantization, agreement = "int8", similarity()
        if agreement < AGREEMENT:
            _convert(network, partial, None)
            quantization, agreement = "float32", similarity()
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return {"features": path.name, "quantization": quantization,
            "mean_cosine_similarity": agreement}


def _convert(model, path: Path, calibration: np.ndarray | None) -> None:
    """Export the mirror-averaged model; quantised to int8 when calibration data is given
    (weights and activations; input and output stay float)."""
    options = {}
    if calibration is not None:
        import tensorflow as tf

        options = {"optimizations": [tf.lite.Optimize.DEFAULT],
                   "representative_dataset":
                       lambda: ([sample[np.newaxis]] for sample in calibration)}
    mirror_averaged(model).export(str(path), format="litert", verbose=False, **options)


def _compare(reference: np.ndarray, served: np.ndarray) -> tuple[float, float]:
    """Share of rows with the same top answer, and the largest probability difference."""
    return (float((reference.argmax(axis=1) == served.argmax(axis=1)).mean()),
            float(np.abs(reference - served).max()))


def _sample(bitmaps: np.ndarray, count: int) -> np.ndarray:
    """Up to ``count`` of ``bitmaps``, spread evenly, as float32 of shape (N, 28, 28, 1)."""
    if len(bitmaps) == 0:
        raise ModelError("Exporting needs real drawings to calibrate and check on; none given.")
    picked = np.linspace(0, len(bitmaps) - 1, min(count, len(bitmaps))).round().astype(int)
    return as_batch(np.asarray(bitmaps)[picked])
