"""Live guesses: a hint on the empty canvas, guesses once a stroke ends, new ones as it grows."""

import pytest

from testkit.drawings import ANIMALS

pytestmark = pytest.mark.ui


def assert_guesses(page, live):
    labels = [label for label, _ in live["items"]]
    probabilities = [float(p) for _, p in live["items"]]
    assert 1 <= len(labels) <= 3
    assert set(labels) <= set(page.classes) and len(set(labels)) == len(labels)
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    assert all(a >= b for a, b in zip(probabilities, probabilities[1:])), live
    assert live["state"] in ("sure", "unsure")


def test_live_guesses_follow_the_drawing(sketchbook):
    page = sketchbook
    live = page.live()
    assert live["state"] == "empty" and live["items"] == []
    assert live["status"] == "Draw an animal…"

    paths = page.paths(ANIMALS["cat"]())
    page.draw_paths(paths[:1])
    first = page.wait_for_live_guesses()
    assert_guesses(page, first)

    page.draw_paths(paths[1:])
    complete = page.wait_for_live_guesses(differ_from=first)
    assert_guesses(page, complete)
    assert complete["items"] != first["items"]
    # the whole cat: the live answer is the same the Recognise button gives
    assert complete["state"] == "sure" and complete["label"] == "cat"
    assert complete["items"][0][0] == "cat"
    assert complete["status"] == "It's a cat!"
