"""Confidence that means what it says: temperature scaling, the expected calibration error and
a reliability diagram.

A network's probabilities need not mean what they say. Temperature scaling (Guo et al., *On
Calibration of Modern Neural Networks*, 2017) divides every log probability by one number, the
temperature, fitted on the validation split: it changes no answer and no ranking, only how sure
the answers sound. We fit it for the lowest Brier score (the mean squared distance between the
probabilities and the true answer), not the lowest negative log likelihood Guo et al. use: the
log likelihood is unbounded, so the few drawings the network is confidently wrong about (a
dog drawn like a cat) dominate it, and on our models it softened every other answer too. The
expected calibration error then measures the gap between confidence and accuracy on the test
split: the drawings are put in 15 bins of equal width by confidence, and the bins' differences
between mean confidence and accuracy are averaged, weighted by their sizes.
"""

from __future__ import annotations

import numpy as np

from ..inference.classifier import scaled
from ..modelcard import TEMPERATURES

BINS = 15


def brier_score(log_probabilities: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean squared distance between the probabilities at ``temperature`` and ``labels``."""
    probabilities = scaled(log_probabilities, temperature)
    probabilities[np.arange(len(labels)), labels] -= 1.0
    return float(np.mean(np.square(probabilities).sum(axis=1)))


def fit_temperature(log_probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature of lowest Brier score on these rows (between 0.05 and 20).

    The score is unimodal in the log of the temperature, so a golden-section search finds it
    to a thousandth in about 30 evaluations.
    """
    if len(labels) == 0:
        return 1.0
    low, high = np.log(TEMPERATURES)
    ratio = (np.sqrt(5) - 1) / 2

    def loss(log_t: float) -> float:
        return brier_score(log_probabilities, labels, float(np.exp(log_t)))

    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = loss(a), loss(b)
    while high - low > 1e-3:
        if fa <= fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = loss(a)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = loss(b)
    return round(float(np.exp((low + high) / 2)), 4)


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = BINS) -> dict:
    """The expected calibration error of answers given with ``confidence`` (0..1) that were
    ``correct``, and the bins it is made of (for the metadata and the diagram)."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    table, error = [], 0.0
    for number in range(bins):
        rows = index == number
        count = int(rows.sum())
        entry = {"low": round(float(edges[number]), 4), "high": round(float(edges[number + 1]), 4),
                 "count": count}
        if count:
            entry["confidence"] = float(confidence[rows].mean())
            entry["accuracy"] = float(correct[rows].mean())
            error += count * abs(entry["confidence"] - entry["accuracy"])
        table.append(entry)
    return {"ece": error / max(len(confidence), 1), "bins": table}


def save_reliability_picture(before: dict, after: dict, title: str, path) -> None:
    """A reliability diagram: accuracy against confidence per bin, before and after scaling,
    with the diagonal where confidence means what it says, and each bin's share of drawings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (axes, counts) = plt.subplots(
        2, 1, figsize=(5.2, 6.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    axes.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfect")
    for table, style, label in ((before, dict(color="#d08a2e", marker="s", alpha=0.8),
                                 f"before scaling (ECE {before['ece']:.3f})"),
                                (after, dict(color="#2d6cb5", marker="o"),
                                 f"shown by the app (ECE {after['ece']:.3f})")):
        filled = [b for b in table["bins"] if b["count"]]
        axes.plot([b["confidence"] for b in filled], [b["accuracy"] for b in filled],
                  linewidth=1.5, markersize=4, label=label, **style)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_ylabel("accuracy")
    axes.set_title(title, fontsize=10)
    axes.legend(loc="upper left", fontsize=8)
    total = max(sum(b["count"] for b in after["bins"]), 1)
    counts.bar([(b["low"] + b["high"]) / 2 for b in after["bins"]],
               [b["count"] / total for b in after["bins"]],
               width=1 / len(after["bins"]) * 0.9, color="#2d6cb5")
    counts.set_xlabel("confidence shown (the best class's probability)")
    counts.set_ylabel("share")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
