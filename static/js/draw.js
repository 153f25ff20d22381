/* Sketchbook drawing page: pointer drawing, undo/clear, form submit and live guesses.
 *
 * Strokes are kept as lists of points in canvas units (0..1 of the canvas side), so the
 * drawing survives resizes and device-pixel-ratio changes and can be saved for "go back".
 * Ink is black on a TRANSPARENT canvas: the server reads the strokes from the alpha channel,
 * the paper look comes from CSS behind the canvas and is not part of the picture. What is sent
 * is the same strokes redrawn on a fixed EXPORT_SIDE square, whatever the screen, as a
 * greyscale PNG (black ink on white, in a one-pixel ring of white).
 */
"use strict";

(function () {
  const canvas = document.getElementById("sketch");
  const form = document.getElementById("sketch-form");
  if (!canvas || !form || !canvas.getContext) {
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
  const ctx = canvas.getContext("2d");

  const STORE_KEY = "sketchbook:drawing";
  const LIVE_DELAY_MS = 250;
  const LIVE_COUNT = 3;
  const PEN_SHARE = 1 / 64;        // pen width as a share of the canvas side (7.5 px at 480)
  const EXPORT_SIDE = 400;         // side in px of the picture sent for recognition
  const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
  const MAX_POINTS = 20000;        // a guard against runaway input, far above any sketch
  const HINT = "Draw an animal…";

  let strokes = [];                // [[x, y], ...] per stroke, in canvas units
  let current = null;              // the stroke being drawn
  let activePointer = null;        // pointerId drawing it
  let side = 0;                    // canvas side in CSS pixels
  let ratio = 1;                   // backing-store pixels per CSS pixel
  let frame = 0;                   // pending requestAnimationFrame id

  let liveTimer = 0;
  let liveController = null;
  let liveSeq = 0;
  let crcTable = null;             // CRC-32 table for PNG chunks, made on first use
  let submitting = false;

  // --- sizing and drawing -----------------------------------------------------------------

  function resize() {
    const newSide = canvas.clientWidth;
    const newRatio = Math.min(Math.max(window.devicePixelRatio || 1, 1), 3);
    if (!newSide || (newSide === side && newRatio === ratio)) {
      return;
    }
    side = newSide;
    ratio = newRatio;
    canvas.width = Math.round(side * ratio);
    canvas.height = Math.round(side * ratio);
    redraw();
  }

  function redraw() {
    frame = 0;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    paint(ctx, side);
  }

  /* The picture sent for recognition, as a PNG data URL: the strokes drawn afresh on an
   * EXPORT_SIDE square with the same pen share. The screen's canvas has a pixel ratio of up to
   * 3, and sending it would give the server up to nine times the pixels to decode for the
   * same 28x28 result, and pictures that differ from device to device. */
  async function pictureUrl() {
    try {
      // A one-pixel ring of paper around the drawing: a grey picture has no alpha channel
      // to tell ink from paper, so the server reads the paper's shade off the picture's border,
      // and this way even a frame drawn along the canvas' edges cannot fool it.
      const side = EXPORT_SIDE + 2;
      const picture = document.createElement("canvas");
      picture.width = side;
      picture.height = side;
      const context = picture.getContext("2d");
      context.beginPath();
      context.rect(1, 1, EXPORT_SIDE, EXPORT_SIDE);
      context.clip();
      context.translate(1, 1);
      paint(context, EXPORT_SIDE);
      try {
        const rgba = context.getImageData(0, 0, side, side).data;
        return await dataUrl(await greyPng(rgba, side, side));
      } catch (error) {
        return picture.toDataURL("image/png");  // e.g. no CompressionStream: RGBA, bigger
      }
    } catch (error) {
      return canvas.toDataURL("image/png");     // the screen's canvas, as it is
    }
  }

  /* The ink of RGBA pixels (black on transparent) as an 8-bit greyscale PNG, black on white.
   * A canvas only exports RGBA PNGs: four bytes a pixel for the server to decode, where the
   * drawing needs one (decoding one costs the server 0.3 ms instead of 1.1). Rows are stored
   * unfiltered and deflated by the browser's own CompressionStream. */
  async function greyPng(rgba, width, height) {
    const rows = new Uint8Array((width + 1) * height);  // each row: filter type 0, its pixels
    for (let y = 0; y < height; y += 1) {
      const row = y * (width + 1) + 1;
      for (let x = 0; x < width; x += 1) {
        rows[row + x] = 255 - rgba[(y * width + x) * 4 + 3];
      }
    }
    const deflated = new Blob([rows]).stream().pipeThrough(new CompressionStream("deflate"));
    const header = new DataView(new ArrayBuffer(13));  // bit depth 8, colour type 0 (grey),
    header.setUint32(0, width);                         // standard compression and filters,
    header.setUint32(4, height);                        // no interlacing
    header.setUint8(8, 8);
    return new Blob([
      new Uint8Array(PNG_SIGNATURE),
      pngChunk("IHDR", new Uint8Array(header.buffer)),
      pngChunk("IDAT", new Uint8Array(await new Response(deflated).arrayBuffer())),
      pngChunk("IEND", new Uint8Array(0)),
    ], { type: "image/png" });
  }

  /* One PNG chunk: length, type, data, CRC-32 of type and data. */
  function pngChunk(type, data) {
    const chunk = new Uint8Array(12 + data.length);
    const view = new DataView(chunk.buffer);
    view.setUint32(0, data.length);
    for (let i = 0; i < 4; i += 1) {
      chunk[4 + i] = type.charCodeAt(i);
    }
    chunk.set(data, 8);
    view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
    return chunk;
  }

  function crc32(bytes) {
    if (!crcTable) {
      crcTable = new Uint32Array(256);
      for (let n = 0; n < 256; n += 1) {
        let c = n;
        for (let k = 0; k < 8; k += 1) {
          c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        }
        crcTable[n] = c >>> 0;
      }
    }
    let crc = 0xffffffff;
    for (let i = 0; i < bytes.length; i += 1) {
      crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
    }
    return (crc ^ 0xffffffff) >>> 0;
  }

  function dataUrl(blob) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }

  /* Every stroke onto a 2D context whose drawing area is `size` units square. */
  function paint(context, size) {
    context.lineCap = "round";
    context.lineJoin = "round";
    context.strokeStyle = "#000";
    context.fillStyle = "#000";
    context.lineWidth = Math.max(2, size * PEN_SHARE);
    for (const stroke of strokes) {
      drawStroke(context, stroke, size);
    }
  }

  function scheduleRedraw() {
    if (!frame) {
      frame = window.requestAnimationFrame(redraw);
    }
  }

  /* One stroke as a smooth path: quadratic curves through the midpoints of its points. */
  function drawStroke(context, points, s) {
    if (points.length === 1) {
      context.beginPath();
      context.arc(points[0][0] * s, points[0][1] * s, context.lineWidth / 2, 0, 2 * Math.PI);
      context.fill();
      return;
    }
    context.beginPath();
    context.moveTo(points[0][0] * s, points[0][1] * s);
    for (let i = 1; i < points.length - 1; i += 1) {
      const midX = (points[i][0] + points[i + 1][0]) / 2;
      const midY = (points[i][1] + points[i + 1][1]) / 2;
      context.quadraticCurveTo(points[i][0] * s, points[i][1] * s, midX * s, midY * s);
    }
    const last = points[points.length - 1];
    context.lineTo(last[0] * s, last[1] * s);
    context.stroke();
  }

  function pointOf(event) {
    const rect = canvas.getBoundingClientRect();
    const x = (event.clientX - rect.left - canvas.clientLeft) / side;
    const y = (event.clientY - rect.top - canvas.clientTop) / side;
    return [Math.round(x * 10000) / 10000, Math.round(y * 10000) / 10000];
  }

  function countPoints() {
    return strokes.reduce((sum, stroke) => sum + stroke.length, 0);
  }

  // --- pointer input ----------------------------------------------------------------------

  function onPointerDown(event) {
    if (activePointer !== null || !event.isPrimary || submitting) {
      return;                      // one stroke at a time; a second finger does not draw
    }
    if (event.pointerType === "mouse" && event.button !== 0) {
      return;
    }
    if (countPoints() > MAX_POINTS) {
      return;
    }
    event.preventDefault();
    resize();
    activePointer = event.pointerId;
    try {
      canvas.setPointerCapture(event.pointerId);
    } catch (error) {
      // the pointer is already gone: drawing still works while it stays over the canvas
    }
    window.clearTimeout(liveTimer); // nothing is sent while a stroke is being drawn
    current = [pointOf(event)];
    strokes.push(current);
    updateButtons();
    scheduleRedraw();
  }

  function onPointerMove(event) {
    if (event.pointerId !== activePointer || !current) {
      return;
    }
    event.preventDefault();
    const events = typeof event.getCoalescedEvents === "function" ?
      event.getCoalescedEvents() : [];
    for (const each of (events.length ? events : [event])) {
      const point = pointOf(each);
      const last = current[current.length - 1];
      // skip points closer than half a CSS pixel to the previous one
      if (Math.hypot(point[0] - last[0], point[1] - last[1]) * side >= 0.5) {
        current.push(point);
      }
    }
    scheduleRedraw();
  }

  function onPointerEnd(event) {
    if (event.pointerId !== activePointer) {
      return;
    }
    if (event.type === "pointerup" && current) {
      const point = pointOf(event);
      const last = current[current.length - 1];
      if (point[0] !== last[0] || point[1] !== last[1]) {
        current.push(point);
      }
    }
    activePointer = null;
    current = null;
    scheduleRedraw();
    changed();
  }

  // --- actions ----------------------------------------------------------------------------

  function changed() {
    updateButtons();
    scheduleLive();
  }

  function updateButtons() {
    const empty = strokes.length === 0;
    for (const button of [undoButton, clearButton]) {
      if (button) {
        button.setAttribute("aria-disabled", empty ? "true" : "false");
      }
    }
    canvas.dataset.strokes = String(strokes.length);
  }

  function undo() {
    if (activePointer !== null || !strokes.length) {
      return;
    }
    strokes.pop();
    redraw();
    changed();
  }

  function clear() {
    if (activePointer !== null) {
      return;
    }
    strokes = [];
    redraw();
    changed();
  }

  function onKeyDown(event) {
    const target = event.target;
    if (target && (target.isContentEditable ||
                   /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) {
      return;
    }
    const key = event.key;
    if ((event.ctrlKey || event.metaKey) && !event.shiftKey && !event.altKey &&
        (key === "z" || key === "Z")) {
      event.preventDefault();
      undo();
    } else if ((key === "Delete" || key === "Backspace") &&
               !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      clear();
    }
  }

  async function onSubmit(event) {
    // Held back while the picture is encoded (no new strokes meanwhile), then sent: a full
    // page load of the results.
    event.preventDefault();
    if (submitting) {
      return;
    }
    submitting = true;
    window.clearTimeout(liveTimer);
    abortLive();
    if (submitButton) {
      submitButton.setAttribute("aria-busy", "true");
    }
    try {
      field.value = await pictureUrl();
      if (strokesField) {
        strokesField.value = strokesJson();
      }
      save();
      HTMLFormElement.prototype.submit.call(form);  // (form.submit is the button id="submit")
    } finally {
      submitting = false;          // a stopped page load leaves Recognise working
    }
  }

  function strokesJson() {
    // Quick, Draw!'s layout, [[x...], [y...]] per stroke, in EXPORT_SIDE pixels: what the
    // results page's "Did I get it right?" sends on if the person chooses to teach.
    const scale = (value) => Math.round(value * EXPORT_SIDE * 10) / 10;
    return JSON.stringify(strokes.map((stroke) => [
      stroke.map((point) => scale(point[0])),
      stroke.map((point) => scale(point[1])),
    ]));
  }

  // --- keeping the drawing for "back to your drawing" -------------------------------------

  function save() {
    try {
      window.sessionStorage.setItem(STORE_KEY, JSON.stringify({ v: 1, strokes: strokes }));
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
    strokes = valid.map((stroke) => stroke.map((p) => [p[0], p[1]]));
    return strokes.length > 0;
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
    window.clearTimeout(liveTimer);
    if (!live) {
      return;
    }
    if (!strokes.length) {
      abortLive();
      showHint();
      return;
    }
    liveTimer = window.setTimeout(askLive, LIVE_DELAY_MS);
  }

  function abortLive() {
    liveSeq += 1;                  // any answer still on its way is now stale
    if (liveController) {
      liveController.abort();
      liveController = null;
    }
    if (live) {
      live.removeAttribute("aria-busy");
    }
  }

  async function askLive() {
    abortLive();
    const seq = liveSeq;
    const controller = new AbortController();
    liveController = controller;
    live.setAttribute("aria-busy", "true");
    try {
      const image = await pictureUrl();
      if (seq !== liveSeq) {
        return;                    // the drawing changed while it was being encoded
      }
      const response = await fetch(apiUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify({ image: image }),
        credentials: "same-origin",
        signal: controller.signal,
      });
      let answer = null;
      try {
        answer = await response.json();
      } catch (error) {
        answer = null;
      }
      if (seq !== liveSeq) {
        return;                    // a newer drawing has been sent since
      }
      if (response.ok && answer && Array.isArray(answer.ranking)) {
        showGuesses(answer);
      } else {
        showMessage((answer && answer.error) || "I couldn't look at that drawing.", "error");
      }
    } catch (error) {
      if (seq === liveSeq && error.name !== "AbortError") {
        showMessage("I can't reach the server right now. You can still press Recognise.",
                    "error");
      }
    } finally {
      if (seq === liveSeq) {
        live.removeAttribute("aria-busy");
        liveController = null;
      }
    }
  }

  function article(word) {
    return /^[aeiou]/i.test(word) ? "an" : "a";
  }

  /* A probability as people read it; never "100%" (no drawing is certain). */
  function percent(probability) {
    if (probability > 0 && probability < 0.005) {
      return "<1%";
    }
    return Math.min(Math.round(probability * 100), 99) + "%";
  }

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

  canvas.addEventListener("pointerdown", onPointerDown);
  canvas.addEventListener("pointermove", onPointerMove);
  canvas.addEventListener("pointerup", onPointerEnd);
  canvas.addEventListener("pointercancel", onPointerEnd);
  canvas.addEventListener("lostpointercapture", onPointerEnd);
  canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  if (undoButton) {
    undoButton.addEventListener("click", undo);
  }
  if (clearButton) {
    clearButton.addEventListener("click", clear);
  }
  form.addEventListener("submit", onSubmit);
  document.addEventListener("keydown", onKeyDown);
  window.addEventListener("resize", resize);
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(resize).observe(canvas);
  }
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && submitButton) {   // back from the results, page kept in memory
      submitButton.removeAttribute("aria-busy");
    }
  });

  resize();
  if (wantsRestore() && restore()) {
    redraw();
  }
  updateButtons();
  scheduleLive();
  document.documentElement.classList.add("js");
}());
