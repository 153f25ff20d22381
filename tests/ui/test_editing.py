"""Undo and Clear, by button and by keyboard shortcut, seen in the canvas pixels."""

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from testkit.drawings import ANIMALS

pytestmark = pytest.mark.ui


def draw_two_strokes(page):
    """Head, then one ear of the cat; returns the canvas picture after the first stroke."""
    paths = page.paths(ANIMALS["cat"]())
    page.draw_paths(paths[:1])
    one_stroke, one_alpha = page.data_url(), page.alpha_sum()
    assert one_alpha > 0
    page.draw_paths(paths[1:2])
    assert page.stroke_count() == 2
    assert page.alpha_sum() > one_alpha
    return one_stroke, one_alpha


def assert_empty(page):
    assert page.stroke_count() == 0
    assert page.alpha_sum() == 0
    for button in ("button#undo", "button#clear"):
        assert page.find(button).get_attribute("aria-disabled") == "true"
    live = page.live()
    assert live["state"] == "empty" and live["items"] == []
    assert live["status"] == "Draw an animal…"


def test_undo_and_clear_buttons_then_blank_submit_is_refused(sketchbook):
    page = sketchbook
    one_stroke, one_alpha = draw_two_strokes(page)
    assert page.find("button#undo").get_attribute("aria-disabled") == "false"

    page.find("button#undo").click()
    assert page.stroke_count() == 1
    assert page.alpha_sum() == one_alpha
    assert page.data_url() == one_stroke, "Undo should leave exactly the first stroke"

    page.find("button#clear").click()
    assert_empty(page)

    # Recognise on the empty canvas: the 400 page, no prediction
    page.forget_logs()
    page.recognise()
    assert page.find_all("#prediction") == []
    error = page.find("#error")
    assert error.get_attribute("data-status") == "400"
    assert page.find("#error-message").text.startswith("Draw something first")
    posts = [r for r in page.our_requests()
             if r.get("method") == "POST" and r["url"] == page.url("/predict")]
    assert [r["status"] for r in posts] == [400]


def test_keyboard_shortcuts_undo_and_clear(sketchbook):
    page = sketchbook
    one_stroke, one_alpha = draw_two_strokes(page)

    # Ctrl+Z with the focus on the page body
    page.script("document.activeElement && document.activeElement.blur()")
    ActionChains(page.driver).key_down(Keys.CONTROL).send_keys("z").key_up(Keys.CONTROL) \
        .perform()
    page.wait(5).until(lambda d: page.stroke_count() == 1, "Ctrl+Z did not undo")
    assert page.data_url() == one_stroke

    # Delete with the focus on the canvas
    page.canvas.send_keys(Keys.DELETE)
    page.wait(5).until(lambda d: page.stroke_count() == 0, "Delete did not clear")
    assert page.script("return document.activeElement.id") == "sketch"
    assert_empty(page)
