"""An accessibility audit of the page a browser shows: axe-core (Deque, MPL-2.0), vendored from
its npm package into ``testkit/vendor/axe-core`` (4.14.1, ``axe.min.js`` and its LICENSE) so
that tests never fetch it; the browser tests inject it into the page and run it there."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")  # the impacts a page may not have

_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]}).then(
  (result) => done(result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ") + ": " + (n.failureSummary || "")),
  }))),
  (error) => done([{id: "axe-error", impact: "critical", help: String(error), nodes: []}]));
"""


def violations(driver, impacts=SERIOUS) -> list[dict]:
    """axe-core's violations of the current page with one of ``impacts``: [{"id", "impact",
    "help", "nodes"}] (empty: the page passes)."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    found = driver.execute_async_script(_RUN)
    return [v for v in found if v["impact"] in impacts]
