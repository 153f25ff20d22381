"""The drawing page as a person in Chromium sees it: ``Sketchbook`` draws with real W3C
pointer actions (mouse, touch or pen), so draw.js sees the same pointer events a person would
cause, and reads the canvas, the live guesses, the results page and the browser's logs.

Selenium is imported only where it is used: importing this module needs no browser.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

from .drawings import normalise

ANSWER_TIMEOUT = 20  # seconds: a page load or live guess that runs the model
STEP_PX = 10  # pointer samples along a stroke at most this far apart (px): a brisk mouse at
              # 60 Hz; each sample costs a frame (~17 ms)


def canvas_paths(strokes, side: float, size: float = 0.7, step: float = STEP_PX):
    """Strokes (any units) as pointer paths in CSS px from the canvas centre.

    The drawing is scaled so its longest side is ``size`` of the canvas side, centred, and
    every segment is sampled at most ``step`` px apart, as a real pointer reports a stroke.
    """
    simplified = normalise(strokes)
    extent = np.vstack(simplified).max(axis=0)
    scale = size * side / 255.0
    shift = -extent * scale / 2          # the drawing's centre on the canvas centre
    paths = []
    for stroke in simplified:
        points = stroke * scale + shift
        dense = [points[0]]
        for a, b in zip(points, points[1:]):
            count = max(1, math.ceil(np.hypot(*(b - a)) / step))
            dense.extend(a + (b - a) * (i / count) for i in range(1, count + 1))
        path = []
        for x, y in dense:
            point = (int(round(x)), int(round(y)))
            if not path or point != path[-1]:
                path.append(point)
        paths.append(path)
    return paths


ALPHA_JS = """
const done = arguments[arguments.length - 1];
// two animation frames: any redraw draw.js scheduled has been painted into the canvas
requestAnimationFrame(() => requestAnimationFrame(() => {
  const canvas = document.getElementById("sketch");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0;
  for (let i = 3; i < data.length; i += 4) sum += data[i];
  done(sum);
}));
"""

LIVE_JS = """
const live = document.getElementById("live-guesses");
const status = live.querySelector(".live-status");
return {
  state: live.dataset.state || null,
  label: live.dataset.label || null,
  reason: live.dataset.reason || null,
  busy: live.getAttribute("aria-busy") === "true",
  status: status ? status.textContent.trim() : null,
  items: Array.from(live.querySelectorAll(".guesses li"),
                    (li) => [li.dataset.label, li.dataset.probability]),
};
"""

RECORD_POINTER_JS = """
window.__pointerLog = [];
const canvas = document.getElementById("sketch");
for (const type of ["pointerdown", "pointerup"]) {
  canvas.addEventListener(type, (event) => {
    const r = canvas.getBoundingClientRect();
    window.__pointerLog.push({type: event.type, pointerType: event.pointerType,
                              x: event.clientX - r.left - r.width / 2,
                              y: event.clientY - r.top - r.height / 2});
  });
}
"""


class Sketchbook:
    """The app as a person in Chromium sees it."""

    def __init__(self, driver, base_url: str, classes: list[str]):
        self.driver = driver
        self.base_url = base_url
        self.classes = list(classes)
        self._performance: list[dict] = []
        self._console: list[dict] = []

    # navigation

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def open(self, path: str = "/"):
        self.driver.get(self.url(path))
        if path.split("#")[0].split("?")[0] == "/":
            self.wait_for_drawing_page()

    def wait_for_drawing_page(self):
        # draw.js marks the page once it has wired the canvas
        self.wait().until(lambda d: d.execute_script(
            "return document.getElementById('sketch') !== null && "
            "document.documentElement.classList.contains('js')"))

    def wait(self, timeout: float = ANSWER_TIMEOUT):
        from selenium.webdriver.support.ui import WebDriverWait
        return WebDriverWait(self.driver, timeout, poll_frequency=0.05)

    def find(self, css: str):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def script(self, source: str, *args):
        return self.driver.execute_script(source, *args)

    # the canvas

    @property
    def canvas(self):
        return self.find("canvas#sketch")

    def stroke_count(self) -> int:
        return int(self.canvas.get_attribute("data-strokes") or 0)

    def alpha_sum(self) -> int:
        """Sum of the canvas' alpha channel once pending redraws are painted (0 = empty)."""
        return int(self.driver.execute_async_script(ALPHA_JS))

    def data_url(self) -> str:
        self.alpha_sum()  # let pending redraws land first
        return self.script("return document.getElementById('sketch').toDataURL('image/png')")

    def paths(self, strokes, size: float = 0.7):
        """Pointer paths (CSS px from the canvas centre) of ``strokes`` on this canvas."""
        width, height = self.canvas.size["width"], self.canvas.size["height"]
        assert abs(width - height) <= 1, f"the canvas is not square: {width}x{height}"
        return canvas_paths(strokes, width, size)

    def draw(self, strokes, pointer: str = "mouse", size: float = 0.7):
        """Draw ``strokes`` with real pointer input of kind mouse, touch or pen, the drawing
        ``size`` of the canvas side and centred. Returns the pointer paths used."""
        paths = self.paths(strokes, size)
        self.draw_paths(paths, pointer)
        return paths

    def draw_paths(self, paths, pointer: str = "mouse"):
        """One W3C action sequence per path: move to its first point (offsets from the
        canvas centre), press, move through every point, release."""
        from selenium.webdriver.common.actions.action_builder import ActionBuilder
        from selenium.webdriver.common.actions.pointer_input import PointerInput

        canvas = self.canvas
        before = self.stroke_count()
        for path in paths:
            builder = ActionBuilder(self.driver, mouse=PointerInput(pointer, pointer),
                                    duration=0)
            actions = builder.pointer_action
            actions.move_to(canvas, *path[0]).pointer_down()
            for point in path[1:]:
                actions.move_to(canvas, *point)
            actions.pointer_up()
            builder.perform()
        expected = before + len(paths)
        self.wait(5).until(lambda d: self.stroke_count() == expected,
                           f"draw.js should count {expected} strokes")

    def record_pointer_events(self):
        self.script(RECORD_POINTER_JS)

    def pointer_events(self) -> list[dict]:
        return self.script("return window.__pointerLog || []")

    # live guesses

    def live(self) -> dict:
        return self.script(LIVE_JS)

    def wait_for_live_guesses(self, differ_from=None, quiet: float = 0.6) -> dict:
        """The live guesses once they are shown (and differ from ``differ_from``'s items) and
        have stayed unchanged and idle for ``quiet`` seconds: the answer for this drawing.

        draw.js asks 250 ms after the last stroke ends and marks the list aria-busy while it
        waits, so a list that stays idle longer than that is the answer for the whole drawing.
        """
        state = {"seen": None, "since": time.monotonic()}

        def settled(_driver):
            now = self.live()
            key = json.dumps(now, sort_keys=True)
            if key != state["seen"]:
                state["seen"], state["since"] = key, time.monotonic()
                return False
            if now["busy"] or not now["items"]:
                return False
            if differ_from is not None and now["items"] == differ_from["items"]:
                return False
            return now if time.monotonic() - state["since"] >= quiet else False

        return self.wait().until(settled, "live guesses did not appear / settle")

    # submitting

    def recognise(self):
        """Press Recognise and wait for the next page: results or error."""
        self.find("button#submit").click()
        return self.wait().until(
            lambda d: self.find_all("#prediction, #error"),
            "neither the results page nor an error page appeared")[0]

    def reason(self) -> str | None:
        """``data-reason`` of the results page's #prediction ("" when it is sure)."""
        return self.find("#prediction").get_attribute("data-reason")

    def prediction(self) -> tuple[str, str]:
        """``data-label`` and ``data-confidence`` of the results page's #prediction."""
        found = self.find_all("#prediction")
        if not found:
            errors = self.find_all("#error")
            detail = errors[0].text if errors else self.driver.title
            pytest.fail(f"no #prediction on {self.driver.current_url}: {detail!r}")
        return found[0].get_attribute("data-label"), found[0].get_attribute("data-confidence")

    # logs

    def forget_logs(self):
        self.driver.get_log("browser")
        self.driver.get_log("performance")
        self._performance.clear()
        self._console.clear()

    def console(self) -> list[dict]:
        self._console.extend(self.driver.get_log("browser"))
        return list(self._console)

    def console_errors(self) -> list[dict]:
        return [entry for entry in self.console() if entry.get("level") == "SEVERE"]

    def requests(self) -> dict:
        """Requests seen since the logs were last emptied: requestId -> url, method, type,
        status (None until a response arrived), failed (errorText), canceled, blocked."""
        for entry in self.driver.get_log("performance"):
            self._performance.append(json.loads(entry["message"])["message"])
        seen: dict[str, dict] = {}
        for message in self._performance:
            method, params = message.get("method"), message.get("params", {})
            if not method or not method.startswith("Network."):
                continue
            request_id = params.get("requestId")
            if method == "Network.requestWillBeSent":
                seen.setdefault(request_id, {}).update(
                    url=params["request"]["url"], method=params["request"]["method"],
                    type=params.get("type"), status=None, failed=None)
            elif method == "Network.responseReceived":
                seen.setdefault(request_id, {}).update(
                    url=params["response"]["url"], status=params["response"]["status"],
                    type=params.get("type"))
            elif method == "Network.loadingFailed":
                seen.setdefault(request_id, {}).update(
                    failed=params.get("errorText"), canceled=params.get("canceled", False),
                    blocked=params.get("blockedReason"), type=params.get("type"))
        return seen

    def our_requests(self) -> list[dict]:
        return [r for r in self.requests().values()
                if r.get("url", "").startswith(self.base_url)]
