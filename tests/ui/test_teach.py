"""Teaching in the browser: the answer is wrong, the person says what it was and agrees to keep
the drawing, and the row is in the server's database; without that agreement nothing is."""

import pytest

from testkit.drawings import ANIMALS
from testkit.taught import rows

pytestmark = pytest.mark.ui


def correct_it(page, label: str, consent: bool):
    """On the results page: "No, it was…" something else, typed, and Teach me."""
    page.find("#answer-no").click()
    page.script("document.getElementById('teach-label').value = ''")  # "something else…"
    page.find("#teach-other").send_keys(label)
    if consent:
        page.find("#teach-consent").click()
    page.find("#teach-submit").click()
    return page.wait().until(lambda d: page.find_all("#taught, #error"),
                             "neither the thank-you page nor an error page appeared")[0]


def test_a_wrong_answer_corrected_with_consent_is_kept(sketchbook, taught_db):
    page = sketchbook
    before = len(rows(taught_db))
    page.draw(ANIMALS["cat"](), pointer="mouse")
    page.recognise()
    label, _ = page.prediction()
    assert page.find_all("#teach-form"), "the results page offers no way to teach"
    shown = correct_it(page, "giraffe", consent=True)
    assert shown.get_attribute("id") == "taught" and shown.get_attribute("data-label") == \
        "giraffe", shown.text
    after = rows(taught_db)
    assert len(after) == before + 1
    row = after[0]  # newest first
    assert (row.id, row.label, row.guess) == (shown.get_attribute("data-id"), "giraffe", label)
    assert len(row.drawing) == len(ANIMALS["cat"]())  # one stroke kept per stroke drawn
    assert all(0 <= v <= 255 for stroke in row.drawing for axis in stroke for v in axis)
    assert page.find_all("#again")


def test_without_consent_nothing_is_written_and_the_drawing_is_not_lost(sketchbook, taught_db):
    page = sketchbook
    before = len(rows(taught_db))
    page.draw(ANIMALS["fish"](), pointer="mouse")
    page.recognise()
    shown = correct_it(page, "shark", consent=False)
    assert shown.get_attribute("id") == "error" and "Nothing was saved" in shown.text
    assert len(rows(taught_db)) == before
    page.find("#again").click()  # "Back to your drawing"
    page.wait_for_drawing_page()
    assert page.stroke_count() == len(ANIMALS["fish"]())
