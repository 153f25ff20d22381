"""Training "other" as many named categories, served as one "other" class.

A classifier that knows many categories by name rejects the unknown better than one that
learns a single pooled "none of these" (Vaze et al. 2022, "Open-set recognition: a good
closed-set classifier is all you need"): to tell a lion from a cat it must learn what makes
a lion, and what it learns there serves every animal it never saw. With the recipe's
``other_heads = "categories"`` the network is trained with one output per class and one per
"other" category; the model saved and served then sums the "other" outputs into the one
"other" column (``merged``), so its contract, its tuning and the app stay as they are.
"""

from __future__ import annotations

import numpy as np

from .dataset import OTHER, Dataset

HEADS = ("one", "categories")  # the recipe's other_heads


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


def merging(data: Dataset) -> np.ndarray:
    """The 0/1 matrix (heads x classes) that sums each head into its class."""
    names = head_names(data)
    matrix = np.zeros((len(names), len(data.classes)), dtype=np.float32)
    for row, name in enumerate(names):
        matrix[row, data.classes.index(name if name in data.classes else OTHER)] = 1.0
    return matrix


def merged(network, data: Dataset):
    """``network`` (probabilities over ``head_names``) with a last, fixed layer that sums
    them into the classes': a plain Dense layer, so the ``.keras`` file loads in safe mode
    and exports to LiteRT like any other."""
    import keras

    matrix = merging(data)
    merge = keras.layers.Dense(matrix.shape[1], use_bias=False, trainable=False,
                               name="merge_other")
    outputs = merge(network.output)
    merge.set_weights([matrix])
    return keras.Model(network.input, outputs, name=network.name)
