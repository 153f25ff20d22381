"""Synthetic "none of these" drawings: rendered like the dataset, the same for the same seed."""

import numpy as np

from sketch_model.facts import PIXELS, SIDE
from sketch_model.training.dataset import OTHER, load_dataset
from sketch_model.training.recipe import Recipe
from sketch_model.training.scribbles import scribbles


def test_scribbles_are_reproducible_and_vary():
    first = scribbles(30, seed=4)
    assert first.shape == (30, PIXELS) and first.dtype == np.uint8
    assert np.array_equal(first, scribbles(30, seed=4))
    assert np.array_equal(first[:10], scribbles(10, seed=4))  # more rows keep the earlier ones
    assert not np.array_equal(first, scribbles(30, seed=5))
    assert len({row.tobytes() for row in first}) == 30


def test_scribbles_look_like_dataset_bitmaps(shared_data):
    """Rendered like the real files, so the model learns their content, not their rendering."""
    ours = scribbles(300, seed=1)
    real = np.concatenate([np.asarray(shared_data(name)[:100])
                           for name in ("airplane", "banana", "clock", "diamond", "rainbow")])

    def looks(rows):
        ink = rows[rows > 0]
        return (rows == 0).mean(), (ink < 40).mean(), np.median(ink), (rows == 255).mean()

    (paper, faint, median, full), (real_paper, real_faint, real_median, real_full) = \
        looks(ours), looks(real)
    assert abs(paper - real_paper) < 0.08
    assert abs(faint - real_faint) < 0.04  # the antialiased fringe
    assert abs(median - real_median) < 20 and abs(full - real_full) < 0.02
    assert (ours.max(axis=1) == 255).all()
    # Framed like the dataset: the longest side spans the frame minus its padding.
    for row in ours[:50].reshape(-1, SIDE, SIDE):
        rows, cols = np.flatnonzero(row.max(1) > 0), np.flatnonzero(row.max(0) > 0)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 >= 24


def test_scribbles_join_the_other_class_in_every_split(quickdraw_source, tmp_path):
    data = load_dataset(Recipe(classes=["cat", "dog"], limit=100, scribbles=400),
                        source=quickdraw_source, cache=tmp_path)
    assert data.classes == ["cat", "dog", OTHER]
    counts = data.counts[OTHER]
    assert sum(counts.values()) == 400 and min(counts.values()) > 30
    assert (data.y["train"] == 2).sum() == counts["train"]
    assert data.known_mask("test").sum() == data.counts["cat"]["test"] + data.counts["dog"]["test"]
