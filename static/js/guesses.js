/* Sketchbook's live guesses, shared by the drawing page (draw.js) and the game (play.js): the
 * drawing asked about while it is drawn, and the words the answers are said in.
 */
"use strict";

window.Guesses = (function () {
  /* Live guesses for a pad, as Quick, Draw! makes them: `delay` ms after the drawing last
   * changed, its picture goes to `url` (POST /api/predict), and only the answer for the
   * latest drawing is handed on. hooks: busy(on), answer(json), failed(sentence or null,
   * offline), and wanted() -> false when answers are no longer of use (the prompt ended). */
  function live(pad, url, hooks, delay) {
    let timer = 0;
    let controller = null;
    let seq = 0;
    const wanted = hooks.wanted || (() => true);

    function abort() {
      seq += 1;                    // any answer still on its way is now stale
      if (controller) {
        controller.abort();
        controller = null;
      }
      hooks.busy(false);
    }

    async function ask() {
      abort();
      const mine = seq;
      const own = new AbortController();
      controller = own;
      hooks.busy(true);
      try {
        const image = await pad.pictureUrl();
        if (mine !== seq) {
          return;                  // the drawing changed while it was being encoded
        }
        const response = await fetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json", "Accept": "application/json" },
          body: JSON.stringify({ image: image }),
          credentials: "same-origin",
          signal: own.signal,
        });
        let answer = null;
        try {
          answer = await response.json();
        } catch (error) {
          answer = null;
        }
        if (mine !== seq || !wanted()) {
          return;                  // a newer drawing has been sent since, or none is wanted
        }
        if (response.ok && answer && Array.isArray(answer.ranking)) {
          hooks.answer(answer);
        } else {
          hooks.failed(answer && answer.error, false);
        }
      } catch (error) {
        if (mine === seq && error.name !== "AbortError") {
          hooks.failed(null, true);
        }
      } finally {
        if (mine === seq) {
          hooks.busy(false);
          controller = null;
        }
      }
    }

    return {
      schedule() {
        window.clearTimeout(timer);
        timer = window.setTimeout(ask, delay);
      },
      pause() {                    // a stroke is being drawn: nothing is sent meanwhile
        window.clearTimeout(timer);
      },
      cancel() {
        window.clearTimeout(timer);
        abort();
      },
    };
  }

  function article(word) {
    return /^[aeiou]/i.test(word) ? "an" : "a";
  }

  /* A probability as people read it (rounded half up, as the server does); never "100%" (no
   * drawing is certain). */
  function percent(probability) {
    if (probability > 0 && probability < 0.005) {
      return "<1%";
    }
    return Math.min(Math.round(probability * 100), 99) + "%";
  }

  return { article: article, live: live, percent: percent };
}());
