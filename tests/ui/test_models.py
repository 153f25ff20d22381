"""The model switch in headless Chromium against the production server, which serves both
shipped models (issue 28): the choice is kept in the URL and across the drawing page, the live
guesses, the results page and the game; the results page asks the same drawing of the other
model; a round of the game with the zoo has six prompts from the zoo."""

import json

import pytest

from testkit.drawings import ANIMALS

pytestmark = pytest.mark.ui

ZOO = "zoo"


@pytest.fixture
def zoo_labels(health) -> list[str]:
    assert list(health["models"]) == ["animals", ZOO], "the server serves both shipped models"
    return health["models"][ZOO]


def chips(page) -> list[str]:
    return [chip.get_attribute("data-label") for chip in page.find_all("#known-animals li")]


def chosen(page) -> str:
    return page.find("#model-switch").get_attribute("data-model")


def test_the_switch_keeps_the_zoo_across_the_pages(sketchbook, health, zoo_labels):
    page = sketchbook
    assert chosen(page) == "animals" and chips(page) == health["classes"]
    switch = page.find("#model-switch a[data-model='zoo']")
    assert switch.text == "Zoo (17)" and switch.get_attribute("aria-current") is None
    switch.click()
    page.wait_for_drawing_page()
    assert page.driver.current_url.endswith("/?model=zoo")
    assert chosen(page) == ZOO and chips(page) == zoo_labels and len(zoo_labels) == 17
    assert page.find("#model-switch a[data-model='zoo']").get_attribute("aria-current") == "page"

    page.forget_logs()
    page.draw(ANIMALS["cat"]())
    live = page.wait_for_live_guesses()
    assert live["state"] in ("sure", "unsure")
    asked = [r["url"] for r in page.our_requests() if r.get("method") == "POST"]
    assert asked and all(url.endswith("/api/predict?model=zoo") for url in asked), asked
    ranked = page.find_all("#live-guesses li")
    assert ranked and {li.get_attribute("data-label") for li in ranked} <= set(zoo_labels)

    page.recognise()
    label, _ = page.prediction()
    assert label in zoo_labels + ["unsure"]
    assert sorted(li.get_attribute("data-label") for li in page.find_all("#ranking li")) == \
        sorted(zoo_labels)
    assert chosen(page) == ZOO

    page.find("#again").click()
    page.wait_for_drawing_page()
    assert page.driver.current_url.endswith("/?model=zoo") and chips(page) == zoo_labels
    page.find("#play-link").click()
    page.wait().until(lambda d: page.find_all("#play"))
    assert page.driver.current_url.endswith("/play?model=zoo")
    assert json.loads(page.find("#play").get_attribute("data-labels")) == zoo_labels
    assert chosen(page) == ZOO
    assert page.console_errors() == []


def test_the_results_page_asks_the_other_model_about_the_same_drawing(sketchbook, health,
                                                                      zoo_labels):
    page = sketchbook
    page.draw(ANIMALS["cat"]())
    page.recognise()
    assert len(page.find_all("#ranking li")) == len(health["classes"])
    picture = page.find("img.your-drawing").get_attribute("src")
    button = page.find("#model-switch button[data-model='zoo']")
    assert button.get_attribute("aria-pressed") == "false" and button.text == "Zoo (17)"
    button.click()
    page.wait().until(lambda d: chosen(page) == ZOO)
    assert sorted(li.get_attribute("data-label") for li in page.find_all("#ranking li")) == \
        sorted(zoo_labels)
    assert page.find("img.your-drawing").get_attribute("src") == picture, "the same drawing"
    assert page.find("#model-switch button[data-model='zoo']").get_attribute(
        "aria-pressed") == "true"
    assert page.console_errors() == []


def test_a_round_with_the_zoo_prompts_six_of_its_animals(sketchbook, zoo_labels):
    page = sketchbook
    page.driver.get(page.url("/play?model=zoo&seconds=1"))
    page.wait().until(lambda d: page.script(
        "return document.documentElement.classList.contains('js')"))
    play = page.find("#play")
    assert play.get_attribute("data-api").endswith("/api/predict?model=zoo")
    page.find("#play-begin").click()  # nothing drawn: each prompt runs out of its second
    page.wait(40).until(lambda d: play.get_attribute("data-state") == "summary")
    prompts = [li.get_attribute("data-label") for li in page.find_all("#play-summary li")]
    assert len(prompts) == 6 and len(set(prompts)) == 6 and set(prompts) <= set(zoo_labels)
    assert chosen(page) == ZOO
    assert page.console_errors() == []
