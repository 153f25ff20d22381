"""A recipe's drawings as labelled train / validation / test arrays, split deterministically.

Bitmaps come from the ``quickdraw`` loader as they are; stroke drawings come from it as
simplified strokes and are rendered here by the dataset's own renderer (``render``), so they
are bitmaps exactly like the ``numpy_bitmap`` rows. Every category of the recipe's "other"
lists, and its synthetic scribbles, is pooled into one "other" class.

A drawing's split follows from its pixels and the seed alone (a keyed hash), so a re-run gives
the same split, a larger limit keeps earlier drawings where they were, and a drawing that
occurs twice (in one category or two) can never be on both sides of a split.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import quickdraw

from ..facts import SHAPE
from ..imaging.render import render_simplified
from .recipe import Recipe
from .scribbles import scribbles as synthetic_scribbles

SPLITS = ("train", "validation", "test")
VALIDATION_SHARE = 0.15
TEST_SHARE = 0.15
OTHER = "other"
SCRIBBLES = "(scribbles)"  # the category name of the synthetic drawings


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
    """Bitmaps (N, 28, 28, 1) uint8 and labels per split, plus held-out categories.

    ``category[split]`` says which of ``categories`` each drawing comes from (the classes,
    then every "other" category, then the scribbles); ``holdout`` holds the bitmaps of the
    held-out categories and ``holdout_strokes`` their stroke drawings, where there are any.
    """

    classes: list[str]
    recipe: Recipe | None = None
    categories: list[str] = field(default_factory=list)
    category_labels: list[str] = field(default_factory=list)  # the class of each category
    x: dict[str, np.ndarray] = field(default_factory=dict)
    y: dict[str, np.ndarray] = field(default_factory=dict)
    category: dict[str, np.ndarray] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    holdout: dict[str, np.ndarray] = field(default_factory=dict)
    holdout_strokes: dict[str, list] = field(default_factory=dict)
    taught: dict[str, int] = field(default_factory=dict)  # extra training drawings per label

    def known_mask(self, split: str) -> np.ndarray:
        """Rows of ``split`` that belong to a real class (not the "other" class)."""
        if OTHER not in self.classes:
            return np.ones(len(self.y[split]), dtype=bool)
        return self.y[split] != self.classes.index(OTHER)


def load_dataset(recipe: Recipe, *, source=None, strokes_source=None, cache=None,
                 holdout_strokes: bool = False, extra_sources=()) -> Dataset:
    """Fetch (or read from the cache) every category of ``recipe`` and split it.

    ``source`` and ``strokes_source`` say where bitmaps and strokes come from (default:
    QUICKDRAW_SOURCE and QUICKDRAW_STROKES_SOURCE, else the official bucket).
    ``holdout_strokes`` also loads the stroke drawings of the held-out categories, which the
    evaluation redraws on a canvas to measure the app's own path. ``extra_sources`` are
    folders of drawings people taught (``python -m feedback export``): they join the training
    split only (``add_taught``), so the validation and test splits stay those of the recipe.
    """
    data = Dataset(classes=class_names(recipe), recipe=recipe)
    bitmaps, strokes = readers(source=source, strokes_source=strokes_source, cache=cache)
    parts = {split: ([], [], []) for split in SPLITS}
    sources = ([(category, label, lambda n, limit=limit: bitmaps(n, limit))
                for category, label, limit in bitmap_categories(recipe)]
               + drawn_categories(recipe, strokes, bitmaps))
    for category, label, read in sources:
        rows = read(category)
        add_category(data, parts, category, label, rows, split_ids(rows, recipe.seed))
    for folder in extra_sources:
        add_taught(data, Path(folder), parts)
    assemble(data, parts)
    load_holdout(data, bitmaps, strokes, holdout_strokes)
    return data


def in_memory_batches(data: Dataset, recipe: Recipe, augment, workers: int = 1,
                      worker: int = 0, seed: int | None = None, labels=None):
    """The training split, held in memory, as augmented batches, reshuffled every epoch
    (from ``seed``, default the recipe's); and the steps of an epoch (None: one pass). Each
    of several workers takes its own shard, endlessly, for a fixed number of steps, since
    every worker must take every step. ``labels``: what each drawing is trained towards
    (default its class)."""
    import tensorflow as tf

    x, y = data.x["train"], data.y["train"] if labels is None else labels
    rows = tf.data.Dataset.from_tensor_slices((x, y))
    steps = None
    if workers > 1:
        rows = rows.shard(workers, worker)
        steps = max(1, len(y) // recipe.batch_size)
    rows = rows.shuffle(len(y), seed=recipe.seed if seed is None else seed,
                        reshuffle_each_iteration=True)
    if steps:
        rows = rows.repeat()
    batches = (rows.batch(recipe.batch_size)
               .map(lambda x, y: (augment(tf.cast(x, tf.float32)), y),
                    num_parallel_calls=tf.data.AUTOTUNE)
               .prefetch(tf.data.AUTOTUNE))
    if workers > 1:  # sharded here: tf.distribute must not shard again
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = \
            tf.data.experimental.AutoShardPolicy.OFF
        batches = batches.with_options(options)
    return batches, steps


def class_names(recipe: Recipe) -> list[str]:
    """The model's classes: the recipe's, then "other" when it has one."""
    return list(recipe.classes) + ([OTHER] if recipe.has_other else [])


def readers(*, source=None, strokes_source=None, cache=None):
    """Two functions, (name, limit) -> bitmaps (N, 784) and (name, limit) -> strokes, reading
    through the ``quickdraw`` loader from these sources."""
    def bitmaps(name: str, limit: int | None) -> np.ndarray:
        return quickdraw.load(name, limit=limit, source=source, cache=cache)

    def strokes(name: str, limit: int) -> list:
        return quickdraw.load_strokes(name, limit=limit, source=strokes_source, cache=cache)

    return bitmaps, strokes


def bitmap_categories(recipe: Recipe) -> list[tuple[str, str, int | None]]:
    """(category, label, limit) of each category read from ``numpy_bitmap`` files, in order."""
    return ([(c, c, recipe.limit) for c in recipe.classes]
            + [(c, OTHER, recipe.other_limit_of(c)) for c in recipe.other_bitmaps])


def drawn_categories(recipe: Recipe, strokes, bitmaps) -> list[tuple[str, str, object]]:
    """(category, label, read) of each category rendered here, after the bitmap ones: the
    classes' stroke drawings (where a stroke source has them), the stroke categories and the
    synthetic scribbles. ``read(category)`` gives (N, 784) uint8."""
    drawn = [(f"{c} (strokes)", c,
              lambda n, c=c: class_strokes(lambda: strokes(c, recipe.class_stroke_limit),
                                           bitmaps(c, recipe.limit)))
             for c in recipe.classes if recipe.class_stroke_limit]
    drawn += [(c, OTHER, lambda n: render_simplified(strokes(n, recipe.stroke_limit)))
              for c in recipe.other_strokes]
    if recipe.scribbles:
        drawn.append((SCRIBBLES, OTHER,
                      lambda n: synthetic_scribbles(recipe.scribbles, recipe.seed)))
    return drawn


TWIN = 8.0  # mean |difference| per pixel (of 255) below which two bitmaps are one drawing


def class_strokes(read, known: np.ndarray) -> np.ndarray:
    """A class's stroke drawings (``read()``), rendered, without those that are one of its
    ``known`` bitmap rows: each is split by its own pixels, and our rendering of a drawing
    differs from its official bitmap by about 1.4 / 255 a pixel, so a twin could land on
    the other side of the split. (Read from the official bucket, the first stroke drawings
    are all twins of the first bitmap rows; the mirror's -more folder has a few.) None when
    no stroke source has the class: its bitmaps are its drawings then."""
    try:
        rendered = render_simplified(read())
    except quickdraw.MissingFile:
        return render_simplified([])
    known = np.asarray(known, dtype=np.int16)
    keep = [len(known) == 0 or
            np.abs(known - row.astype(np.int16)).mean(axis=1).min() >= TWIN
            for row in rendered]
    return rendered[np.asarray(keep, dtype=bool)]


def add_category(data: Dataset, parts: dict, category: str, label: str, rows: np.ndarray,
                 ids: np.ndarray) -> None:
    """Append the ``rows`` of ``category`` to ``parts`` by their split ``ids`` (the recipe's
    ``measure_limit`` caps the validation and test drawings of each category)."""
    cap = data.recipe.measure_limit if data.recipe else None
    number = len(data.categories)
    data.categories.append(category)
    data.category_labels.append(label)
    counts = data.counts.setdefault(label, dict.fromkeys(SPLITS, 0))
    for index, split in enumerate(SPLITS):
        chosen = rows[ids == index]
        if split != "train" and cap is not None:
            chosen = chosen[:cap]
        parts[split][0].append(chosen)
        parts[split][1].append(np.full(len(chosen), data.classes.index(label), dtype=np.int32))
        parts[split][2].append(np.full(len(chosen), number, dtype=np.int32))
        counts[split] += len(chosen)


def assemble(data: Dataset, parts: dict) -> None:
    """Each split's collected (bitmaps, labels, categories) parts as ``data``'s arrays."""
    for split, (xs, ys, cs) in parts.items():
        data.x[split] = np.concatenate(xs).reshape(-1, *SHAPE)
        data.y[split] = np.concatenate(ys)
        data.category[split] = np.concatenate(cs)


def load_holdout(data: Dataset, bitmaps, strokes, holdout_strokes: bool) -> None:
    """The held-out categories' drawings into ``data.holdout`` (and ``holdout_strokes``)."""
    recipe = data.recipe
    for name in recipe.holdout:
        if name in recipe.holdout_bitmaps:
            data.holdout[name] = bitmaps(name, recipe.holdout_limit).reshape(-1, *SHAPE)
            if holdout_strokes:
                try:  # only for the app's path: a source without them does not stop training
                    data.holdout_strokes[name] = strokes(name, recipe.stroke_limit)
                except quickdraw.QuickDrawError as error:
                    print(f"warning: no stroke drawings of held-out '{name}' ({error}); it is "
                          "measured on bitmaps only", file=sys.stderr)
        else:
            drawings = strokes(name, recipe.stroke_limit)
            data.holdout[name] = render_simplified(drawings).reshape(-1, *SHAPE)
            if holdout_strokes:
                data.holdout_strokes[name] = drawings


def add_taught(data: Dataset, folder: Path, parts: dict[str, tuple[list, list, list]]) -> None:
    """Add the ``<label>.npy`` drawings of ``folder`` to the training split: a class's to that
    class, any other label's to "other" (when the model has one). Held-out and excluded
    categories are left out, and so is a drawing identical to one of the validation or test
    split (a dataset drawing taught back), so that what measures the model stays unseen."""
    recipe = data.recipe
    measured = {row.tobytes() for split in ("validation", "test")
                for rows in parts[split][0] for row in rows}
    if not folder.is_dir():
        raise quickdraw.QuickDrawError(f"the extra source {folder} is not a folder")
    with tempfile.TemporaryDirectory(prefix="taught-") as scratch:  # never the real cache
        for path in sorted(folder.glob("*.npy")):
            name = path.stem
            if name in recipe.holdout or name in recipe.excluded:
                print(f"note: taught '{name}' drawings left out: the category is held out or "
                      "excluded", file=sys.stderr)
                continue
            label = name if name in recipe.classes else OTHER
            if label not in data.classes:
                continue
            rows = quickdraw.load(name, source=folder, cache=scratch)
            rows = rows[[row.tobytes() not in measured for row in rows]]
            training = np.full(len(rows), SPLITS.index("train"))  # never measured on
            add_category(data, parts, f"taught {name}", label, rows, training)
            data.taught[name] = data.taught.get(name, 0) + len(rows)
