"""What training and evaluation print and draw of a model's test metrics."""

from __future__ import annotations

import numpy as np


def format_report(metrics: dict, class_bias: dict | None = None) -> str:
    """The table training and evaluation print: per-class figures, then the summary."""
    labels = list(metrics["per_class"])
    width = max(8, *(len(label) for label in labels))
    lines = [f"{'class':<{width}}  precision  recall  support"]
    for label, figures in metrics["per_class"].items():
        lines.append(f"{label:<{width}}  {figures['precision']:9.3f}  {figures['recall']:6.3f}"
                     f"  {figures['support']:7d}")
    lines.append("")
    lines.append("confusion matrix (rows: true class, columns: predicted)")
    lines.append(" " * width + "  " + " ".join(f"{label[:6]:>6}" for label in labels))
    for label, row in zip(labels, metrics["confusion_matrix"]):
        lines.append(f"{label:<{width}}  " + " ".join(f"{count:6d}" for count in row))
    lines.append("")
    lines.append(f"accuracy           {metrics['accuracy']:.4f}")
    lines.append(f"balanced accuracy  {metrics['balanced_accuracy']:.4f}")
    lines.append(f"top-3 accuracy     {metrics['top3_accuracy']:.4f}")
    if class_bias:
        lines.append("class bias         " + ", ".join(f"{label} {shift:+.2f}"
                                                       for label, shift in class_bias.items()))
    if "calibration" in metrics:
        c = metrics["calibration"]
        lines.append(f"temperature        {c['temperature']:.3f}: expected calibration error "
                     f"{c['ece']:.4f} (before {c['ece_before']:.4f})")
    if "rejection" in metrics:
        lines += _rejection_lines(metrics["rejection"])
    if "app_path" in metrics:
        a = metrics["app_path"]
        lines.append(f"through the app's path ({a['drawings']}):")
        lines += ["  " + line for line in _rejection_lines(a, thresholds=False)]
    return "\n".join(lines)


def _rejection_lines(r: dict, thresholds: bool = True) -> list[str]:
    lines = []
    if thresholds:
        lines.append(f"unsure threshold   {r['unsure_threshold']:.3f}"
                     + (f", 'other' above {r['other_threshold']:.2f}"
                        if r.get("other_threshold", 1.0) < 1.0 else ""))
    lines.append(f"unsure on known classes' test drawings  {r['known_unsure_rate']:.4f}")
    if "balanced_accuracy" in r:
        lines.append(f"balanced accuracy {r['balanced_accuracy']:.4f}, top-3 "
                     f"{r['top3_accuracy']:.4f}, lowest recall {r['lowest_recall']:.4f}")
    if "balanced_accuracy_with_unsure" in r:
        lines.append(f"balanced accuracy, unsure counted wrong "
                     f"{r['balanced_accuracy_with_unsure']:.4f}")
    if "other_unsure_rate" in r:
        lines.append(f"unsure on 'other' test drawings         {r['other_unsure_rate']:.4f}")
    for key, what in (("holdout_things_unsure_rate", "never-seen things"),
                      ("holdout_animals_unsure_rate", "never-seen animals")):
        if key in r:
            lines.append(f"unsure on {what:<30}{r[key]:.4f}")
    if "holdout_unsure_rate" in r:
        per = ", ".join(f"{name} {rate:.2f}"
                        for name, rate in r["holdout_unsure_rate_per_class"].items())
        lines.append(f"unsure on never-seen categories         "
                     f"{r['holdout_unsure_rate']:.4f} ({per})")
    return lines


def save_confusion_picture(metrics: dict, title: str, path) -> None:
    """A confusion matrix a person can read: counts in cells, shaded by row share."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(metrics["per_class"])
    counts = np.array(metrics["confusion_matrix"])
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 1.6 + 0.75 * len(labels)
    figure, axes = plt.subplots(figsize=(size + 1.5, size))
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true class")
    for (i, j), count in np.ndenumerate(counts):
        axes.text(j, i, str(count), ha="center", va="center",
                  color="white" if shares[i, j] > 0.5 else "black", fontsize=9)
    axes.set_title(f"{title}\nbalanced accuracy {metrics['balanced_accuracy']:.1%}, "
                   f"top-3 {metrics['top3_accuracy']:.1%}", fontsize=10)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true class")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
