"""Tune a classifier's decisions on the validation split and measure it on the test split.

Tuning, in order: a log-probability shift per class (post-hoc logit adjustment), the
temperature (``calibration``), then the "unsure" thresholds and the game's accept threshold.
The validation split goes through the network once (``validation_outputs``); every tuner
works from those outputs, since the bias and temperature are applied to them, not to the
drawings.
Measuring: accuracy, balanced and
top-3 accuracy, per-class figures and the confusion matrix, how often it says "unsure" on the
known classes, on "other" and on the held-out categories it never trained on, and the
calibration error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..facts import as_batch
from ..inference.classifier import Classifier
from .calibration import fit_temperature, reliability
from .dataset import Dataset
from .recipe import KNOWN_UNSURE

# Class bias search: log-probability shifts within +-BIAS_RANGE, in BIAS_STEP steps. Narrow on
# purpose: the smallest classes have ~150 validation drawings, and wider shifts fit their noise.
BIAS_RANGE, BIAS_STEP, BIAS_SWEEPS = 0.5, 0.05, 3
# The game (/play) accepts a drawing as its prompt when the prompt's probability reaches the
# accept threshold: the lowest at which, for EVERY prompt class, at most this share of the other
# classes' validation drawings (and "other"'s) would be accepted as that prompt.
MAX_FALSE_ACCEPT = 0.02
ACCEPT_GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)  # thresholds considered, lowest first


@dataclass(frozen=True)
class Outputs:
    """The network's outputs for the validation split (before class bias and temperature),
    with its labels and which rows are of a known class rather than "other"."""

    outputs: np.ndarray
    y: np.ndarray
    known: np.ndarray


def validation_outputs(classifier: Classifier, data: Dataset) -> Outputs:
    """The one pass of the validation split through ``classifier``'s network."""
    return Outputs(classifier.runtime.batch(as_batch(data.x["validation"])),
                   data.y["validation"], data.known_mask("validation"))


def tune_and_score(classifier: Classifier, data: Dataset) -> dict:
    """Tune ``classifier``'s decisions on the validation split (class bias, temperature, then
    the "unsure" thresholds), score it on the test split, and record all of that in its
    metadata (what a model's ``.json`` keeps about it). Returns the test metrics with the
    rejection and calibration figures."""
    validation = validation_outputs(classifier, data)
    classifier.class_bias = tune_class_bias(classifier, validation)
    classifier.temperature = tune_temperature(classifier, validation)
    budget = data.recipe.known_unsure if data.recipe else KNOWN_UNSURE
    classifier.unsure_threshold, classifier.other_threshold = tune_thresholds(
        classifier, validation, budget)
    accept = tune_accept_threshold(classifier, validation)
    metrics = measure(classifier, data)
    classifier.metadata.update(class_bias=classifier.class_bias,
                               temperature=classifier.temperature,
                               unsure_threshold=classifier.unsure_threshold,
                               other_threshold=classifier.other_threshold,
                               accept_threshold=accept, metrics=metrics)
    return metrics


def tune_temperature(classifier: Classifier, validation: Outputs) -> float:
    """The temperature of lowest Brier score on the known classes' validation drawings
    (``calibration.fit_temperature``), with the classifier's class bias applied.

    The confidence the app shows is the best known class's probability, and people mostly
    draw the known classes: fitted on those drawings, it says how often such an answer is
    right. (Some probability always stays with "other", and fitted on every drawing the
    confidence on the known classes' own drawings would come out a little low.)
    """
    rows = validation.known
    return fit_temperature(classifier.biased_logs(validation.outputs[rows]),
                           validation.y[rows])


def measure(classifier: Classifier, data: Dataset) -> dict:
    """The test metrics of ``classifier`` as it is (no tuning): ``score``, with its
    ``rejection`` and ``calibration`` figures."""
    outputs = classifier.runtime.batch(data.x["test"].astype(np.float32))
    unscaled = classifier.adjusted(outputs, temperature=1.0)
    probabilities = classifier.adjusted(outputs)
    metrics = score(classifier, probabilities, data.y["test"])
    metrics["rejection"] = rejection(classifier, data, probabilities)
    metrics["calibration"] = calibration(classifier, unscaled, probabilities, data.y["test"])
    return metrics


def calibration(classifier: Classifier, before: np.ndarray, after: np.ndarray,
                y: np.ndarray) -> dict:
    """How well the confidence shown (the best known class's probability) matches how often
    that class is right, on the known classes' test drawings: expected calibration error
    and its bins, with the temperature and before it (``before``: probabilities at 1)."""
    rows = np.isin(y, classifier.answer_columns)

    def table(probabilities: np.ndarray) -> dict:
        known = probabilities[rows][:, classifier.answer_columns]
        correct = classifier.answer_columns[known.argmax(axis=1)] == y[rows]
        return reliability(known.max(axis=1), correct)

    shown, unscaled = table(after), table(before)
    return {"temperature": classifier.temperature, "ece": shown["ece"],
            "ece_before": unscaled["ece"], "bins": shown["bins"],
            "bins_before": unscaled["bins"]}


def tune_class_bias(classifier: Classifier, validation: Outputs) -> dict[str, float]:
    """Log-probability shifts for the known classes that maximise, on the validation split,
    the mean of balanced accuracy and the lowest recall: right as often as possible, and no
    class given up for the average.

    Training weights the classes equally, yet the network still leans a little towards some
    (between cat and dog, say, whichever it learned more firmly). This is the post-hoc logit
    adjustment of the balanced-error literature, found by coordinate ascent on a narrow grid
    and centred on zero. The "other" class keeps no shift: the threshold deals with it.
    """
    rows = validation.known
    known = classifier.answer_columns
    logs = np.log(np.clip(validation.outputs[rows][:, known], 1e-12, None))
    y = np.searchsorted(known, validation.y[rows])
    present = np.bincount(y, minlength=len(known)) > 0

    def objective(bias: np.ndarray) -> float:
        predicted = (logs + bias).argmax(axis=1)
        recalls = [(predicted[y == k] == k).mean() for k in range(len(known)) if present[k]]
        return float(np.mean(recalls) + min(recalls)) / 2

    bias = np.zeros(len(known))
    best = objective(bias)
    grid = np.round(np.arange(-BIAS_RANGE, BIAS_RANGE + BIAS_STEP / 2, BIAS_STEP), 4)
    for _ in range(BIAS_SWEEPS):
        for k in range(len(known)):
            for value in grid:
                trial = bias.copy()
                trial[k] = value
                if (figure := objective(trial)) > best + 1e-12:
                    best, bias = figure, trial
    bias -= bias.mean()
    return {label: round(float(b), 4) for label, b in zip(classifier.labels, bias) if b}


def tune_thresholds(classifier: Classifier, validation: Outputs,
                    budget: float = KNOWN_UNSURE) -> tuple[float, float]:
    """The "unsure" thresholds (``unsure_threshold``, ``other_threshold``): as honest as
    possible without nagging, judged on the validation split only.

    Each pair considered leaves at most ``budget`` of the known classes' drawings "unsure"
    (the recipe's ``known_unsure``). Without an "other" class (or "other" drawings to judge
    by) that is the highest confidence threshold that does so, and "other" keeps only its
    rule of outweighing.
    With one, every confidence threshold on a grid is paired with the lowest "other"
    threshold that still does so, and the pair that is unsure about the most "other"
    drawings wins (on a tie, the higher confidence threshold: it also catches drawings the
    model is torn about without calling them "other"). The probabilities are the app's
    (class bias and temperature applied).
    """
    probabilities = classifier.adjusted(validation.outputs)
    known = probabilities[validation.known]

    def known_rate(floor: float, other: float = 1.0) -> float:
        return float(classifier.unsure(known, floor, other).mean())

    other_rows = ~validation.known
    if classifier.reject_class is None or not other_rows.any():
        floor = next((t for t in np.round(np.arange(0.95, 0.0, -0.01), 2)
                      if known_rate(t) <= budget), 0.0)
        return float(floor), 1.0
    others = probabilities[other_rows]
    floors = [t for t in np.round(np.arange(0.0, 0.96, 0.05), 2)
              if known_rate(t) <= budget]
    best = (-1.0, 0.0, 1.0)
    for floor in floors:
        other = next(t for t in np.round(np.arange(0.01, 1.001, 0.01), 2)
                     if known_rate(floor, t) <= budget)
        caught = float(classifier.unsure(others, floor, other).mean())
        if caught >= best[0]:
            best = (caught, float(floor), float(other))
    return best[1], best[2]


def false_accept_rates(probabilities: np.ndarray, y: np.ndarray, columns: np.ndarray,
                       threshold: float) -> np.ndarray:
    """Per prompt class (output ``columns``), the share of drawings NOT of that class whose
    probability for it is at or above ``threshold``: how often the game would take a drawing
    of something else for the prompt. A class with no other drawings counts 0."""
    rates = np.zeros(len(columns))
    for i, column in enumerate(columns):
        others = y != column
        if others.any():
            rates[i] = float((probabilities[others, column] >= threshold).mean())
    return rates


def tune_accept_threshold(classifier: Classifier, validation: Outputs,
                          max_false: float = MAX_FALSE_ACCEPT) -> float:
    """The game's accept threshold (``accept_threshold``), tuned on the validation split:
    the lowest on ACCEPT_GRID at which no prompt class takes more than ``max_false`` of the
    other classes' drawings (the "other" class's included) for itself.

    The worst class decides, not the mean: a prompt that were accepted for one drawing of
    something else in ten would make the game feel broken for that animal, however well the
    others do. Lowest, because every point above it makes the person draw longer for nothing.
    The probabilities are the app's own (class bias and temperature applied, so tune those
    first), as the page reads them from ``/api/predict``'s ``ranking``. If no grid value
    satisfies the bound, the highest is returned.
    """
    probabilities = classifier.adjusted(validation.outputs)
    y = validation.y
    for threshold in ACCEPT_GRID:
        rates = false_accept_rates(probabilities, y, classifier.answer_columns, threshold)
        if rates.max() <= max_false:
            return float(threshold)
    return float(ACCEPT_GRID[-1])


def score(classifier: Classifier, probabilities: np.ndarray, y: np.ndarray) -> dict:
    """Test metrics over the known classes (ARCHITECTURE.md, "Model files": ``metrics``).

    Rows of the "other" class are left out here: they are scored by ``rejection``. The answer
    is the best known class; "unsure" is not an answer, so these figures show how well the
    network tells the known classes apart.
    """
    known = classifier.answer_columns
    rows = np.isin(y, known)
    probabilities, y = probabilities[rows][:, known], np.searchsorted(known, y[rows])
    predicted = probabilities.argmax(axis=1)
    top3 = np.argsort(-probabilities, axis=1)[:, :3]
    n = len(known)
    confusion = np.zeros((n, n), dtype=int)
    np.add.at(confusion, (y, predicted), 1)
    support = confusion.sum(axis=1)
    recall = np.divide(np.diag(confusion), support, out=np.zeros(n), where=support > 0)
    called = confusion.sum(axis=0)
    precision = np.divide(np.diag(confusion), called, out=np.zeros(n), where=called > 0)
    return {
        "accuracy": float((predicted == y).mean()),
        "balanced_accuracy": float(recall[support > 0].mean()),
        "top3_accuracy": float((top3 == y[:, None]).any(axis=1).mean()),
        "per_class": {label: {"precision": float(precision[i]), "recall": float(recall[i]),
                              "support": int(support[i])}
                      for i, label in enumerate(classifier.labels)},
        "confusion_matrix": confusion.tolist(),
    }


def rejection(classifier: Classifier, data: Dataset, test_probabilities: np.ndarray) -> dict:
    """How often the model says "unsure": on the known classes' test drawings (should be
    rare), on the "other" class's test drawings, and on categories it never saw (should be
    most of them)."""
    known_rows = data.known_mask("test")
    unsure = classifier.unsure(test_probabilities)
    y = data.y["test"][known_rows]
    per_class_recall = [
        float(((test_probabilities[known_rows][y == i].argmax(axis=1) == i)
               & ~unsure[known_rows][y == i]).mean())
        for i in sorted(set(y.tolist()))]
    report = {
        "unsure_threshold": classifier.unsure_threshold,
        "other_threshold": classifier.other_threshold,
        "known_unsure_rate": float(unsure[known_rows].mean()),
        "balanced_accuracy_with_unsure": float(np.mean(per_class_recall)),
    }
    if (~known_rows).any():
        report["other_unsure_rate"] = float(unsure[~known_rows].mean())
    if data.holdout:
        rates = {name: float(classifier.unsure(classifier.probabilities(x)).mean())
                 for name, x in data.holdout.items()}
        report.update(holdout_rates(rates, data.recipe.animals if data.recipe else ()))
    return report


def holdout_rates(rates: dict[str, float], animals) -> dict:
    """Per held-out category "unsure" rates summed up: the mean over categories (each counts
    the same, whatever its number of drawings), over all and over animals and things apart."""
    animal_rates = [rate for name, rate in rates.items() if name in animals]
    thing_rates = [rate for name, rate in rates.items() if name not in animals]
    report = {"holdout_unsure_rate": float(np.mean(list(rates.values()))),
              "holdout_unsure_rate_per_class": rates}
    if animal_rates:
        report["holdout_animals_unsure_rate"] = float(np.mean(animal_rates))
    if thing_rates:
        report["holdout_things_unsure_rate"] = float(np.mean(thing_rates))
    return report
