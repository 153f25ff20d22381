"""Why a dog? (issue 29) in headless Chromium against the production server: the results page
shows where the model looked over the drawing and how others drew the guessed animal (the
drawings the server sent for that animal), a correction shows the corrected animal's drawings,
both sections read well with a keyboard and a screen reader, and every page passes an axe-core
audit (no serious or critical violation) at 1280 and 390 px wide."""

import pytest
from selenium.webdriver.common.keys import Keys

from testkit.audit import violations
from testkit.drawings import ANIMALS

pytestmark = pytest.mark.ui

WIDTHS = (1280, 390)
HEIGHT = 900


def visible_rows(page) -> list[str]:
    return [row.get_attribute("data-label") for row in page.find_all("#others-drew .others-row")
            if row.is_displayed()]


def recognise(page, animal: str = "fish"):
    page.draw(ANIMALS[animal]())
    page.recognise()
    return page.prediction()


def test_where_i_looked_is_over_the_drawing_and_others_drew_the_guess(sketchbook):
    page = sketchbook
    recognise(page)
    best = page.find("#ranking li").get_attribute("data-label")
    where = page.find("#where-i-looked img")
    assert where.is_displayed() and where.get_attribute("naturalWidth") == "224"
    assert best in where.get_attribute("alt")
    caption = page.find("#where-i-looked figcaption").text
    assert "Where I looked." in caption and best in caption
    # the heat map is the drawing the model saw: its ink lies where the model input's does
    overlap = page.script("""
        const load = (img) => { const c = document.createElement('canvas');
          c.width = c.height = 28; const x = c.getContext('2d');
          x.drawImage(img, 0, 0, 28, 28); return x.getImageData(0, 0, 28, 28).data; };
        const heat = load(document.querySelector('#where-i-looked img'));
        const seen = load(document.getElementById('model-input'));
        let both = 0, ink = 0;
        for (let i = 0; i < 28 * 28; i += 1) {
          const inked = seen[4 * i] > 128;          // bright ink on black
          const dark = heat[4 * i] < 128;           // dark ink (red low: not the shading)
          ink += inked; both += inked && dark;
        }
        return both / ink;""")
    assert overlap > 0.8

    others = page.find("#others-drew")
    assert others.get_attribute("data-label") == best and visible_rows(page)[0] == best
    images = page.find_all(f"#others-drew .others-row[data-label='{best}'] img")
    assert len(images) == 6 and all(img.is_displayed() for img in images)
    assert all(img.get_attribute("alt").endswith(f"{best} drawn by a Quick, Draw! player")
               for img in images)
    assert page.console_errors() == []


def test_a_correction_shows_how_others_drew_the_corrected_animal(sketchbook, health):
    page = sketchbook
    recognise(page)
    best = page.find("#others-drew").get_attribute("data-label")
    weighed = visible_rows(page)
    corrected = next(label for label in health["classes"] if label not in weighed)
    page.find("#answer-no").click()
    select = page.find("#teach-label")
    for _ in range(len(health["classes"])):  # the keyboard chooses in a select: arrow down
        if select.get_attribute("value") == corrected:
            break
        select.send_keys(Keys.ARROW_DOWN)
    assert select.get_attribute("value") == corrected
    page.wait(5).until(lambda d: page.find("#others-drew").get_attribute("data-label")
                       == corrected)
    assert visible_rows(page) == [corrected]
    assert page.find("#others-heading").text == f"How others drew a {corrected}" or \
        page.find("#others-heading").text == f"How others drew an {corrected}"
    assert page.find("#others-status").text.startswith("How others drew")
    page.find("#answer-yes").click()
    page.wait(5).until(lambda d: page.find("#others-drew").get_attribute("data-label") == best)
    assert visible_rows(page) == weighed
    assert page.console_errors() == []


def test_both_sections_are_reached_and_named_for_a_screen_reader(sketchbook):
    page = sketchbook
    recognise(page)
    names = page.script("""
        return Array.from(document.querySelectorAll('section[aria-labelledby]'),
          (s) => document.getElementById(s.getAttribute('aria-labelledby')).textContent.trim());
    """)
    assert any(name.startswith("Why ") for name in names)
    assert any(name.startswith("How others drew") for name in names)
    assert page.find("#others-status").get_attribute("aria-live") == "polite"
    # the Quick, Draw! credit link is in the tab order, and the images all have words
    assert page.find("#others-drew a").get_attribute("href").startswith("https://")
    assert all(img.get_attribute("alt") for img in page.find_all("#others-drew img, "
                                                                  "#where-i-looked img"))


# --- the audit --------------------------------------------------------------------------------

def audit(page, where: str):
    found = violations(page.driver)
    assert found == [], f"{where}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][:3]}" for v in found)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_drawing_and_results_pages_pass_an_accessibility_audit(sketchbook, width):
    page = sketchbook
    page.driver.set_window_size(width, HEIGHT)
    page.open("/")
    audit(page, f"empty drawing page at {width}")
    page.draw(ANIMALS["cat"]())
    page.wait_for_live_guesses()
    audit(page, f"drawing page drawn on at {width}")
    page.recognise()
    page.prediction()
    audit(page, f"results page at {width}")
    page.find("#answer-yes").click()
    page.find("#teach-consent").click()
    page.find("#teach-submit").click()
    page.wait().until(lambda d: page.find_all("#taught"))
    audit(page, f"taught page at {width}")
    page.open("/?model=zoo")
    audit(page, f"zoo drawing page at {width}")
    page.driver.get(page.url("/?model=giraffes"))
    page.wait().until(lambda d: page.find_all("#error"))
    audit(page, f"an error page at {width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_game_passes_an_accessibility_audit(sketchbook, width):
    page = sketchbook
    page.driver.set_window_size(width, HEIGHT)
    page.driver.get(page.url("/play?seconds=2"))
    page.wait().until(lambda d: page.script(
        "return document.documentElement.classList.contains('js')"))
    audit(page, f"game start at {width}")
    page.find("#play-begin").click()
    page.wait(10).until(lambda d: page.find("#play").get_attribute("data-state") == "drawing")
    audit(page, f"a round at {width}")
    page.wait(30).until(lambda d: page.find("#play").get_attribute("data-state") == "summary")
    audit(page, f"the round's summary at {width}")
