"""Fixtures shared by the whole suite."""

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_QUICKDRAW = REPO.parent / "shared" / "quickdraw"
SHARED_STROKES = REPO.parent / "shared" / "quickdraw-strokes"


@pytest.fixture(scope="session")
def quickdraw_source():
    """The offline mirror of real QuickDraw files beside the repository (``../shared``).

    CI always has the mirror, so there a missing folder is a failure, never a silent skip.
    """
    if not SHARED_QUICKDRAW.is_dir():
        message = f"real QuickDraw bitmaps expected in {SHARED_QUICKDRAW}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_QUICKDRAW


@pytest.fixture(scope="session")
def strokes_source():
    """The offline mirror of real QuickDraw simplified strokes beside the repository."""
    if not SHARED_STROKES.is_dir():
        message = f"real QuickDraw stroke files expected in {SHARED_STROKES}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_STROKES


@pytest.fixture(scope="session")
def shared_data(quickdraw_source):
    """Rows of a real QuickDraw file from the offline mirror."""

    def rows(name: str) -> np.ndarray:
        return np.load(SHARED_QUICKDRAW / f"{name}.npy", mmap_mode="r")

    return rows


@pytest.fixture
def tiny_model(tmp_path):
    """Factory: an untrained Keras model for ``classes`` with metadata, saved in tmp_path.

    Enough to test loading, the decision rule and the app with any class list, in a second.
    """
    import json

    import keras

    def make(classes, reject=None, threshold=0.3, name="tiny"):
        model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255),
                                  keras.layers.Flatten(),
                                  keras.layers.Dense(len(classes), activation="softmax")])
        path = tmp_path / f"{name}.keras"
        model.save(path)
        path.with_suffix(".json").write_text(json.dumps({
            "classes": list(classes), "reject_class": reject, "unsure_threshold": threshold,
            "input": {"shape": [28, 28, 1], "range": [0, 255]}, "metrics": {}}))
        return path

    return make
