"""The drawing the imaging tests start from."""

import pytest

from testkit.drawings import cat_png


@pytest.fixture(scope="module")
def cat_rgba():
    """The typical drawing as a canvas exports it: the cat on a 400 px transparent canvas."""
    return cat_png(400)
