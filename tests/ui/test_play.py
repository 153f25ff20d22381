"""The game at /play in headless Chromium against the production server (started with
SKETCHBOOK_TEST_ROUNDS=1, so that ``?seconds=`` shortens a prompt): a whole round with prompts
recognised and prompts out of time, the summary matching what happened, undo and clear during
a round, the sound switch, and no JavaScript errors or failed requests."""

import time

import pytest

from testkit.drawings import ANIMALS

pytestmark = pytest.mark.ui

SURE = ("cat", "fish")  # the shipped model recognises these drawings surely
ROUND = 8               # seconds per prompt in the whole round: drawing a cat takes ~3

STATE_JS = """
const play = document.getElementById("play");
const prompt = document.getElementById("play-prompt");
const timer = document.getElementById("play-timer");
const guess = document.getElementById("play-guess");
return {state: play.dataset.state, prompt: prompt.dataset.label,
        left: Number(timer.dataset.secondsLeft), guess: guess.textContent.trim(),
        title: document.title};
"""

SUMMARY_JS = """
return Array.from(document.querySelectorAll("#play-summary li"), (li) => ({
  label: li.dataset.label, recognised: li.dataset.recognised,
  seconds: Number(li.dataset.seconds), guesses: li.dataset.guesses,
  ink: (() => {
    const c = li.querySelector("canvas");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    for (let i = 3; i < d.length; i += 4) sum += d[i];
    return sum;
  })(),
}));
"""

NO_SPEECH_JS = """
Object.defineProperty(window, "speechSynthesis", {value: undefined, configurable: true});
Object.defineProperty(window, "SpeechSynthesisUtterance", {value: undefined,
                                                           configurable: true});
"""

FAKE_SPEECH_JS = """
window.__spoken = [];
const fake = {speak: (u) => window.__spoken.push([u.text, performance.now()]),
              cancel: () => {}};
Object.defineProperty(window, "speechSynthesis", {value: fake, configurable: true});
Object.defineProperty(window, "SpeechSynthesisUtterance",
                      {value: function (text) { this.text = text; }, configurable: true});
"""


def open_play(page, seconds: int | None = None, before_load: str | None = None):
    """/play (with ``?seconds=``), optionally with a script run before the page's own."""
    script_id = None
    if before_load:
        script_id = page.driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": before_load})["identifier"]
    try:
        page.driver.get(page.url("/play" + (f"?seconds={seconds}" if seconds else "")))
        page.wait().until(lambda d: page.script(
            "return document.documentElement.classList.contains('js')"))
    finally:
        if script_id:
            page.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                                        {"identifier": script_id})


def state(page) -> dict:
    return page.script(STATE_JS)


def wait_for_prompt(page, number: int) -> dict:
    """The ``number``-th prompt (1-based) once it is being drawn."""
    count_js = "return document.getElementById('play-count').textContent"
    return page.wait(30).until(
        lambda d: (s := state(page))["state"] == "drawing"
        and page.script(count_js).startswith(f"{number} ") and s,
        f"prompt {number} did not start")


def wait_for_end_of_prompt(page, timeout: float = 30) -> dict:
    return page.wait(timeout).until(
        lambda d: (s := state(page))["state"] in ("recognised", "timeout") and s,
        "the prompt neither was recognised nor timed out")


def test_a_whole_round_recognised_and_timed_out_and_its_summary(sketchbook, health):
    page = sketchbook
    page.forget_logs()
    open_play(page, seconds=ROUND)
    assert page.find("#play-round").get_attribute("hidden") is not None
    page.find("#play-begin").click()
    labels = [c for c in health["classes"] if c != "other"]
    happened, timed_out_empty = [], None
    for number in range(1, len(labels) + 1):
        now = wait_for_prompt(page, number)
        label = now["prompt"]
        assert label in labels and label not in [h[0] for h in happened]
        assert page.find("#play-prompt").text == f"Draw {'an' if label[0] in 'aeiou' else 'a'} " \
            f"{label}"
        assert 0 < now["left"] <= ROUND and "s ·" in now["title"]
        if label in SURE:
            page.draw(ANIMALS[label]())
            end = wait_for_end_of_prompt(page)
            assert end["state"] == "recognised", f"{label} should be recognised: {end}"
            assert end["guess"] == f"Oh, I know, it's a {label}!"
            assert end["left"] > 0                      # the clock stopped before zero
            time.sleep(0.5)
            assert state(page)["left"] == end["left"]
        elif timed_out_empty is None:
            timed_out_empty = label                     # draw nothing: out of time
            end = wait_for_end_of_prompt(page, timeout=ROUND + 6)
            assert end["state"] == "timeout" and end["left"] == 0
            assert end["guess"] == "Sorry, I couldn't guess it."
        else:
            page.draw(ANIMALS[label]())                 # whatever the model makes of it
            end = wait_for_end_of_prompt(page, timeout=ROUND + 6)
        happened.append((label, end["state"] == "recognised"))

    page.wait(10).until(lambda d: state(page)["state"] == "summary")
    summary = page.script(SUMMARY_JS)
    assert [(item["label"], item["recognised"] == "true") for item in summary] == happened
    for item in summary:
        assert item["recognised"] in ("true", "false")
        if item["recognised"] == "true":
            assert 0 < item["seconds"] < ROUND and item["ink"] > 0
            assert item["label"] in item["guesses"].split(",")
            assert len(item["guesses"].split(",")) == 3
        if item["label"] == timed_out_empty:
            assert item["ink"] == 0 and item["seconds"] == ROUND and item["guesses"] == ""
    assert {label for label, got in happened if got} >= set(SURE)
    text = page.find("#play-summary").text
    assert "Not recognised" in text and "Recognised in" in text and "I thought:" in text
    assert page.find("#play-score").text.startswith(
        f"I recognised {sum(got for _, got in happened)} of your {len(happened)} drawings")
    assert not page.driver.title.startswith(("0 s", "1 s"))

    page.find("#play-again").click()
    again = wait_for_prompt(page, 1)
    assert again["state"] == "drawing" and page.stroke_count() == 0

    assert page.console_errors() == []
    requests = page.our_requests()
    seen = {(r.get("method"), r["url"].removeprefix(page.base_url).split("?")[0])
            for r in requests}
    for expected in [("GET", "/play"), ("GET", "/static/js/sketchpad.js"),
                     ("GET", "/static/js/play.js"), ("POST", "/api/predict")]:
        assert expected in seen, f"{expected} not in {sorted(seen)}"
    bad = [r for r in requests if r.get("failed") and not r.get("canceled")
           or r.get("status") is not None and r["status"] >= 400]
    assert bad == []


def test_undo_and_clear_during_a_round(sketchbook):
    page = sketchbook
    open_play(page, seconds=30)
    page.find("#play-begin").click()
    label = wait_for_prompt(page, 1)["prompt"]
    paths = page.paths(ANIMALS["octopus" if label in SURE else "cat"]())  # not the prompt
    page.draw_paths(paths[:2])
    assert page.stroke_count() == 2 and page.alpha_sum() > 0
    assert page.find("#undo").get_attribute("aria-disabled") == "false"
    page.find("#undo").click()
    assert page.stroke_count() == 1 and page.alpha_sum() > 0
    page.find("#clear").click()
    assert page.stroke_count() == 0 and page.alpha_sum() == 0
    assert page.find("#undo").get_attribute("aria-disabled") == "true"
    assert page.find("#play-guess").get_attribute("data-state") == "empty"
    assert state(page)["state"] == "drawing"    # the round goes on
    assert page.find("#play-guess").get_attribute("aria-live") == "polite"
    assert page.console_errors() == []


def test_the_sound_switch_is_absent_without_speech_synthesis(sketchbook):
    page = sketchbook
    open_play(page, seconds=5, before_load=NO_SPEECH_JS)
    assert page.find_all("#play-sound") == []
    page.find("#play-begin").click()
    wait_for_prompt(page, 1)
    assert page.console_errors() == []


def test_sound_is_off_until_switched_on_then_remembered_and_spoken_on_change(sketchbook):
    page = sketchbook
    page.script("localStorage.removeItem('sketchbook:play-sound')")
    open_play(page, seconds=8, before_load=FAKE_SPEECH_JS)
    page.find("#play-begin").click()
    label = wait_for_prompt(page, 1)["prompt"]
    switch = page.find("#play-sound")
    assert switch.is_displayed() and not switch.is_selected()
    page.draw(ANIMALS[label]())
    wait_for_end_of_prompt(page)
    assert page.script("return window.__spoken") == []     # off: nothing said

    page.find("#play-sound").click()                      # on, and remembered
    open_play(page, seconds=8, before_load=FAKE_SPEECH_JS)
    page.find("#play-begin").click()
    label = wait_for_prompt(page, 1)["prompt"]
    assert page.find("#play-sound").is_selected()
    page.draw(ANIMALS[label]())
    end = wait_for_end_of_prompt(page)
    spoken = page.script("return window.__spoken")
    texts = [text for text, _ in spoken]
    assert texts and texts[-1] == end["guess"]
    assert all(a != b for a, b in zip(texts, texts[1:]))     # only when it changes
    guesses = [at for text, at in spoken[:-1]]
    assert all(b - a >= 1500 for a, b in zip(guesses, guesses[1:]))
    page.script("localStorage.removeItem('sketchbook:play-sound')")


@pytest.mark.parametrize("pointer", ["touch", "pen"])
def test_a_round_fits_a_phone_and_takes_touch_and_pen(sketchbook, pointer):
    page = sketchbook
    page.driver.set_window_size(390, 844)
    open_play(page, seconds=30)
    page.find("#play-begin").click()
    wait_for_prompt(page, 1)
    fits = page.script("return [document.documentElement.scrollHeight, window.innerHeight,"
                       " document.getElementById('play-guess').getBoundingClientRect().bottom]")
    assert fits[2] <= fits[1], f"the guess line is below the screen: {fits}"
    page.draw_paths(page.paths(ANIMALS["cat"]())[:1], pointer)
    assert page.stroke_count() == 1 and page.alpha_sum() > 0
    assert page.console_errors() == []


def test_a_drawing_of_the_round_can_be_taught_from_the_summary(sketchbook, taught_db):
    """Teaching exists, so each drawing of the summary can be kept to teach the model, one
    explicit press each, labelled with its prompt; the others are not kept."""
    from testkit.taught import rows

    page = sketchbook
    page.open(f"/play?seconds={ROUND}")
    page.find("#play-begin").click()
    drawn = []
    for number in range(1, len(page.script(
            "return JSON.parse(document.getElementById('play').dataset.labels)")[:6]) + 1):
        prompt = wait_for_prompt(page, number)["prompt"]
        if number <= 2:
            page.draw(ANIMALS[prompt]())
            drawn.append(prompt)
        wait_for_end_of_prompt(page, timeout=ROUND + 6)
    page.wait(10).until(lambda d: state(page)["state"] == "summary")
    before = len(rows(taught_db))
    buttons = page.find_all("#play-summary li .play-teach")
    assert len(buttons) == len(drawn)  # empty drawings offer nothing to keep
    assert "Never your address" in page.find("#play-teach-kept").text
    buttons[0].click()
    page.wait(10).until(lambda d: buttons[0].get_attribute("data-taught"))
    after = rows(taught_db)
    assert len(after) == before + 1
    assert after[0].label == drawn[0] and after[0].id == buttons[0].get_attribute("data-taught")
    assert page.console_errors() == []
