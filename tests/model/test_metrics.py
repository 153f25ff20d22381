"""Tuning a classifier's decisions on the validation split: the class bias for balanced
accuracy, and the "unsure" thresholds (``sketch_model.training.metrics``), on stand-in models
whose probabilities are chosen."""


import numpy as np
import pytest

from sketch_model.training.dataset import Dataset
from sketch_model.training.recipe import KNOWN_UNSURE
from sketch_model.training.metrics import (
    tune_and_score,
    tune_class_bias,
    tune_thresholds,
    validation_outputs,
)
from testkit.models import table_classifier, table_drawings


def test_class_bias_is_tuned_on_validation_for_balanced_accuracy(tmp_path):
    """A model that leans towards "cat": every dog it sees is a near tie it loses. The tuned
    shift favours "dog" just enough, raising balanced accuracy, and the tuning is recorded."""
    cats = [[0.9, 0.1]] * 60 + [[0.6, 0.4]] * 40
    dogs = [[0.55, 0.45]] * 30 + [[0.2, 0.8]] * 70
    table = np.array(cats + dogs)
    x = table_drawings(200)
    y = np.array([0] * 100 + [1] * 100)
    data = Dataset(["cat", "dog"], x={"validation": x, "test": x}, y={"validation": y, "test": y})
    metadata = {"classes": ["cat", "dog"], "unsure_threshold": 0.0}
    classifier = table_classifier(table, metadata, tmp_path / "table.keras")
    assert classifier.probabilities(x).argmax(1)[100:].mean() == pytest.approx(0.7)

    bias = tune_class_bias(classifier, validation_outputs(classifier, data))
    assert bias["dog"] > 0 > bias["cat"] and bias["dog"] - bias["cat"] <= 1.0
    classifier.class_bias = bias
    predicted = classifier.probabilities(x).argmax(1)
    assert (predicted[:100] == 0).mean() == 1.0 and (predicted[100:] == 1).mean() == 1.0

    metrics = tune_and_score(classifier, data)
    assert metrics["balanced_accuracy"] == 1.0
    assert metadata["class_bias"] == bias and metadata["metrics"] is metrics


def _validation_set(known_rows, other_rows):
    """A Dataset whose validation split has these probability rows (cat, dog, other)."""
    table = list(known_rows) + list(other_rows)
    labels = [int(np.argmax(row[:2])) for row in known_rows] + [2] * len(other_rows)
    data = Dataset(classes=["cat", "dog", "other"])
    data.x["validation"] = table_drawings(len(table))
    data.y["validation"] = np.array(labels)
    return table, data


def test_thresholds_are_tuned_to_catch_other_while_sparing_the_animals():
    rng = np.random.default_rng(3)
    known = [(p, 0.95 - p - o, o) for p, o in zip(rng.uniform(0.5, 0.9, 100),
                                                   rng.uniform(0.0, 0.05, 100))]
    other = [(0.7 - o, 0.3, o) for o in rng.uniform(0.1, 0.3, 50)]  # "other" never outweighs
    table, data = _validation_set(known, other)
    classifier = table_classifier(table, {"classes": data.classes, "reject_class": "other"})
    floor, other_threshold = tune_thresholds(classifier, validation_outputs(classifier, data))
    assert other_threshold < 0.1  # a threshold of its own catches them
    classifier.unsure_threshold, classifier.other_threshold = floor, other_threshold
    probabilities = classifier.probabilities(data.x["validation"])
    unsure = classifier.unsure(probabilities)
    assert unsure[:100].mean() <= KNOWN_UNSURE and unsure[100:].mean() == 1.0

    for budget in (0.02, 0.10, 0.25):  # a recipe's known_unsure
        floor, other_threshold = tune_thresholds(classifier, validation_outputs(
            classifier, data), budget)
        unsure = classifier.unsure(probabilities, floor, other_threshold)
        assert budget - 0.02 <= unsure[:100].mean() <= budget, "as many as allowed, no more"

    table, data = _validation_set(known, [])
    classifier = table_classifier(table, {"classes": data.classes, "reject_class": "other"})
    no_other = validation_outputs(classifier, data)
    assert tune_thresholds(classifier, no_other)[1] == 1.0  # no "other" drawings: no evidence


class CountingRuntime:
    """A runtime that counts the drawings it is asked about, by split."""

    def __init__(self, runtime, splits):
        self.runtime, self.splits, self.asked = runtime, splits, []
        self.name, self.outputs = runtime.name, runtime.outputs

    def batch(self, x):
        for split, drawings in self.splits.items():
            if len(x) == len(drawings) and np.array_equal(np.asarray(x, np.uint8), drawings):
                self.asked.append(split)
        return self.runtime.batch(x)


def test_the_validation_split_goes_through_the_network_once():
    """Class bias, temperature, both thresholds and the accept threshold all tune from one
    pass of the validation split; the test split is measured once too."""
    rng = np.random.default_rng(5)
    known = [(p, 0.95 - p - o, o) for p, o in zip(rng.uniform(0.4, 0.9, 120),
                                                   rng.uniform(0.0, 0.05, 120))]
    other = [(0.6 - o, 0.3, o + 0.1) for o in rng.uniform(0.0, 0.3, 60)]
    table, data = _validation_set(known, other)
    data.x["test"], data.y["test"] = data.x["validation"], data.y["validation"]
    classifier = table_classifier(table, {"classes": data.classes, "reject_class": "other"})
    classifier.runtime = counting = CountingRuntime(classifier.runtime,
                                                    {"validation": data.x["validation"]})
    tune_and_score(classifier, data)
    assert counting.asked == ["validation", "validation"], \
        "one pass to tune, and the test split (the same drawings here) once to measure"
    for key in ("class_bias", "temperature", "unsure_threshold", "other_threshold",
                "accept_threshold"):
        assert key in classifier.metadata
