"""Finish a trained network: the files the app serves, with their decisions tuned and measured.

Training and ``python -m sketch_model.export`` both end here. The LiteRT export is written
first, because people meet it, not the ``.keras`` file: the class bias, temperature and
"unsure" thresholds are tuned on its answers to the validation split, and the metrics
measured on its answers to the test split, held-out categories and canvases.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from .calibration import save_reliability_picture
from .classifier import Classifier
from .dataset import Dataset
from .evaluate import format_report, save_confusion_picture, tune_and_score
from .export import export_litert
from .open_world import app_path
from .runtimes import LiteRuntime


def finish_model(model, path: Path, metadata: dict, data: Dataset) -> Classifier:
    """Export ``model`` (saved at ``path``) to LiteRT, tune and measure the export on
    ``data``, and write ``<name>.json``, ``<name>-confusion.png`` and
    ``<name>-reliability.png`` beside it. Prints the report; returns the served classifier."""
    metadata["litert"] = entry = export_litert(model, path, data.x["train"],
                                               data.x["validation"])
    classifier = Classifier(LiteRuntime(path.with_name(entry["file"])), metadata, path)
    metrics = tune_and_score(classifier, data)  # records the tuning in the metadata too
    metrics["app_path"] = app_path(classifier, data, seed=data.recipe.seed if data.recipe else 0)
    metadata["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    path.with_suffix(".json").write_text(json.dumps(metadata, indent=2) + "\n")
    title = f"{path.stem} ({metadata.get('architecture', 'model')}) on its test split"
    save_confusion_picture(metrics, title, path.with_name(path.stem + "-confusion.png"))
    calibration = metrics["calibration"]
    save_reliability_picture({"ece": calibration["ece_before"],
                              "bins": calibration["bins_before"]},
                             calibration, f"{path.stem}: confidence against accuracy on its "
                             "classes' test split", path.with_name(path.stem + "-reliability.png"))
    print(format_report(metrics, classifier.class_bias))
    return classifier
