"""The drawing page: the elements of its contract (ARCHITECTURE.md), the model's animals, and only
our own script and styles, all of which exist."""

import re

from testkit.pages import Page, page_of, title_of
from testkit.paths import REPO


def test_index_has_the_contract_elements(client, animals):
    response = client.get("/")
    assert response.status_code == 200
    page = page_of(response)
    assert title_of(page) == "Sketchbook — draw an animal"

    canvas = page.by_id("sketch")
    assert canvas["tag"] == "canvas"
    form = page.by_id("sketch-form")
    assert form["tag"] == "form"
    assert form["attrs"]["method"].lower() == "post"
    assert form["attrs"]["action"] == "/predict"
    url = page.by_id("url")
    assert url["tag"] == "input" and url["attrs"]["name"] == "url"
    assert url["attrs"]["type"] == "hidden"
    assert "sketch-form" in url["inside"]
    for button_id in ("submit", "clear", "undo"):
        button = page.by_id(button_id)
        assert button["tag"] == "button", button_id
        assert button["attrs"].get("aria-label"), button_id
    assert page.by_id("submit")["attrs"]["type"] == "submit"
    assert "Recognise" in Page.text(page.by_id("submit"))
    assert page.by_id("clear")["attrs"]["type"] == page.by_id("undo")["attrs"]["type"] == "button"

    live = page.by_id("live-guesses")
    assert live["attrs"].get("aria-live") == "polite"
    assert "Draw an animal" in Page.text(live)


def test_index_lists_the_models_animals(client, animals):
    page = page_of(client.get("/"))
    chips = page.find("li", inside="known-animals")
    assert [chip["attrs"]["data-label"] for chip in chips] == animals.labels
    assert [Page.text(chip) for chip in chips] == animals.labels


def test_index_has_no_inline_script_or_handlers(client):
    page = page_of(client.get("/"))
    scripts = page.find("script")
    assert [s["attrs"].get("src") for s in scripts] == [
        "/static/js/png.js", "/static/js/sketchpad.js", "/static/js/guesses.js",
        "/static/js/draw.js"]
    assert all(not Page.text(s) for s in scripts)
    assert not page.find("style")
    for element in page.elements:
        assert not any(name.startswith("on") for name in element["attrs"]), element
        assert "style" not in element["attrs"], element


def test_index_links_assets_that_exist(client):
    page = page_of(client.get("/"))
    links = {link["attrs"]["rel"]: link["attrs"]["href"] for link in page.find("link")}
    assert set(links) >= {"icon", "stylesheet"}
    for href in [*links.values(), page.find("script")[0]["attrs"]["src"]]:
        response = client.get(href)
        assert response.status_code == 200, href
        assert response.get_data()
    assert client.get(links["stylesheet"]).mimetype == "text/css"
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 200
    assert favicon.mimetype == "image/svg+xml"
    assert b"<svg" in favicon.get_data()


def test_draw_js_finds_every_element_it_needs(client):
    """draw.js looks its elements up by id: each must be on the page (and it is strict)."""
    script = (REPO / "static" / "js" / "draw.js").read_text(encoding="utf-8")
    assert '"use strict";' in script
    assert "innerHTML" not in script
    wanted = set(re.findall(r'getElementById\("([^"]+)"\)', script))
    assert {"sketch", "sketch-form", "url", "submit", "clear", "undo", "live-guesses"} <= wanted
    page = page_of(client.get("/"))
    assert {i for i in wanted if page.by_id(i) is None} == set()
    assert page.by_id("sketch-form")["attrs"]["data-api"] == "/api/predict"
