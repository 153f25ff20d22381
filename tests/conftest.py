"""Fixtures shared by the whole suite: the offline QuickDraw mirror, tiny models, the shipped
model, and a line on the terminal for figures.

What tests share beyond fixtures lives in ``testkit`` (test modules never import each other).
"""

import os
from functools import partial

import numpy as np
import pytest

from sketch_model.inference.classifier import load_classifier
from sketch_model.modelcard import DEFAULT_MODEL
from testkit.models import make_tiny_model
from testkit.paths import (
    SHARED_QUICKDRAW,
    SHARED_QUICKDRAW_MORE,
    SHARED_STROKES,
    SHARED_STROKES_MORE,
)


def _mirror(folder, what: str):
    """``folder`` of the offline mirror beside the repository (``../shared``).

    CI always has the mirror, so there a missing folder is a failure, never a silent skip.
    """
    if not folder.is_dir():
        message = f"real QuickDraw {what} expected in {folder}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def quickdraw_source():
    """The offline mirror of real QuickDraw bitmaps."""
    return _mirror(SHARED_QUICKDRAW, "bitmaps")


@pytest.fixture(scope="session")
def strokes_source():
    """The offline mirror of real QuickDraw simplified strokes."""
    return _mirror(SHARED_STROKES, "stroke files")


@pytest.fixture(scope="session")
def mirror_sources():
    """The four folders of the offline mirror, as the shipped recipe reads them: (bitmap
    folders, stroke folders), each in order."""
    return ([_mirror(SHARED_QUICKDRAW, "bitmaps"), _mirror(SHARED_QUICKDRAW_MORE, "bitmaps")],
            [_mirror(SHARED_STROKES, "stroke files"),
             _mirror(SHARED_STROKES_MORE, "stroke files")])


@pytest.fixture(scope="session")
def shared_data(quickdraw_source):
    """Rows of a real QuickDraw file from the offline mirror."""

    def rows(name: str) -> np.ndarray:
        return np.load(quickdraw_source / f"{name}.npy", mmap_mode="r")

    return rows


@pytest.fixture
def tiny_model(tmp_path):
    """Factory: ``testkit.models.make_tiny_model`` in tmp_path (an untrained model for any
    class list, with its card): enough to test loading, the decision rule and the app."""
    return partial(make_tiny_model, tmp_path)


@pytest.fixture(scope="session")
def shipped():
    """The model a new user gets. It is committed: missing is a failure, never a skip."""
    if not DEFAULT_MODEL.is_file():
        pytest.fail(f"the shipped model {DEFAULT_MODEL} is missing")
    return load_classifier(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def report(pytestconfig):
    """Write a line on the terminal, past pytest's output capture: figures, not assertions."""

    def write(line: str) -> None:
        reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
        capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
        if reporter is None:
            return
        if capture is None:
            reporter.write_line(line)
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)

    return write
