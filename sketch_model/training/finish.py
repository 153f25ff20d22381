"""Finish a trained network: the files the app serves, with their decisions tuned and measured,
and the gallery of drawings that shows how others drew each class (``gallery``).

Training and ``python -m sketch_model.export`` both end here. The LiteRT export is written
first, because people meet it, not the ``.keras`` file: the class bias, temperature and
"unsure" thresholds are tuned on its answers to the validation split, and the metrics
measured on its answers to the test split, held-out categories and canvases.
"""

from __future__ import annotations

from ..inference.classifier import Classifier
from ..inference.runtimes import LiteRuntime
from ..modelcard import ModelCard
from .calibration import save_reliability_picture
from .dataset import Dataset
from .gallery import write_gallery
from .litert import export_litert
from .metrics import tune_and_score
from .open_world import app_path
from .report import format_report, save_confusion_picture


def finish_model(model, card: ModelCard, data: Dataset) -> Classifier:
    """Export ``model`` (saved at ``card.path``) to LiteRT, tune and measure the export on
    ``data``, and write the card with its pictures (``ModelCard``). Prints the report; returns
    the served classifier."""
    card.metadata["litert"] = export_litert(model, card, data.x["train"], data.x["validation"])
    classifier = Classifier(LiteRuntime(card.litert_path), card)
    metrics = tune_and_score(classifier, data)  # records the tuning in the metadata too
    metrics["app_path"] = app_path(classifier, data, seed=data.recipe.seed if data.recipe else 0)
    card.metadata["gallery"] = write_gallery(model, card, data, classifier)
    card.save()
    title = f"{card.name} ({card.metadata.get('architecture', 'model')}) on its test split"
    save_confusion_picture(metrics, title, card.confusion_path)
    calibration = metrics["calibration"]
    save_reliability_picture({"ece": calibration["ece_before"],
                              "bins": calibration["bins_before"]},
                             calibration, f"{card.name}: confidence against accuracy on its "
                             "classes' test split", card.reliability_path)
    print(format_report(metrics, classifier.class_bias))
    return classifier
