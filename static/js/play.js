/* Sketchbook's game (/play): a round of prompts drawn from the model's classes, a countdown
 * for each, live guesses (spoken when the person turns sound on), and a summary at the end.
 *
 * The server renders what it knows into #play's data attributes: the labels, how many
 * prompts, the seconds per prompt and the model's accept threshold. A drawing is recognised
 * when the prompt's probability in /api/predict's ranking reaches that threshold, whether or
 * not the prompt is the top answer. Nothing is stored but the sound switch (localStorage).
 */
"use strict";

(function () {
  const root = document.getElementById("play");
  const canvas = document.getElementById("sketch");
  if (!root || !canvas || !canvas.getContext || !window.Sketchpad || !window.Guesses) {
    return;
  }
  const byId = (id) => document.getElementById(id);
  const start = byId("play-start");
  const round = byId("play-round");
  const end = byId("play-end");
  const promptEl = byId("play-prompt");
  const countEl = byId("play-count");
  const timer = byId("play-timer");
  const bar = byId("play-bar");
  const secondsEl = byId("play-seconds");
  const guess = byId("play-guess");
  const summary = byId("play-summary");
  const score = byId("play-score");
  const undoButton = byId("undo");
  const clearButton = byId("clear");
  const soundSwitch = byId("play-sound-switch");
  const sound = byId("play-sound");

  const apiUrl = root.dataset.api || "/api/predict";
  const teachUrl = root.dataset.teach || "/api/feedback";
  const labels = JSON.parse(root.dataset.labels || "[]");
  const promptCount = Math.min(Number(root.dataset.prompts) || 6, labels.length);
  const seconds = Number(root.dataset.seconds) || 20;
  const accept = Number(root.dataset.accept);
  const baseTitle = document.title;

  const LIVE_DELAY_MS = 250;       // as on the drawing page: after the last stroke ends
  const PAUSE_MS = 1800;           // between a prompt's end and the next
  const SPEAK_GAP_MS = 1500;       // never speak more often than this
  const SOUND_KEY = "sketchbook:play-sound";
  const THUMB_SIDE = 96;           // the summary's drawings, in CSS px
  const reducedMotion = window.matchMedia ?
    window.matchMedia("(prefers-reduced-motion: reduce)") : { matches: false };
  const speech = "speechSynthesis" in window && window.speechSynthesis &&
    typeof window.SpeechSynthesisUtterance === "function" ? window.speechSynthesis : null;

  let prompts = [];                // the round's labels, in order
  let results = [];                // per prompt: label, recognised, seconds, top, strokes
  let index = -1;                  // the prompt being drawn
  let phase = "start";             // start, drawing, done (a prompt ended), summary
  let startedAt = 0;               // performance.now() when the prompt started
  let shownSeconds = -1;
  let frame = 0;
  let pauseTimer = 0;
  let lastTop = [];                // the latest answer's top three for this prompt
  let lastAnswer = null;           // and its answer: label (or "unsure") and confidence
  let lastSaid = "";               // what was last spoken, and when
  let lastSpokenAt = -Infinity;

  const pad = window.Sketchpad.create(canvas, {
    canDraw: () => phase === "drawing",
    canEdit: () => phase === "drawing",
    onStrokeStart: () => {
      guesses.pause();
      updateButtons();
    },
    onChange: changed,
  });
  const guesses = window.Guesses.live(pad, apiUrl, {
    busy: (on) => (on ? guess.setAttribute("aria-busy", "true") :
                   guess.removeAttribute("aria-busy")),
    answer: judge,
    failed: (sentence, offline) => setGuess(offline ? "I can't reach the server right now." :
      sentence || "I couldn't look at that drawing.", "error", ""),
    wanted: () => phase === "drawing",
  }, LIVE_DELAY_MS);

  // --- the round --------------------------------------------------------------------------

  function shuffled(items) {
    const copy = items.slice();
    for (let i = copy.length - 1; i > 0; i -= 1) {
      const j = Math.floor(Math.random() * (i + 1));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy;
  }

  function begin() {
    prompts = shuffled(labels).slice(0, promptCount);
    results = [];
    index = -1;
    start.hidden = true;
    end.hidden = true;
    round.hidden = false;
    next();
  }

  function next() {
    window.clearTimeout(pauseTimer);
    index += 1;
    if (index >= prompts.length) {
      showSummary();
      return;
    }
    const label = prompts[index];
    guesses.cancel();
    pad.reset();
    lastTop = [];
    lastAnswer = null;
    lastSaid = "";
    promptEl.dataset.label = label;
    promptEl.textContent = "Draw " + article(label) + " " + label;
    countEl.textContent = (index + 1) + " of " + prompts.length;
    setGuess("I'm looking…", "empty", "");
    phase = "drawing";
    root.dataset.state = "drawing";
    startedAt = performance.now();
    shownSeconds = -1;
    updateButtons();
    tick();
    canvas.focus({ preventScroll: true });
  }

  function tick() {
    frame = 0;
    if (phase !== "drawing") {
      return;
    }
    const left = Math.max(0, seconds - (performance.now() - startedAt) / 1000);
    const whole = Math.ceil(left);
    if (whole !== shownSeconds) {
      shownSeconds = whole;
      timer.dataset.secondsLeft = String(whole);
      secondsEl.textContent = String(whole);
      document.title = whole + " s · " + promptEl.textContent + " · Sketchbook";
      timer.classList.toggle("hurry", whole <= 5);
    }
    // Reduced motion: the bar moves in whole seconds, not continuously.
    const share = reducedMotion.matches ? whole / seconds : left / seconds;
    bar.style.transform = "scaleX(" + share.toFixed(4) + ")";
    if (left <= 0) {
      finish(false, "Sorry, I couldn't guess it.");
      return;
    }
    frame = window.requestAnimationFrame(tick);
  }

  /* The prompt is over: recognised or out of time. The drawing and the last guesses go to
   * the summary, and the next prompt comes after a pause. */
  function finish(recognised, message) {
    if (phase !== "drawing") {
      return;
    }
    phase = "done";
    root.dataset.state = recognised ? "recognised" : "timeout";
    window.cancelAnimationFrame(frame);
    guesses.cancel();
    const taken = Math.min(seconds, (performance.now() - startedAt) / 1000);
    results.push({ label: prompts[index], recognised: recognised,
                   seconds: Math.round(taken * 10) / 10, top: lastTop, answer: lastAnswer,
                   strokes: pad.strokes.map((stroke) => stroke.slice()) });
    setGuess(message, recognised ? "recognised" : "timeout", recognised ? prompts[index] : "");
    say(message, true);
    updateButtons();
    pauseTimer = window.setTimeout(next, PAUSE_MS);
  }

  function showSummary() {
    phase = "summary";
    root.dataset.state = "summary";
    document.title = baseTitle;
    round.hidden = true;
    end.hidden = false;
    const got = results.filter((result) => result.recognised).length;
    score.textContent = "I recognised " + got + " of your " + results.length + " drawings.";
    summary.replaceChildren(...results.map(summaryItem));
    byId("play-end-heading").focus({ preventScroll: false });
  }

  function summaryItem(result) {
    const item = document.createElement("li");
    item.dataset.label = result.label;
    item.dataset.recognised = String(result.recognised);
    item.dataset.seconds = String(result.seconds);
    item.dataset.guesses = result.top.map((each) => each.label).join(",");
    item.className = result.recognised ? "recognised" : "missed";

    const thumb = document.createElement("canvas");
    const ratio = Math.min(Math.max(window.devicePixelRatio || 1, 1), 3);
    thumb.width = thumb.height = Math.round(THUMB_SIDE * ratio);
    thumb.className = "play-thumb";
    thumb.setAttribute("role", "img");
    thumb.setAttribute("aria-label", "Your drawing of " + article(result.label) + " " +
                       result.label + (result.strokes.length ? "" : " (empty)"));
    const context = thumb.getContext("2d");
    context.scale(ratio, ratio);
    window.Sketchpad.paint(context, result.strokes, THUMB_SIDE);

    const title = document.createElement("h2");
    title.textContent = result.label;
    const verdict = document.createElement("p");
    verdict.className = "verdict";
    verdict.textContent = result.recognised ?
      "Recognised in " + result.seconds.toFixed(1) + " s" : "Not recognised";
    const top = document.createElement("p");
    top.className = "play-top";
    top.textContent = result.top.length ?
      "I thought: " + result.top.map((each) => each.label + " " + percent(each.probability))
        .join(", ") : "I had no guess.";
    item.append(thumb, title, verdict, top);
    if (result.strokes.length) {
      item.append(...teachControls(result));
    }
    return item;
  }

  function teachControls(result) {
    // One explicit press per drawing, beside the sentence of what is kept (#play-teach-kept):
    // the label is the prompt, the guess the model's last best answer.
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button secondary play-teach";
    button.textContent = "Keep to teach me";
    button.setAttribute("aria-describedby", "play-teach-kept");
    const status = document.createElement("p");
    status.className = "play-teach-status";
    status.setAttribute("role", "status");
    button.addEventListener("click", async () => {
      if (button.getAttribute("aria-disabled") === "true") {
        return;
      }
      button.setAttribute("aria-disabled", "true");
      status.textContent = "Saving…";
      const said = result.answer;  // the model's answer for the drawing as it ended
      try {
        const response = await fetch(teachUrl, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({
            drawing: Sketchpad.quickdrawStrokes(result.strokes),
            label: result.label,
            guess: said ? said.label : "unsure",
            confidence: said ? said.confidence : null,
            consent: true,
          }),
        });
        const answer = await response.json();
        if (!response.ok) {
          throw new Error(answer.error || "Nothing was saved.");
        }
        button.textContent = "Kept: thank you!";
        button.dataset.taught = answer.id;
        status.textContent = "I'll learn from your " + result.label + ".";
      } catch (error) {
        button.removeAttribute("aria-disabled");
        status.textContent = error.message || "Nothing was saved. Please try again.";
      }
    });
    return [button, status];
  }

  // --- editing ----------------------------------------------------------------------------

  function changed() {
    updateButtons();
    scheduleLive();
  }

  function updateButtons() {
    const off = pad.strokes.length === 0 || phase !== "drawing";
    for (const button of [undoButton, clearButton]) {
      button.setAttribute("aria-disabled", off ? "true" : "false");
    }
    canvas.dataset.strokes = String(pad.strokes.length);
  }

  // --- live guesses -----------------------------------------------------------------------

  function scheduleLive() {
    if (phase !== "drawing") {
      guesses.pause();
      return;
    }
    if (!pad.strokes.length) {
      guesses.cancel();
      lastTop = [];
      lastAnswer = null;
      setGuess("I'm looking…", "empty", "");
      return;
    }
    guesses.schedule();
  }

  /* An answer for the drawing: recognised if the prompt's probability reaches the accept
   * threshold, else the best guess (or "not sure") shown and, when it changed, spoken. */
  function judge(answer) {
    const label = prompts[index];
    lastTop = answer.ranking.slice(0, 3);
    lastAnswer = { label: answer.label, confidence: answer.confidence };
    const mine = answer.ranking.find((each) => each.label === label);
    if (mine && mine.probability >= accept) {
      finish(true, "Oh, I know, it's " + article(label) + " " + label + "!");
      return;
    }
    if (answer.unsure) {
      setGuess("I'm not sure…", "unsure", "");
      say("I'm not sure", false);
    } else {
      setGuess("I see… " + answer.label, "guess", answer.label);
      say(answer.label, false);
    }
  }

  function setGuess(text, state, label) {
    guess.textContent = text;
    guess.dataset.state = state;
    guess.dataset.label = label;
  }

  // --- sound ------------------------------------------------------------------------------

  /* Speak `text` if sound is on and it differs from what was said last, at most every
   * SPEAK_GAP_MS; a prompt's end (`urgent`) is always said, cutting off what was queued. */
  function say(text, urgent) {
    if (!speech || !sound.checked || text === lastSaid) {
      return;
    }
    const now = performance.now();
    if (!urgent && now - lastSpokenAt < SPEAK_GAP_MS) {
      return;
    }
    lastSaid = text;
    lastSpokenAt = now;
    try {
      if (urgent) {
        speech.cancel();
      }
      const utterance = new window.SpeechSynthesisUtterance(text);
      utterance.lang = "en";
      speech.speak(utterance);
    } catch (error) {
      // speech failing must not stop the game
    }
  }

  function setUpSound() {
    if (!speech) {
      soundSwitch.remove();        // no speech synthesis: no switch at all
      return;
    }
    soundSwitch.hidden = false;
    try {
      sound.checked = window.localStorage.getItem(SOUND_KEY) === "on";
    } catch (error) {
      sound.checked = false;
    }
    sound.addEventListener("change", () => {
      try {
        window.localStorage.setItem(SOUND_KEY, sound.checked ? "on" : "off");
      } catch (error) {
        // storage disabled: the choice lasts for this page
      }
      if (!sound.checked) {
        speech.cancel();
      }
    });
  }

  // --- words ------------------------------------------------------------------------------

  const article = window.Guesses.article;
  const percent = window.Guesses.percent;

  // --- wiring -----------------------------------------------------------------------------

  undoButton.addEventListener("click", pad.undo);
  clearButton.addEventListener("click", pad.clear);
  byId("play-begin").addEventListener("click", begin);
  byId("play-again").addEventListener("click", begin);
  document.addEventListener("keydown", pad.onKeyDown);
  setUpSound();
  updateButtons();
  root.dataset.state = "start";
  document.documentElement.classList.add("js");
}());
