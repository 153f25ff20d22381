/* Sketchbook's drawing surface, shared by the drawing page (draw.js) and the game (play.js):
 * strokes drawn with mouse, touch or pen on a canvas, undo and clear, the keyboard shortcuts,
 * and the picture sent for recognition (encoded by png.js). Live guesses are guesses.js's.
 *
 * Strokes are kept as lists of points in canvas units (0..1 of the canvas side), so the
 * drawing survives resizes and device-pixel-ratio changes and can be saved for "go back".
 * Ink is black on a TRANSPARENT canvas: the server reads the strokes from the alpha channel,
 * the paper look comes from CSS behind the canvas and is not part of the picture. What is sent
 * is the same strokes redrawn on a fixed EXPORT_SIDE square, whatever the screen, as a
 * greyscale PNG (black ink on white, in a one-pixel ring of white).
 */
"use strict";

window.Sketchpad = (function () {
  const PEN_SHARE = 1 / 64;        // pen width as a share of the canvas side (7.5 px at 480)
  const EXPORT_SIDE = 400;         // side in px of the picture sent for recognition
  const MAX_POINTS = 20000;        // a guard against runaway input, far above any sketch

  // --- the picture ------------------------------------------------------------------------

  /* The picture sent for recognition, as a PNG data URL: the strokes drawn afresh on an
   * EXPORT_SIDE square with the same pen share. The screen's canvas has a pixel ratio of up to
   * 3, and sending it would give the server up to nine times the pixels to decode for the
   * same 28x28 result, and pictures that differ from device to device. `fallback` is the
   * screen's canvas, sent as it is if the browser cannot draw a new one. */
  async function pictureUrl(strokes, fallback) {
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
      paint(context, strokes, EXPORT_SIDE);
      try {
        const rgba = context.getImageData(0, 0, side, side).data;
        return await GreyPng.dataUrl(await GreyPng.encode(rgba, side, side));
      } catch (error) {
        return picture.toDataURL("image/png");  // e.g. no CompressionStream: RGBA, bigger
      }
    } catch (error) {
      return fallback.toDataURL("image/png");   // the screen's canvas, as it is
    }
  }

  /* Quick, Draw!'s layout, [[x...], [y...]] per stroke, in EXPORT_SIDE pixels. */
  function quickdrawStrokes(strokes) {
    const scale = (value) => Math.round(value * EXPORT_SIDE * 10) / 10;
    return strokes.map((stroke) => [
      stroke.map((point) => scale(point[0])),
      stroke.map((point) => scale(point[1])),
    ]);
  }

  // --- painting ---------------------------------------------------------------------------

  /* Every stroke onto a 2D context whose drawing area is `size` units square. */
  function paint(context, strokes, size) {
    context.lineCap = "round";
    context.lineJoin = "round";
    context.strokeStyle = "#000";
    context.fillStyle = "#000";
    context.lineWidth = Math.max(2, size * PEN_SHARE);
    for (const stroke of strokes) {
      drawStroke(context, stroke, size);
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

  // --- the pad ----------------------------------------------------------------------------

  /* A canvas to draw on. `options`: canDraw() (false: a new stroke may not start),
   * canEdit() (false: undo, clear and their keys do nothing), onStrokeStart() (a stroke
   * began) and onChange() (a stroke ended, or undo, clear). */
  function create(canvas, options) {
    const ctx = canvas.getContext("2d");
    const canDraw = options.canDraw || (() => true);
    const canEdit = options.canEdit || (() => true);
    const onStrokeStart = options.onStrokeStart || (() => {});
    const onChange = options.onChange || (() => {});

    let strokes = [];                // [[x, y], ...] per stroke, in canvas units
    let current = null;              // the stroke being drawn
    let activePointer = null;        // pointerId drawing it
    let side = 0;                    // canvas side in CSS pixels
    let ratio = 1;                   // backing-store pixels per CSS pixel
    let frame = 0;                   // pending requestAnimationFrame id

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
      paint(ctx, strokes, side);
    }

    function scheduleRedraw() {
      if (!frame) {
        frame = window.requestAnimationFrame(redraw);
      }
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

    function onPointerDown(event) {
      if (activePointer !== null || !event.isPrimary || !canDraw()) {
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
      current = [pointOf(event)];
      strokes.push(current);
      onStrokeStart();
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
      onChange();
    }

    function undo() {
      if (activePointer !== null || !strokes.length || !canEdit()) {
        return;
      }
      strokes.pop();
      redraw();
      onChange();
    }

    function clear() {
      if (activePointer !== null || !canEdit()) {
        return;
      }
      strokes = [];
      redraw();
      onChange();
    }

    /* Ctrl/Cmd+Z undoes, Delete or Backspace clears, except while typing in a field (or
     * while canEdit() says no). */
    function onKeyDown(event) {
      const target = event.target;
      const typing = target && (target.isContentEditable ||
                                /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
      if (typing || !canEdit()) {
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

    /* Forget the drawing without telling onChange (a new prompt, a restored drawing). */
    function reset(points) {
      if (activePointer !== null) {
        try {
          canvas.releasePointerCapture(activePointer);
        } catch (error) {
          // already released
        }
      }
      activePointer = null;
      current = null;
      strokes = points || [];
      redraw();
    }

    canvas.addEventListener("pointerdown", onPointerDown);
    canvas.addEventListener("pointermove", onPointerMove);
    canvas.addEventListener("pointerup", onPointerEnd);
    canvas.addEventListener("pointercancel", onPointerEnd);
    canvas.addEventListener("lostpointercapture", onPointerEnd);
    canvas.addEventListener("contextmenu", (event) => event.preventDefault());
    window.addEventListener("resize", resize);
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(resize).observe(canvas);
    }
    resize();

    return {
      get strokes() { return strokes; },
      undo: undo,
      clear: clear,
      reset: reset,
      onKeyDown: onKeyDown,
      pictureUrl: () => pictureUrl(strokes, canvas),
      strokesJson: () => JSON.stringify(quickdrawStrokes(strokes)),
    };
  }

  return { create: create, paint: paint, quickdrawStrokes: quickdrawStrokes };
}());
