"""A normal visit raises no JavaScript error and no request of ours fails, favicon included."""

import pytest

from testkit.drawings import ANIMALS
from testkit.server import get

pytestmark = pytest.mark.ui


def test_no_javascript_errors_or_failed_requests_in_a_normal_visit(sketchbook):
    page = sketchbook                      # the logs were emptied before the page loaded
    page.draw(ANIMALS["fish"]())
    assert page.wait_for_live_guesses()["label"] == "fish"
    page.recognise()
    assert page.prediction()[0] == "fish"
    page.find("a#again").click()
    page.wait_for_drawing_page()
    assert page.live()["state"] == "empty"

    assert page.console_errors() == []

    requests = page.our_requests()
    seen = {(r.get("method"), r["url"].removeprefix(page.base_url)) for r in requests}
    for expected in [("GET", "/"), ("GET", "/static/css/style.css"),
                     ("GET", "/static/js/draw.js"), ("POST", "/api/predict"),
                     ("POST", "/predict")]:
        assert expected in seen, f"{expected} not in the performance log: {sorted(seen)}"
    bad = [r for r in requests
           if r.get("failed") or r.get("status") is None or r["status"] >= 400]
    assert bad == []
    # Anything else the browser fetched or tried (outside chrome:// and data: URLs) failed?
    others = [r for r in page.requests().values()
              if r.get("url", "").startswith(("http:", "https:"))
              and not r["url"].startswith(page.base_url)]
    assert others == [], "the page must not load anything from elsewhere"

    favicons = [r for r in requests if "favicon" in r["url"]]
    assert all(r["status"] in (200, 304) for r in favicons), favicons
    for path in ("/favicon.ico", "/static/favicon.svg"):
        status, body, headers = get(page.url(path))
        assert status == 200, path
        assert headers.get("Content-Type", "").startswith("image/svg+xml"), headers
        assert body.lstrip().startswith(b"<svg")
