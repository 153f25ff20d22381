"""Drawing an animal with a mouse, a finger or a pen gets it recognised; the results page.

The expected labels are exact: cat and fish (testkit/drawings.py) are drawings the shipped model
recognises surely (checked through /api/predict and in the browser at both canvas sizes).
"""

import base64
import math

import pytest

from sketch_model.facts import SIDE
from testkit.drawings import ANIMALS

pytestmark = pytest.mark.ui


def assert_pointer_input(page, paths, pointer):
    """draw.js got one press per stroke, of the right pointer type, where it was aimed."""
    downs = [e for e in page.pointer_events() if e["type"] == "pointerdown"]
    ups = [e for e in page.pointer_events() if e["type"] == "pointerup"]
    assert len(downs) == len(ups) == len(paths)
    assert {e["pointerType"] for e in downs + ups} == {pointer}
    for event, path in zip(downs, paths):
        # W3C pointer offsets are from the element's centre: the press lands on the path start
        assert abs(event["x"] - path[0][0]) <= 1 and abs(event["y"] - path[0][1]) <= 1, \
            (event, path[0])
    for event, path in zip(ups, paths):
        assert abs(event["x"] - path[-1][0]) <= 1 and abs(event["y"] - path[-1][1]) <= 1, \
            (event, path[-1])


def assert_recognised_as(page, animal):
    page.recognise()
    label, confidence = page.prediction()
    assert label == animal, f"drew {animal}, the results page says {label!r}"
    assert 0.0 <= float(confidence) <= 1.0 and math.isfinite(float(confidence)), confidence


@pytest.mark.parametrize("animal", ["cat", "fish"])
def test_mouse_drawing_is_recognised(sketchbook, animal):
    page = sketchbook
    page.record_pointer_events()
    paths = page.draw(ANIMALS[animal](), pointer="mouse")
    assert_pointer_input(page, paths, "mouse")
    assert page.alpha_sum() > 0
    assert_recognised_as(page, animal)


def test_touch_drawing_is_recognised_without_scrolling(sketchbook):
    page = sketchbook
    page.driver.set_window_size(390, 700)  # a phone: the page is taller than the window
    page.open("/")
    inner_height, page_height, scroll_y = page.script(
        "return [innerHeight, document.documentElement.scrollHeight, scrollY]")
    assert page_height > inner_height, "the page must be able to scroll for this test to mean"
    rect = page.script("return arguments[0].getBoundingClientRect().toJSON()", page.canvas)
    assert rect["width"] < 480, "the canvas should shrink to the narrow window"
    assert rect["top"] >= 0 and rect["bottom"] <= inner_height, "the canvas must be in view"

    page.record_pointer_events()
    paths = page.draw(ANIMALS["cat"](), pointer="touch")
    assert_pointer_input(page, paths, "touch")
    assert page.script("return scrollY") == scroll_y, "drawing with a finger scrolled the page"
    assert page.alpha_sum() > 0

    # The same finger dragged up outside the canvas does scroll: the check above can fail.
    intro = page.script("return document.querySelector('.intro').getBoundingClientRect()"
                        ".toJSON()")
    swipe(page, x=int(intro["left"] + 20), from_y=int(intro["bottom"] - 8), to_y=8)
    page.wait(5).until(lambda d: d.execute_script("return scrollY") > scroll_y,
                       "a finger swiping up outside the canvas should scroll the page")
    assert page.stroke_count() == len(paths), "a swipe outside the canvas must not draw"

    assert_recognised_as(page, "cat")


def swipe(page, x, from_y, to_y, steps=8):
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    builder = ActionBuilder(page.driver, mouse=PointerInput("touch", "touch"), duration=20)
    actions = builder.pointer_action
    actions.move_to_location(x, from_y).pointer_down()
    for i in range(1, steps + 1):
        actions.move_to_location(x, round(from_y + (to_y - from_y) * i / steps))
    actions.pointer_up()
    builder.perform()


def test_pen_drawing_is_recognised(sketchbook):
    page = sketchbook
    page.record_pointer_events()
    paths = page.draw(ANIMALS["fish"](), pointer="pen")
    assert_pointer_input(page, paths, "pen")
    assert_recognised_as(page, "fish")


def test_the_picture_sent_has_one_size_on_any_screen(sketchbook):
    """A high-density screen's canvas holds up to nine times the pixels the server needs for
    a 28x28 result: what is sent is the same strokes redrawn at 400 px, on any screen, as a
    greyscale PNG (a quarter of a canvas's RGBA for the server to decode)."""
    page = sketchbook
    page.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1200, "height": 1000, "deviceScaleFactor": 2, "mobile": False})
    try:
        page.open("/")
        backing = page.script("const c = document.getElementById('sketch');"
                              "return [devicePixelRatio, c.width, c.clientWidth]")
        assert backing[0] == 2 and backing[1] == 2 * backing[2] > 400, backing
        page.draw(ANIMALS["cat"](), pointer="pen")
        assert_recognised_as(page, "cat")
        sent = page.wait(5).until(lambda d: d.execute_script(
            "const img = document.querySelector('img.your-drawing');"
            "return img && img.complete && img.naturalWidth ?"
            " [img.naturalWidth, img.naturalHeight, img.src] : null"))
        assert sent[:2] == [402, 402]  # 400 and a one-pixel ring of paper
        png = base64.b64decode(sent[2].partition(",")[2])
        assert png[24:26] == b"\x08\x00", "draw.js should send 8-bit greyscale"
    finally:
        page.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_without_compression_streams_the_canvas_png_is_sent(sketchbook):
    """A browser without CompressionStream sends the canvas's own RGBA PNG instead."""
    page = sketchbook
    page.script("delete window.CompressionStream")
    page.draw(ANIMALS["fish"]())
    assert_recognised_as(page, "fish")
    src = page.find("img.your-drawing").get_attribute("src")
    assert base64.b64decode(src.partition(",")[2])[24:26] == b"\x08\x06"  # 8-bit RGBA


def test_results_page_ranking_model_input_and_links(sketchbook):
    page = sketchbook
    paths = page.draw(ANIMALS["fish"]())
    drawn = page.data_url()
    page.recognise()
    label, confidence = page.prediction()
    assert label == "fish"

    ranking = [(li.get_attribute("data-label"), float(li.get_attribute("data-probability")))
               for li in page.find_all("#ranking li")]
    assert len(ranking) == len(page.classes)
    assert sorted(name for name, _ in ranking) == sorted(page.classes)
    probabilities = [p for _, p in ranking]
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    assert all(a >= b for a, b in zip(probabilities, probabilities[1:])), ranking
    assert ranking[0][0] == label
    assert float(confidence) == pytest.approx(probabilities[0], abs=1e-6)

    model_input = page.find("img#model-input")
    size = page.wait(5).until(lambda d: d.execute_script(
        "const img = arguments[0];"
        "return img.complete && img.naturalWidth ? [img.naturalWidth, img.naturalHeight] : null",
        model_input))
    assert size == [SIDE, SIDE]

    # "Change this drawing" brings the very same drawing back to the canvas
    page.find("a#edit").click()
    page.wait_for_drawing_page()
    assert page.stroke_count() == len(paths)
    assert page.data_url() == drawn

    # "Draw again" (after another Recognise) starts from an empty canvas
    page.recognise()
    assert page.prediction()[0] == "fish"
    page.find("a#again").click()
    page.wait_for_drawing_page()
    assert page.stroke_count() == 0
    assert page.alpha_sum() == 0
    assert page.live()["state"] == "empty"
