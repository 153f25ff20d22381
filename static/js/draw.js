/* Sketchbook drawing page: form submit, live guesses and "back to your drawing".
 *
 * The canvas itself (pointer drawing, undo/clear, shortcuts, the picture sent for
 * recognition) is sketchpad.js's, shared with the game.
 */
"use strict";

(function () {
  const canvas = document.getElementById("sketch");
  const form = document.getElementById("sketch-form");
  if (!canvas || !form || !canvas.getContext || !window.Sketchpad || !window.Guesses) {
    return;
  }
  const field = document.getElementById("url");
  const strokesField = document.getElementById("strokes");  // the vectors, for teaching
  const undoButton = document.getElementById("undo");
  const clearButton = document.getElementById("clear");
  const submitButton = document.getElementById("submit");
  const live = document.getElementById("live-guesses");
  const liveStatus = live ? live.querySelector(".live-status") : null;
  const liveList = live ? live.querySelector(".guesses") : null;
  const apiUrl = form.dataset.api || "/api/predict";

  const STORE_KEY = "sketchbook:drawing";
  const LIVE_DELAY_MS = 250;
  const LIVE_COUNT = 3;
  const HINT = "Draw an animal…";

  let submitting = false;

  const pad = window.Sketchpad.create(canvas, {
    canDraw: () => !submitting,
    onStrokeStart: () => {
      if (guesses) {
        guesses.pause();
      }
      updateButtons();
    },
    onChange: changed,
  });
  const guesses = live ? window.Guesses.live(pad, apiUrl, {
    busy: (on) => (on ? live.setAttribute("aria-busy", "true") :
                   live.removeAttribute("aria-busy")),
    answer: showGuesses,
    failed: (sentence, offline) => showMessage(offline ?
      "I can't reach the server right now. You can still press Recognise." :
      sentence || "I couldn't look at that drawing.", "error"),
  }, LIVE_DELAY_MS) : null;

  // --- actions ----------------------------------------------------------------------------

  function changed() {
    updateButtons();
    scheduleLive();
  }

  function updateButtons() {
    const empty = pad.strokes.length === 0;
    for (const button of [undoButton, clearButton]) {
      if (button) {
        button.setAttribute("aria-disabled", empty ? "true" : "false");
      }
    }
    canvas.dataset.strokes = String(pad.strokes.length);
  }

  async function onSubmit(event) {
    // Held back while the picture is encoded (no new strokes meanwhile), then sent: a full
    // page load of the results.
    event.preventDefault();
    if (submitting) {
      return;
    }
    submitting = true;
    if (guesses) {
      guesses.cancel();
    }
    if (submitButton) {
      submitButton.setAttribute("aria-busy", "true");
    }
    try {
      field.value = await pad.pictureUrl();
      if (strokesField) {
        // the vectors in Quick, Draw!'s layout: what the results page's "Did I get it
        // right?" sends on if the person chooses to teach
        strokesField.value = pad.strokesJson();
      }
      save();
      HTMLFormElement.prototype.submit.call(form);  // (form.submit is the button id="submit")
    } finally {
      submitting = false;          // a stopped page load leaves Recognise working
    }
  }

  // --- keeping the drawing for "back to your drawing" -------------------------------------

  function save() {
    try {
      window.sessionStorage.setItem(STORE_KEY, JSON.stringify({ v: 1, strokes: pad.strokes }));
    } catch (error) {
      // storage full or disabled: going back will show an empty canvas
    }
  }

  function restore() {
    let saved = null;
    try {
      saved = JSON.parse(window.sessionStorage.getItem(STORE_KEY) || "null");
    } catch (error) {
      return false;
    }
    if (!saved || saved.v !== 1 || !Array.isArray(saved.strokes)) {
      return false;
    }
    const valid = saved.strokes.filter((stroke) => Array.isArray(stroke) && stroke.length &&
      stroke.every((p) => Array.isArray(p) && p.length === 2 &&
                          Number.isFinite(p[0]) && Number.isFinite(p[1])));
    pad.reset(valid.map((stroke) => stroke.map((p) => [p[0], p[1]])));
    return pad.strokes.length > 0;
  }

  function wantsRestore() {
    if (window.location.hash === "#keep") {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
      return true;
    }
    const navigation = window.performance && performance.getEntriesByType ?
      performance.getEntriesByType("navigation")[0] : null;
    return Boolean(navigation && navigation.type === "back_forward");
  }

  // --- live guesses -----------------------------------------------------------------------

  function scheduleLive() {
    if (!guesses) {
      return;
    }
    if (!pad.strokes.length) {
      guesses.cancel();
      showHint();
      return;
    }
    guesses.schedule();
  }

  const article = window.Guesses.article;
  const percent = window.Guesses.percent;

  function showHint() {
    showMessage(HINT, "empty");
  }

  function showMessage(text, state) {
    if (!liveStatus || !liveList) {
      return;
    }
    live.dataset.state = state;
    delete live.dataset.label;
    delete live.dataset.reason;
    liveStatus.textContent = text;
    liveStatus.dataset.state = state;
    liveList.replaceChildren();
  }

  function showGuesses(answer) {
    if (!liveStatus || !liveList) {
      return;
    }
    const best = answer.ranking[0];
    const state = answer.unsure ? "unsure" : "sure";
    live.dataset.state = state;
    live.dataset.label = answer.label;
    live.dataset.reason = answer.reason || "";
    liveStatus.dataset.state = state;
    if (answer.reason === "unfamiliar") {
      liveStatus.textContent = "That's none of the animals I know. Closest:";
    } else if (answer.unsure) {
      liveStatus.textContent = "Hmm… not sure yet. Maybe:";
    } else {
      liveStatus.textContent = "It's " + article(best.label) + " " + best.label + "!";
    }
    const items = answer.ranking.slice(0, LIVE_COUNT).map((guess, index) => {
      const item = document.createElement("li");
      item.dataset.label = guess.label;
      item.dataset.probability = String(guess.probability);
      if (index === 0 && !answer.unsure) {
        item.className = "top";
      }
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = guess.label;
      const bar = document.createElement("meter");
      bar.min = 0;
      bar.max = 1;
      bar.value = guess.probability;
      bar.setAttribute("aria-label", guess.label + ": " + percent(guess.probability));
      bar.textContent = percent(guess.probability);
      const pct = document.createElement("span");
      pct.className = "pct";
      pct.textContent = percent(guess.probability);
      item.append(name, bar, pct);
      return item;
    });
    liveList.replaceChildren(...items);
  }

  // --- wiring -----------------------------------------------------------------------------

  if (undoButton) {
    undoButton.addEventListener("click", pad.undo);
  }
  if (clearButton) {
    clearButton.addEventListener("click", pad.clear);
  }
  form.addEventListener("submit", onSubmit);
  document.addEventListener("keydown", pad.onKeyDown);
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && submitButton) {   // back from the results, page kept in memory
      submitButton.removeAttribute("aria-busy");
    }
  });

  if (wantsRestore()) {
    restore();
  }
  updateButtons();
  scheduleLive();
  document.documentElement.classList.add("js");
}());
