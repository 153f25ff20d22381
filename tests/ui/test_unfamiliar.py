"""A drawing of none of the animals: the page says so, live and on the results page."""

import pytest

import quickdraw
from sketch_model.imaging.render import as_points

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def ladder(strokes_source, tmp_path_factory):
    """A real Quick, Draw! ladder: a thing the shipped model learned is none of its animals."""
    (drawing,) = quickdraw.load_strokes("ladder", 1, source=strokes_source,
                                        cache=tmp_path_factory.mktemp("cache"))
    return as_points(drawing.strokes)


def test_a_ladder_is_none_of_the_animals(sketchbook, ladder):
    page = sketchbook
    page.draw(ladder)
    live = page.wait_for_live_guesses()
    assert (live["state"], live["label"], live["reason"]) == ("unsure", "unsure", "unfamiliar")
    assert live["status"] == "That's none of the animals I know. Closest:"
    page.recognise()
    assert page.prediction()[0] == "unsure" and page.reason() == "unfamiliar"
    assert page.find("#prediction h1").text == "That's none of the animals I know."
    assert "sure it's something else" in page.find("#prediction").text
