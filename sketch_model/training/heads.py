"""Training "other" as many named categories, served as one "other" class.

A classifier that knows many categories by name rejects the unknown better than one that
learns a single pooled "none of these" (Vaze et al. 2022, "Open-set recognition: a good
closed-set classifier is all you need"): to tell a lion from a cat it must learn what makes
a lion, and what it learns there serves every animal it never saw. With the recipe's
``other_heads = "categories"`` the network is trained with one output per class and one per
"other" category; the model saved and served then gives the "other" outputs' sum as the one
"other" column (``merged``), so its contract, its tuning and the app stay as they are.
"""

from __future__ import annotations

import numpy as np

from .dataset import OTHER, Dataset

def head_names(data: Dataset) -> list[str]:
    """The network's outputs: the classes but "other", then each "other" category."""
    classes = [c for c in data.classes if c != OTHER]
    return classes + [category for category, label in
                      zip(data.categories, data.category_labels) if label == OTHER]


def head_labels(data: Dataset, split: str) -> np.ndarray:
    """The output each drawing of ``split`` is trained towards (``head_names`` order): its
    class, or for an "other" drawing, its category."""
    names = head_names(data)
    of_category = np.array([names.index(category) if label == OTHER else names.index(label)
                            for category, label in zip(data.categories, data.category_labels)],
                           dtype=np.int32)
    return of_category[data.category[split]]


def class_weights(data: Dataset, heads: list[str]) -> dict[int, float]:
    """Keras's ``class_weight`` for outputs ``heads`` (the classes, or ``head_names``): each
    class weighs in inverse proportion to its training drawings, so every class counts the
    same in the loss, and an "other" category's head weighs as "other" does."""
    counts = np.bincount(data.y["train"], minlength=len(data.classes))
    weights = [len(data.y["train"]) / (len(data.classes) * max(count, 1)) for count in counts]
    return {index: weights[data.classes.index(name if name in data.classes else OTHER)]
            for index, name in enumerate(heads)}


def merging(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The Dense layer's kernel (heads x classes) and bias that turn the heads into the
    classes' probabilities: each class keeps its own head, and "other" is one minus the
    classes' (which the heads' softmax makes the sum of the "other" heads).

    Said as "one minus the classes", the int8 export rounds the six classes' heads and not
    the 273 small "other" ones, whose rounding down lost about 0.02 of "other" in the sum.
    """
    names = head_names(data)
    kernel = np.zeros((len(names), len(data.classes)), dtype=np.float32)
    bias = np.zeros(len(data.classes), dtype=np.float32)
    other = data.classes.index(OTHER)
    for row, name in enumerate(names):
        if name in data.classes:
            kernel[row, data.classes.index(name)] = 1.0
            kernel[row, other] = -1.0
    bias[other] = 1.0
    return kernel, bias


def merged(network, data: Dataset):
    """``network`` (probabilities over ``head_names``) with a last, fixed layer that makes
    them the classes' (``merging``): a plain Dense layer, so the ``.keras`` file loads in
    safe mode and exports to LiteRT like any other."""
    import keras

    kernel, bias = merging(data)
    merge = keras.layers.Dense(kernel.shape[1], trainable=False, name="merge_other")
    outputs = merge(network.output)
    merge.set_weights([kernel, bias])
    return keras.Model(network.input, outputs, name=network.name)
