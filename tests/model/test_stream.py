"""Streamed training data: the same split as in memory, classes in balance, ids hashed once."""

import shutil

import numpy as np
import pytest

from sketch_model.facts import PIXELS
from sketch_model.modelcard import ModelError
from sketch_model.training import stream as stream_module
from sketch_model.training.dataset import load_dataset, split_ids
from sketch_model.training.recipe import Recipe
from sketch_model.training.stream import (
    _stream_rows,
    cached_split_ids,
    load_streamed,
    training_batches,
)

RECIPE = Recipe(classes=("cat", "dog", "fish"), other_bitmaps=("house", "apple"),
                other_strokes=("ant", "cow"), scribbles=30, limit=300, other_limit=40,
                stroke_limit=20, holdout=("book",), holdout_bitmaps=("book",),
                holdout_limit=50, seed=3)


@pytest.fixture(scope="module")
def both(tmp_path_factory, quickdraw_source, strokes_source):
    """The recipe's data loaded in memory and streamed, from one cache."""
    cache = tmp_path_factory.mktemp("cache")
    sources = {"source": quickdraw_source, "strokes_source": strokes_source, "cache": cache}
    return load_dataset(RECIPE, **sources), load_streamed(RECIPE, **sources)


def streamed_training_rows(streamed, workers=1, worker=0, rotation=0.0):
    """(pixels, label) of every training drawing of every stream, read through the tf.data
    pipeline once."""
    import tensorflow as tf

    rows = []
    for stream in streamed.streams:
        for row in _stream_rows(stream, tf, 0, workers, worker, rotation):
            rows.append((np.asarray(row).tobytes(), stream.label))
    return rows


def rows_of(x, y) -> list[tuple[bytes, int]]:
    return [(row.tobytes(), int(label)) for row, label in zip(x.reshape(-1, PIXELS), y)]


def test_streamed_validation_test_and_holdout_are_the_in_memory_ones(both):
    memory, streamed = both
    data = streamed.data
    assert data.classes == memory.classes and data.categories == memory.categories
    for split in ("validation", "test"):
        assert np.array_equal(data.x[split], memory.x[split])
        assert np.array_equal(data.y[split], memory.y[split])
        assert np.array_equal(data.category[split], memory.category[split])
    assert data.counts == memory.counts
    assert np.array_equal(data.holdout["book"], memory.holdout["book"])


def test_streamed_training_split_is_the_in_memory_one(both):
    memory, streamed = both
    read = streamed_training_rows(streamed)
    assert sorted(read) == sorted(rows_of(memory.x["train"], memory.y["train"]))
    assert streamed.train_count == len(memory.y["train"])
    files = [s for s in streamed.streams if s.path is not None]
    assert [s.category for s in files] == ["cat", "dog", "fish", "house", "apple"]
    assert all(s.drawings is None for s in files)  # read in place, not loaded


def test_the_sample_held_in_memory_is_training_drawings(both):
    memory, streamed = both
    training = set(rows_of(memory.x["train"], memory.y["train"]))
    sample = rows_of(streamed.data.x["train"], streamed.data.y["train"])
    assert 0 < len(sample) <= len(training)
    assert set(sample) <= training


def test_workers_read_disjoint_blocks_that_cover_the_split(both):
    _, streamed = both
    first, second = (streamed_training_rows(streamed, 2, index) for index in (0, 1))
    whole = streamed_training_rows(streamed)
    assert sorted(first + second) == sorted(whole)
    assert not set(first) & set(second)
    cat = streamed.streams[0]  # worker 0 reads the first half of the file, worker 1 the rest
    ids = np.fromfile(cat.ids, dtype=np.uint8)[:cat.rows]
    assert sum(label == cat.label for _, label in first) == \
        np.count_nonzero(ids[:cat.rows // 2] == 0)


def test_a_resumed_run_starts_its_files_elsewhere_and_still_reads_them_whole(both):
    _, streamed = both
    whole = streamed_training_rows(streamed)
    turned = streamed_training_rows(streamed, rotation=0.5)
    assert sorted(turned) == sorted(whole) and turned != whole


def test_streamed_batches_sample_every_class_equally(both):
    memory, streamed = both
    training = set(rows_of(memory.x["train"], memory.y["train"]))
    batches = training_batches(streamed, batch_size=64, seed=5, augment=lambda x: x,
                               shuffle_buffer=500)
    # Each worker reads its own block already: tf.distribute must not shard it again.
    assert batches.options().experimental_distribute.auto_shard_policy.name == "OFF"
    labels = []
    for x, y in batches.take(60):
        drawn = rows_of(np.asarray(x).astype(np.uint8), np.asarray(y))
        assert set(drawn) <= training  # not augmented here: the very drawings
        labels.extend(np.asarray(y).tolist())
    shares = np.bincount(labels, minlength=len(memory.classes)) / len(labels)
    # The in-memory trainer weights each class's loss by total / (classes x its count): in
    # effect every class counts equally, which is what sampling does here.
    counts = np.bincount(memory.y["train"], minlength=len(memory.classes))
    assert counts.max() > 1.5 * counts.min()  # the data themselves are not balanced
    assert np.abs(shares - 1 / len(memory.classes)).max() < 0.03


def test_split_ids_are_hashed_once_and_only_new_rows_later(tmp_path, quickdraw_source,
                                                           monkeypatch):
    cached = tmp_path / "cat.npy"
    shutil.copyfile(quickdraw_source / "cat.npy", cached)
    hashed = []

    def counting(rows, seed):
        hashed.append(len(rows))
        return split_ids(rows, seed)

    monkeypatch.setattr(stream_module, "split_ids", counting)
    rows = np.load(cached, mmap_mode="r")
    path = cached_split_ids(cached, 200, seed=7)
    assert path.parent == tmp_path / "splits"
    assert np.array_equal(np.fromfile(path, dtype=np.uint8), split_ids(rows[:200], 7))
    assert sum(hashed) == 200
    cached_split_ids(cached, 150, seed=7)
    assert sum(hashed) == 200  # already known
    cached_split_ids(cached, 500, seed=7)
    assert sum(hashed) == 500  # only the 300 new rows
    assert np.array_equal(np.fromfile(path, dtype=np.uint8), split_ids(rows[:500], 7))
    other = cached_split_ids(cached, 100, seed=8)
    assert other != path and sum(hashed) == 600  # another seed, other ids


def test_split_ids_of_a_replaced_file_are_hashed_again(tmp_path, quickdraw_source):
    cached = tmp_path / "cat.npy"
    shutil.copyfile(quickdraw_source / "cat.npy", cached)
    path = cached_split_ids(cached, 300, seed=1)
    shutil.copyfile(quickdraw_source / "dog.npy", cached)  # fetched again, other drawings
    cached_split_ids(cached, 300, seed=1)
    dogs = np.load(quickdraw_source / "dog.npy", mmap_mode="r")[:300]
    assert np.array_equal(np.fromfile(path, dtype=np.uint8), split_ids(dogs, 1))


def test_split_ids_of_a_file_that_goes_on_with_other_drawings_are_hashed_again(
        tmp_path, quickdraw_source):
    """The cache file of another list of sources: the same first drawings (the first
    source's), then others. The ids of the rows after them are hashed again."""
    cats = np.load(quickdraw_source / "cat.npy", mmap_mode="r")[:300]
    dogs = np.load(quickdraw_source / "dog.npy", mmap_mode="r")[:200]
    cached = tmp_path / "cat.npy"
    np.save(cached, np.concatenate([cats[:100], cats[100:300]]))
    path = cached_split_ids(cached, 300, seed=1)
    np.save(cached, np.concatenate([cats[:100], dogs]))
    cached_split_ids(cached, 300, seed=1)
    assert np.array_equal(np.fromfile(path, dtype=np.uint8),
                          split_ids(np.concatenate([cats[:100], dogs]), 1))


def test_known_split_ids_are_read_without_writing_and_an_unwritable_cache_is_a_sentence(
        tmp_path, quickdraw_source, monkeypatch):
    cached = tmp_path / "cat.npy"
    shutil.copyfile(quickdraw_source / "cat.npy", cached)
    cached_split_ids(cached, 200, seed=7)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(stream_module.os, "open", refuse)  # as a cache of another user
    cached_split_ids(cached, 150, seed=7)  # already known: no lock, no write
    with pytest.raises(ModelError, match="cannot be kept in .*permission denied"):
        cached_split_ids(cached, 300, seed=7)
