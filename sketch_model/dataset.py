"""QuickDraw categories as labelled train / validation / test arrays, split deterministically.

A drawing's split follows from its pixels and the seed alone (a keyed hash), so a re-run gives
the same split, a larger ``limit`` keeps earlier drawings where they were, and a drawing that
occurs twice (in one category or two) can never be on both sides of a split.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

import quickdraw

from .scribbles import scribbles as synthetic_scribbles

SPLITS = ("train", "validation", "test")
VALIDATION_SHARE = 0.15
TEST_SHARE = 0.15
OTHER = "other"


def split_ids(rows: np.ndarray, seed: int) -> np.ndarray:
    """0 (train), 1 (validation) or 2 (test) for each row of 784 pixels."""
    key = seed.to_bytes(8, "little", signed=True)
    fractions = np.fromiter(
        (int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8, key=key).digest(),
                        "little") / 2.0**64 for row in rows),
        dtype=np.float64, count=len(rows))
    return np.where(fractions < TEST_SHARE, 2,
                    np.where(fractions < TEST_SHARE + VALIDATION_SHARE, 1, 0))


@dataclass
class Dataset:
    """Bitmaps (N, 28, 28, 1) uint8 and labels per split, plus held-out categories."""

    classes: list[str]
    x: dict[str, np.ndarray] = field(default_factory=dict)
    y: dict[str, np.ndarray] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    holdout: dict[str, np.ndarray] = field(default_factory=dict)

    def known_mask(self, split: str) -> np.ndarray:
        """Rows of ``split`` that belong to a real class (not the "other" class)."""
        if OTHER not in self.classes:
            return np.ones(len(self.y[split]), dtype=bool)
        return self.y[split] != self.classes.index(OTHER)


def load_dataset(classes: list[str], *, limit: int | None, seed: int,
                 other_classes: list[str] = (), other_limit: int | None = None,
                 holdout_classes: list[str] = (), scribbles: int = 0, source=None,
                 cache=None) -> Dataset:
    """Fetch (or read from the cache) every category and split it.

    ``other_classes`` are pooled into one "other" class, together with ``scribbles`` synthetic
    drawings of nothing in particular; ``holdout_classes`` are never trained on and only used
    to measure how often the model says it is unsure about unseen things.
    """
    names = list(classes) + ([OTHER] if other_classes or scribbles else [])
    data = Dataset(classes=names)
    parts = {split: ([], []) for split in SPLITS}
    sources = [(c, c, limit) for c in classes] + [(c, OTHER, other_limit) for c in other_classes]
    if scribbles:
        sources.append((None, OTHER, scribbles))
    for category, label, rows_wanted in sources:
        rows = (quickdraw.load(category, limit=rows_wanted, source=source, cache=cache)
                if category else synthetic_scribbles(rows_wanted, seed))
        ids = split_ids(rows, seed)
        counts = data.counts.setdefault(label, dict.fromkeys(SPLITS, 0))
        for number, split in enumerate(SPLITS):
            chosen = rows[ids == number]
            parts[split][0].append(chosen)
            parts[split][1].append(np.full(len(chosen), names.index(label), dtype=np.int32))
            counts[split] += len(chosen)
    for split, (xs, ys) in parts.items():
        data.x[split] = np.concatenate(xs).reshape(-1, 28, 28, 1)
        data.y[split] = np.concatenate(ys)
    for category in holdout_classes:
        data.holdout[category] = quickdraw.load(category, limit=other_limit, source=source,
                                                cache=cache).reshape(-1, 28, 28, 1)
    return data
