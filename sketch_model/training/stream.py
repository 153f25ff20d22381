"""A recipe's training split streamed from the loader's cache files, for data larger than memory.

``load_dataset`` holds every drawing in one array, which is the fastest way to train on what
fits (the shipped model does). ``load_streamed`` holds only what measures the model: the
validation, test and held-out drawings (``Recipe.measure_limit`` caps them per category) and
a small evenly spread sample of the training split, which calibrates batch norm and the
LiteRT export. The training split itself stays in the ``quickdraw`` cache files and is read
by ``training_batches``, a ``tf.data`` pipeline:

- each bitmap category is read in place, record by record (``FixedLengthRecordDataset``:
  a ``.npy`` file of 28x28 bitmaps is a header and fixed-length rows), zipped with its split
  ids and filtered to the training split; the small rendered categories (strokes, scribbles,
  taught drawings) are one in-memory stream per class;
- ``sample_from_datasets`` interleaves them with class-balanced weights (each class equally
  often, each category within its class in proportion to its drawings), so no class weights
  are needed;
- a shuffle buffer of bounded size mixes them, then batches are augmented on the fly.

Memory is bounded by the shuffle buffer, the batch and the measuring splits, not by the data.

A drawing's split is the keyed hash of its pixels (``dataset.split_ids``), the same as in
memory. Hashing millions of rows takes a while, so the ids of each cache file are computed once
and kept beside it (``splits/<name>.s<seed>.ids``, one byte a row, with a fingerprint of the
file's first rows): a larger limit later hashes only the new rows, and a file fetched again
from another source is hashed again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import quickdraw
from quickdraw.npy import inspect_file

from ..facts import PIXELS, SHAPE
from ..modelcard import ModelError
from .dataset import (
    SPLITS,
    Dataset,
    add_category,
    add_taught,
    assemble,
    bitmap_categories,
    class_names,
    drawn_categories,
    load_holdout,
    readers,
    split_ids,
)
from .recipe import Recipe

SAMPLE = 8192  # training drawings held in memory, for the calibrations after training
SHUFFLE_BUFFER = 20_000  # drawings (15.7 MB of bitmaps): the default --shuffle-buffer
HASH_CHUNK = 65_536  # rows hashed at a time when split ids are computed
FINGERPRINT_ROWS = 64  # first rows of a cache file that identify it for its split ids
TRAIN = SPLITS.index("train")  # a drawing's split id is its split's index in SPLITS
MEASURED = [SPLITS.index("validation"), SPLITS.index("test")]


@dataclass
class Stream:
    """One source of training drawings: a cache file read in place, or rows in memory."""

    category: str
    label: int  # index into the classes
    count: int  # its drawings in the training split
    path: Path | None = None  # the cache file (.npy)
    offset: int = 0  # bytes of its header
    rows: int = 0  # its first rows that the recipe reads (its limit)
    ids: Path | None = None  # the split ids of those rows, one byte each
    drawings: np.ndarray | None = None  # (count, 784) uint8, when held in memory
    categories: np.ndarray | None = None  # then the category (index) of each of them


@dataclass
class Streamed:
    """A streamed dataset: ``data`` as ``load_dataset`` gives it, except that
    ``data.x["train"]`` (and its labels) are a sample, and ``streams`` the whole split."""

    data: Dataset
    streams: list[Stream] = field(default_factory=list)

    @property
    def train_count(self) -> int:
        return sum(stream.count for stream in self.streams)


def load_streamed(recipe: Recipe, *, source=None, strokes_source=None, cache=None,
                  holdout_strokes: bool = False, extra_sources=()) -> Streamed:
    """The recipe's drawings as ``load_dataset`` splits them, with the training split left in
    the cache files (fetched there first where needed)."""
    data = Dataset(classes=class_names(recipe), recipe=recipe)
    bitmaps, strokes = readers(source=source, strokes_source=strokes_source, cache=cache)
    streamed = Streamed(data)
    parts = {split: ([], [], []) for split in SPLITS}
    files: list[tuple[np.ndarray, np.ndarray, Stream]] = []  # (pixels, train rows, stream)
    for category, label, limit in bitmap_categories(recipe):
        path = quickdraw.fetch(category, limit, source=source, cache=cache)
        header = inspect_file(path)
        rows = header.rows if limit is None else min(limit, header.rows)
        ids_path = cached_split_ids(path, rows, recipe.seed)
        ids = np.memmap(ids_path, dtype=np.uint8, mode="r", shape=(rows,))
        pixels = _rows_of(path, rows)
        train = np.flatnonzero(ids == TRAIN)
        _add_measured(data, parts, category, label, pixels, ids)
        data.counts[label]["train"] += len(train)  # streamed, counted here
        stream = Stream(category, data.classes.index(label), len(train), path=path,
                        offset=header.length, rows=rows, ids=ids_path)
        streamed.streams.append(stream)
        files.append((pixels, train, stream))
    for category, label, read in drawn_categories(recipe, strokes, bitmaps):
        rows = read(category)
        before = len(parts["train"][0])
        add_category(data, parts, category, label, rows, split_ids(rows, recipe.seed))
        _memory_streams(streamed, parts, before)
    for folder in extra_sources:
        before = len(parts["train"][0])
        add_taught(data, Path(folder), parts)
        _memory_streams(streamed, parts, before)
    _take_sample(streamed, parts, files)
    assemble(data, parts)
    load_holdout(data, bitmaps, strokes, holdout_strokes)
    return streamed


def _rows_of(path: Path, rows: int | None = None) -> np.ndarray:
    """The first ``rows`` bitmaps (all if None) of a cache file, memory-mapped (nothing read
    yet)."""
    header = inspect_file(path)
    return np.memmap(path, dtype=np.uint8, mode="r", offset=header.length,
                     shape=(header.rows if rows is None else rows, PIXELS))


def _add_measured(data: Dataset, parts: dict, category: str, label: str, pixels: np.ndarray,
                  ids: np.ndarray) -> None:
    """Add a file's validation and test rows as ``add_category`` would (its training rows
    are streamed). Only the rows kept are read."""
    cap = data.recipe.measure_limit
    measured = np.sort(np.concatenate([np.flatnonzero(ids == split)[:cap]
                                       for split in MEASURED]))
    add_category(data, parts, category, label, np.asarray(pixels[measured]),
                 np.asarray(ids[measured]))


def _memory_streams(streamed: Streamed, parts: dict, start: int) -> None:
    """Move the training rows added to ``parts["train"]`` from ``start`` on into the
    in-memory stream of their class (one per class: these categories are small)."""
    while len(parts["train"][0]) > start:
        rows, labels, categories = (part.pop(start) for part in parts["train"])
        if not len(rows):
            continue
        label = int(labels[0])
        same = [s for s in streamed.streams if s.drawings is not None and s.label == label]
        if same:
            same[0].drawings = np.concatenate([same[0].drawings, rows])
            same[0].categories = np.concatenate([same[0].categories, categories])
            same[0].count = len(same[0].drawings)
        else:
            streamed.streams.append(Stream(streamed.data.categories[int(categories[0])],
                                           label, len(rows), drawings=np.asarray(rows),
                                           categories=np.asarray(categories)))


def _take_sample(streamed: Streamed, parts: dict, files: list) -> None:
    """Put about ``SAMPLE`` training drawings, evenly spread over the files and the in-memory
    streams in proportion to their size, into ``parts["train"]``."""
    total = max(streamed.train_count, 1)
    train = parts["train"]
    for pixels, indices, stream in files:
        picked = _spread(len(indices), stream.count * SAMPLE // total)
        train[0].append(np.asarray(pixels[indices[picked]]))
        train[1].append(np.full(len(picked), stream.label, dtype=np.int32))
        train[2].append(np.full(len(picked), streamed.data.categories.index(stream.category),
                                dtype=np.int32))
    for stream in streamed.streams:
        if stream.drawings is not None:
            picked = _spread(stream.count, stream.count * SAMPLE // total)
            train[0].append(stream.drawings[picked])
            train[1].append(np.full(len(picked), stream.label, dtype=np.int32))
            train[2].append(stream.categories[picked])


def _spread(length: int, count: int) -> np.ndarray:
    """``count`` (at least one, at most ``length``) evenly spaced indices of ``range(length)``."""
    count = min(length, max(count, 1))
    return np.linspace(0, length - 1, count).round().astype(int)


# --- split ids, once per cache file

def cached_split_ids(path: Path, rows: int, seed: int) -> Path:
    """The file of split ids (one byte a row) of the first ``rows`` drawings of the cache file
    ``path``, computed where it is missing or stale and kept in ``splits/`` beside it. Runs
    sharing a cache take turns (a lock), so none meets a file another is rewriting."""
    folder = path.parent / "splits"
    ids_path = folder / f"{path.stem}.s{seed}.ids"
    try:
        pixels = _rows_of(path)
        fingerprint = _fingerprint(pixels)
        if _known_rows(ids_path, fingerprint, pixels) >= rows:
            return ids_path  # read only: a cache shared with other users needs no write
        folder.mkdir(exist_ok=True)
        lock = os.open(folder / f".{path.stem}.lock", os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            _update_split_ids(pixels, fingerprint, ids_path, rows, seed)
        finally:
            os.close(lock)
    except OSError as error:
        reason = error.strerror.lower() if error.strerror else str(error)
        raise ModelError(f"The split ids of {path.name} cannot be kept in {folder} "
                         f"({reason}); give --cache a folder you can write.") from None
    return ids_path


def _known_rows(ids_path: Path, fingerprint: str, pixels: np.ndarray) -> int:
    """How many first rows of the cache file with this ``fingerprint`` the kept split ids
    are right for (0: none). The last of those rows must be unchanged too: a file read
    from another list of sources may start with the same drawings and go on with others."""
    try:
        meta = json.loads(ids_path.with_suffix(".json").read_text())
        rows = int(meta["rows"])
        if meta.get("fingerprint") == fingerprint and ids_path.stat().st_size >= rows \
                and len(pixels) >= rows and meta.get("tail") == _fingerprint(pixels, rows):
            return rows
    except (OSError, ValueError, KeyError, TypeError):
        pass  # none yet, or unreadable: computed again
    return 0


def _update_split_ids(pixels: np.ndarray, fingerprint: str, ids_path: Path, rows: int,
                      seed: int) -> None:
    """Hash the rows the kept ids lack (asked again under the lock: another run may have
    just written them) and write ids and fingerprint."""
    meta_path = ids_path.with_suffix(".json")
    done = _known_rows(ids_path, fingerprint, pixels)
    if done >= rows:
        return
    known = np.fromfile(ids_path, dtype=np.uint8, count=done) if done else \
        np.zeros(0, dtype=np.uint8)
    fresh = [split_ids(pixels[start:min(start + HASH_CHUNK, rows)], seed).astype(np.uint8)
             for start in range(done, rows, HASH_CHUNK)]
    _replace(ids_path, np.concatenate([known, *fresh]).tobytes())
    _replace(meta_path, json.dumps({"rows": rows, "fingerprint": fingerprint,
                                    "tail": _fingerprint(pixels, rows),
                                    "seed": seed}).encode())


def _fingerprint(pixels: np.ndarray, end: int = FINGERPRINT_ROWS) -> str:
    """A digest of the FINGERPRINT_ROWS rows that end at row ``end`` (the first ones by
    default)."""
    rows = pixels[max(0, end - FINGERPRINT_ROWS):end]
    return hashlib.blake2b(np.asarray(rows).tobytes(), digest_size=16).hexdigest()


def _replace(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` whole or not at all, readable by everyone like the
    cache's own files (users may share a cache)."""
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "wb") as out:
        out.write(content)
    os.chmod(partial, 0o644)
    os.replace(partial, path)


# --- the tf.data pipeline

def training_batches(streamed: Streamed, *, batch_size: int, seed: int, augment,
                     shuffle_buffer: int = SHUFFLE_BUFFER, workers: int = 1, worker: int = 0,
                     first_epoch: int = 0):
    """An endless ``tf.data.Dataset`` of augmented training batches, classes in balance.

    With several ``workers``, each reads its own block of every stream (worker ``worker``
    the ``worker``-th of ``workers`` equal runs of rows), so together they read each drawing
    once a pass; tf.distribute is told not to shard again. A run resumed after
    ``first_epoch`` epochs samples with another seed and starts each file at another row, so
    it does not replay the drawings the run began with.
    """
    import tensorflow as tf

    seed += first_epoch
    per_class: dict[int, int] = {}
    for stream in streamed.streams:
        per_class[stream.label] = per_class.get(stream.label, 0) + stream.count
    classes = [label for label, count in per_class.items() if count]
    sources, weights = [], []
    for number, stream in enumerate(streamed.streams):
        if not stream.count:
            continue
        rotation = np.random.default_rng([seed, number]).random() if first_epoch else 0.0
        rows = _stream_rows(stream, tf, seed, workers, worker, rotation)
        sources.append(rows.map(lambda row, label=stream.label: (row, label)).repeat())
        weights.append(stream.count / per_class[stream.label] / len(classes))
    mixed = tf.data.Dataset.sample_from_datasets(sources, weights=weights, seed=seed)

    def prepare(x, y):
        return augment(tf.cast(tf.reshape(x, (-1, *SHAPE)), tf.float32)), y

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return (mixed.shuffle(shuffle_buffer, seed=seed)
            .batch(batch_size, drop_remainder=True)
            .map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE)
            .with_options(options))


def _stream_rows(stream: Stream, tf, seed: int, workers: int, worker: int,
                 rotation: float = 0.0):
    """This worker's share of the training rows of one stream, as uint8 vectors of 784
    pixels; a file's block starts ``rotation`` (0..1) of the way into it and wraps round."""
    if stream.drawings is not None:
        rows = tf.data.Dataset.from_tensor_slices(stream.drawings)
        return rows.shard(workers, worker).shuffle(len(stream.drawings), seed=seed)
    start, stop = stream.rows * worker // workers, stream.rows * (worker + 1) // workers
    turn = start + int(rotation * (stop - start))
    train = bytes([TRAIN])

    def block(first: int, last: int):
        rows = tf.data.FixedLengthRecordDataset(
            str(stream.path), PIXELS, header_bytes=stream.offset + first * PIXELS)
        ids = tf.data.FixedLengthRecordDataset(str(stream.ids), 1, header_bytes=first)
        return tf.data.Dataset.zip(rows.take(last - first), ids.take(last - first))

    pairs = block(turn, stop).concatenate(block(start, turn)) if turn > start else \
        block(start, stop)
    return (pairs.filter(lambda row, split: tf.equal(split, train))
            .map(lambda row, split: tf.io.decode_raw(row, tf.uint8)))
