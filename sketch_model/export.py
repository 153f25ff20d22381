"""Export a trained ``.keras`` model to LiteRT, so the web app can serve it without TensorFlow.

    python -m sketch_model.export --model sketch_model/models/animals [--source DIR_OR_URL]

Writes ``<name>.tflite`` beside the model: the network with the mirror average built in, for one
drawing at a time, the way the app calls it. Its weights and activations are 8-bit integers
(input and output stay float): on a CPU that runs three to four times faster than float, in a
quarter of the file, and the answers stay those of the model.

Quantising needs real drawings, to learn the range of each layer's activations, and so does
checking the result; training passes its own, and the command reloads the model's training data
from its metadata (``--source`` as in ``sketch_model.evaluate``). The int8 export is kept if its
top answer matches the Keras model's on at least ``AGREEMENT`` of the validation drawings and no
probability differs by more than ``TOLERANCE``; otherwise the export is float. The metadata
records the ``.keras`` file's digest, so the app never serves an export of another version of
the model (``classifier.litert_export``). The unsure threshold and test metrics in the metadata
are the export's own (tuned and measured again by the command): it is what people meet.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .classifier import ModelError, file_digest, load_keras, model_path, read_metadata
from .evaluate import add_model_arguments, reload_data
from .runtimes import KerasRuntime, LiteRuntime, mirror_averaged

AGREEMENT = 0.99  # least share of check drawings whose top answer must match the model's
TOLERANCE = 0.15  # largest difference allowed in any probability of any check drawing
FLOAT_TOLERANCE = 1e-4  # the same for a float export, which must compute what the model does
CALIBRATION_SIZE = 500  # training drawings that set the activation ranges
CHECK_SIZE = 2000  # validation drawings the export is compared on (at most)


def export_litert(model, keras_path: Path, calibration: np.ndarray, check: np.ndarray) -> dict:
    """Write the LiteRT export of ``model`` (saved at ``keras_path``); return its metadata.

    ``calibration`` and ``check`` are real bitmaps (training and validation ones). A model
    whose int8 version strays from it (an undertrained one, with many near ties, can) is
    exported in float instead: slower, never wrong.
    """
    target = keras_path.with_suffix(".tflite")
    partial = keras_path.with_name(keras_path.stem + ".partial.tflite")
    bitmaps = _sample(check, CHECK_SIZE)
    reference = KerasRuntime(model).batch(bitmaps)
    entry = {"file": target.name, "keras_sha256": file_digest(keras_path),
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
                raise ModelError(f"The LiteRT export of {keras_path} differs from the model "
                                 f"by {difference:.2g} (at most {FLOAT_TOLERANCE} allowed); "
                                 "not kept.")
            entry["quantization"] = "float32"
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return {**entry, "top_answer_agreement": agreement, "max_difference": difference}


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
    return np.asarray(bitmaps)[picked].reshape(-1, 28, 28, 1).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sketch_model.export",
                                     description=__doc__.split("\n\n")[0])
    add_model_arguments(parser)
    args = parser.parse_args(argv)

    import quickdraw

    from .finish import finish_model

    try:
        path = model_path(args.model)
        if not path.is_file():
            raise ModelError(f"Model file {path} is missing.")
        metadata = read_metadata(path)
        data = reload_data(metadata, args.source, args.strokes_source, args.cache,
                           holdout_strokes=True)
        # The export is what the app serves: its tuning and test figures replace the old ones.
        finish_model(load_keras(path), path, metadata, data)
    except (ModelError, quickdraw.QuickDrawError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    entry = metadata["litert"]
    export = path.with_name(entry["file"])
    print(f"saved {export} ({export.stat().st_size / 1e6:.2f} MB, {entry['quantization']}): "
          f"same top answer as the Keras model on {entry['top_answer_agreement']:.1%} of "
          f"{entry['checked_on']} validation drawings, probabilities at most "
          f"{entry['max_difference']:.2g} apart; metrics and tuning updated in "
          f"{path.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
