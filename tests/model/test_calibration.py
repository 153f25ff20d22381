"""Calibration: the temperature that makes confidence mean what it says, and how it is measured."""

import json

import numpy as np
import pytest

from sketch_model.inference.classifier import Classifier, scaled
from sketch_model.modelcard import ModelCard, ModelError
from sketch_model.training.calibration import (
    brier_score,
    fit_temperature,
    reliability,
    save_reliability_picture,
)
from sketch_model.training.dataset import Dataset
from sketch_model.training.metrics import tune_and_score
from testkit.models import TableRuntime, table_drawings


def overconfident(rows: int, classes: int, factor: float, seed: int):
    """Labels drawn from softmax(z), and the log probabilities of a model that says
    ``factor`` * z: sure of itself ``factor`` times more than it should be."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.2, (rows, classes))
    truth = scaled(z, 1.0)
    labels = np.array([rng.choice(classes, p=p) for p in truth])
    return factor * z, labels


def test_the_temperature_of_an_overconfident_model_is_found():
    logs, labels = overconfident(6000, 7, factor=3.0, seed=1)
    temperature = fit_temperature(logs, labels)
    assert temperature == pytest.approx(3.0, rel=0.08)
    best = brier_score(logs, labels, temperature)
    for other in (temperature * 0.8, temperature * 1.25, 1.0):
        assert brier_score(logs, labels, other) > best


def test_a_few_confident_mistakes_do_not_soften_every_answer():
    """Log likelihood is unbounded: a few drawings the model is sure of and wrong about
    would pull the temperature up and make every right answer sound unsure. The Brier score
    keeps the temperature where the many right answers say it is."""
    logs, labels = overconfident(6000, 7, factor=1.0, seed=5)
    wrong = np.arange(60)
    logs[wrong] = 0.0
    logs[wrong, (labels[wrong] + 1) % 7] = 12.0  # 1%: certain, and wrong
    assert fit_temperature(logs, labels) == pytest.approx(1.0, abs=0.15)
    before, after = scaled(logs, 1.0), scaled(logs, fit_temperature(logs, labels))
    correct = before.argmax(1) == labels
    assert reliability(after.max(1), correct)["ece"] < 0.03


def test_scaling_leaves_every_answer_and_brings_the_error_down():
    logs, labels = overconfident(6000, 7, factor=3.0, seed=2)
    before, after = scaled(logs, 1.0), scaled(logs, fit_temperature(logs, labels))
    assert np.array_equal(before.argmax(1), after.argmax(1))
    correct = before.argmax(1) == labels
    ece_before = reliability(before.max(1), correct)["ece"]
    ece_after = reliability(after.max(1), correct)["ece"]
    assert ece_before > 0.1 and ece_after < 0.03


def test_expected_calibration_error_by_hand():
    confidence = np.array([0.9] * 10 + [0.55] * 10)
    correct = np.array([True] * 6 + [False] * 4 + [True] * 5 + [False] * 5)
    table = reliability(confidence, correct, bins=15)
    # bin of 0.9: accuracy 0.6, gap 0.3; bin of 0.55: accuracy 0.5, gap 0.05; equal sizes
    assert table["ece"] == pytest.approx((0.3 + 0.05) / 2)
    assert sum(b["count"] for b in table["bins"]) == 20 and len(table["bins"]) == 15
    assert reliability(np.array([1.0, 0.0]), np.array([True, False]))["ece"] == 0.0


def test_tuning_a_stand_in_model_with_known_overconfidence_gets_its_error_down(tmp_path):
    """Through the same tuning training runs: the temperature is fitted on validation, and
    the test split's calibration error, before and after, lands in the metadata."""
    rng = np.random.default_rng(3)
    truth = rng.choice(3, 4000, p=[0.4, 0.4, 0.2])  # cat, dog, other
    z = rng.normal(0, 1.0, (4000, 3)) + 2.0 * np.eye(3)[truth] - 4.0 * np.eye(3)[2]
    labels = np.array([rng.choice(3, p=p) for p in scaled(z, 1.0)])
    x = table_drawings(4000)
    data = Dataset(["cat", "dog", "other"])
    for split, rows in (("validation", slice(0, 2000)), ("test", slice(2000, 4000))):
        data.x[split], data.y[split] = x[rows], labels[rows]
    metadata = {"classes": ["cat", "dog", "other"], "reject_class": "other"}
    classifier = Classifier(TableRuntime(scaled(3.0 * z, 1.0)),
                            ModelCard(tmp_path / "t.keras", metadata))
    metrics = tune_and_score(classifier, data)
    calibration = metrics["calibration"]
    assert metadata["temperature"] == classifier.temperature == calibration["temperature"]
    assert 2.0 < classifier.temperature < 4.0
    assert calibration["ece_before"] > 0.08 and calibration["ece"] < 0.03
    assert sum(b["count"] for b in calibration["bins"]) == (data.y["test"] < 2).sum()
    picture = tmp_path / "reliability.png"
    save_reliability_picture({"ece": calibration["ece_before"],
                              "bins": calibration["bins_before"]}, calibration, "t", picture)
    assert picture.read_bytes().startswith(b"\x89PNG")


def test_the_classifier_applies_the_temperature_after_the_bias(tmp_path):
    card = ModelCard.new(tmp_path / "m.keras", classes=["a", "b"], reject_class=None,
                         class_bias={"b": float(np.log(2))}, temperature=2.0)
    classifier = Classifier(TableRuntime([[0.8, 0.2]]), card)
    # log(0.8), log(0.2) + log(2) = log(0.4); halved: sqrt(0.8) : sqrt(0.4)
    expected = np.array([np.sqrt(0.8), np.sqrt(0.4)]) / (np.sqrt(0.8) + np.sqrt(0.4))
    assert classifier.adjusted(np.array([[0.8, 0.2]]))[0] == pytest.approx(expected)


@pytest.mark.parametrize("temperature", [0, -1, 100, "2", True])
def test_a_temperature_out_of_range_is_refused(tmp_path, temperature):
    path = tmp_path / "m.keras"
    path.write_bytes(b"")  # reading a card checks the metadata, not the network
    path.with_suffix(".json").write_text(json.dumps({"classes": ["a", "b"],
                                                     "temperature": temperature}))
    with pytest.raises(ModelError, match="temperature"):
        ModelCard.read(path)
