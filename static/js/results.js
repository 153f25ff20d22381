/* Sketchbook results page: when a person corrects the answer to one of the model's animals
 * (the teach form's "No, it was…"), "How others drew it" shows that animal's drawings; back
 * to "Yes", or to a word the model does not know, it shows the animals it weighed again.
 *
 * The server renders a row of drawings for every animal the model knows, nearest to this
 * drawing first, with all but the weighed ones hidden: this only chooses which to show.
 */
"use strict";

(function () {
  const others = document.getElementById("others-drew");
  const form = document.getElementById("teach-form");
  if (!others || !form) {
    return;
  }
  const rows = Array.from(others.querySelectorAll(".others-row"));
  const weighed = rows.filter((row) => !row.hidden).map((row) => row.dataset.label);
  const heading = document.getElementById("others-heading");
  const status = document.getElementById("others-status");
  const no = document.getElementById("answer-no");
  const select = document.getElementById("teach-label");
  const other = document.getElementById("teach-other");
  const weighedHeading = heading ? heading.textContent : "";
  const article = (word) => (/^[aeiou]/i.test(word) ? "an" : "a");

  function corrected() {
    if (!no || !no.checked) {
      return null;
    }
    const typed = other && other.value.trim().toLowerCase();
    const named = typed || (select ? select.value : "");
    return rows.some((row) => row.dataset.label === named) ? named : null;
  }

  function show() {
    const label = corrected();
    const shown = label ? [label] : weighed;
    const now = rows.filter((row) => !row.hidden).map((row) => row.dataset.label);
    if (now.join("|") === shown.join("|")) {
      return;
    }
    for (const row of rows) {
      row.hidden = !shown.includes(row.dataset.label);
    }
    others.dataset.label = shown[0];
    const sentence = label ? "How others drew " + article(label) + " " + label :
      weighedHeading;
    if (heading) {
      heading.textContent = sentence;
    }
    if (status) {
      status.textContent = sentence + ".";
    }
  }

  form.addEventListener("change", show);
  form.addEventListener("input", show);
}());
