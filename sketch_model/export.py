"""Export a trained ``.keras`` model to LiteRT, so the web app can serve it without TensorFlow.

    python -m sketch_model.export --model sketch_model/models/animals

Writes ``<name>.tflite`` beside the model: the network with the mirror average built in, for one
drawing at a time, the way the app calls it. Training does this itself; the command is for
models trained before, or copied without their export. The export is checked against the Keras
model before it is kept, and the metadata records the ``.keras`` file's digest, so the app never
serves an export of another version of the model (``classifier.litert_export``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .classifier import ModelError, file_digest, load_keras, model_path, read_metadata
from .runtimes import KerasRuntime, LiteRuntime, mirror_averaged
from .scribbles import scribbles

TOLERANCE = 1e-4  # largest difference in any probability between the export and the model


def export_litert(model, keras_path: Path) -> dict:
    """Write the LiteRT export of ``model`` (saved at ``keras_path``); return its metadata."""
    target = keras_path.with_suffix(".tflite")
    partial = keras_path.with_name(keras_path.stem + ".partial.tflite")
    mirror_averaged(model).export(str(partial), format="litert", verbose=False)
    try:
        # The reference averages two model.predict calls: an independent path to the answer.
        difference = _largest_difference(KerasRuntime(model), LiteRuntime(partial))
        if difference > TOLERANCE:
            raise ModelError(f"The LiteRT export of {keras_path} differs from the model by "
                             f"{difference:.2g} (at most {TOLERANCE} allowed); not kept.")
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return {"file": target.name, "keras_sha256": file_digest(keras_path),
            "max_difference": float(difference)}


def _largest_difference(reference: KerasRuntime, export: LiteRuntime) -> float:
    """Compare both on doodle-like bitmaps (synthetic, so no dataset is needed here)."""
    bitmaps = scribbles(48, seed=0).reshape(-1, 28, 28, 1).astype(np.float32)
    return float(np.abs(reference.batch(bitmaps) - export.batch(bitmaps)).max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sketch_model.export",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None,
                        help="model path, with or without .keras (default: the shipped model)")
    args = parser.parse_args(argv)
    try:
        path = model_path(args.model)
        if not path.is_file():
            raise ModelError(f"Model file {path} is missing.")
        metadata = read_metadata(path)
        metadata["litert"] = export_litert(load_keras(path), path)
    except ModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    path.with_suffix(".json").write_text(json.dumps(metadata, indent=2) + "\n")
    export = path.with_suffix(".tflite")
    print(f"saved {export} ({export.stat().st_size / 1e6:.2f} MB); largest difference from "
          f"the Keras model {metadata['litert']['max_difference']:.2g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
