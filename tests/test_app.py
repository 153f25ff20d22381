"""The web app: every route, the contracts in DESIGN.md, and every error a client can cause.

Models here are tiny Keras models made in fixtures (Input -> Rescaling -> Flatten -> Dense).
Some have a zero kernel and a chosen bias, so their answer is the same for any drawing: that is
how the "sure", "unsure" and reject-class paths are tested without trained weights. The shipped
model (sketch_model/models/animals.keras) must recognise a drawn cat.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import app as webapp
from sketch_model.classifier import DEFAULT_MODEL, ModelError, load_classifier
from tests.drawing import ANIMALS, png_bytes, render_canvas

REPO = Path(__file__).resolve().parents[1]
ANIMAL_CLASSES = ["cat", "dog", "fish", "bird", "octopus", "camel"]
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
SENTENCE = re.compile(r"^[A-Z].{8,}[.!?]$", re.DOTALL)


# --- models ---------------------------------------------------------------------------------

def make_model(directory: Path, name: str, classes: list[str], *, reject_class=None,
               unsure_threshold=0.0, bias=None, seed=0) -> Path:
    """A tiny model saved as ``<name>.keras`` + ``<name>.json``.

    With ``bias`` the kernel is zero, so the model gives softmax(bias) for every drawing.
    """
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((28, 28, 1), dtype="float32"),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Flatten(),
        keras.layers.Dense(len(classes), activation="softmax"),
    ])
    if bias is not None:
        dense = model.layers[-1]
        kernel, _ = dense.get_weights()
        dense.set_weights([np.zeros_like(kernel), np.asarray(bias, dtype=np.float32)])
    path = directory / f"{name}.keras"
    model.save(path)
    metadata = {
        "name": name,
        "classes": classes,
        "reject_class": reject_class,
        "unsure_threshold": unsure_threshold,
        "input": {"shape": [28, 28, 1], "dtype": "float32", "range": [0, 255],
                  "ink": "bright (255) strokes on black (0)"},
        "metrics": {},
    }
    path.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def animals_path(models_dir):
    """Untrained (random) weights over the six animals: any answer, any confidence."""
    return make_model(models_dir, "tiny-animals", ANIMAL_CLASSES, unsure_threshold=0.3)


@pytest.fixture(scope="session")
def animals(animals_path):
    return load_classifier(animals_path)


@pytest.fixture(scope="session")
def sure_cat(models_dir):
    """Answers "cat" for every drawing, about 98% sure."""
    bias = [6.0] + [0.0] * (len(ANIMAL_CLASSES) - 1)
    return load_classifier(make_model(models_dir, "sure-cat", ANIMAL_CLASSES, bias=bias,
                                      unsure_threshold=0.5))


@pytest.fixture(scope="session")
def unsure_octopus(models_dir):
    """Prefers "octopus" a little (about 26%), under its 50% threshold: always unsure."""
    bias = [0.0, 0.0, 0.0, 0.0, 0.5, 0.0]
    return load_classifier(make_model(models_dir, "unsure-octopus", ANIMAL_CLASSES, bias=bias,
                                      unsure_threshold=0.5))


@pytest.fixture(scope="session")
def mostly_other(models_dir):
    """Three animals and an "other" reject class that always wins."""
    return load_classifier(make_model(models_dir, "with-other", ["cat", "dog", "fish", "other"],
                                      reject_class="other", bias=[1.0, 0.5, 0.0, 4.0],
                                      unsure_threshold=0.2))


@pytest.fixture(scope="session")
def certain_cat(models_dir):
    """Answers "cat" for every drawing with a probability that rounds to 100%."""
    bias = [30.0] + [0.0] * (len(ANIMAL_CLASSES) - 1)
    return load_classifier(make_model(models_dir, "certain-cat", ANIMAL_CLASSES, bias=bias))


@pytest.fixture(scope="session")
def fruit_path(models_dir):
    return make_model(models_dir, "fruit", ["apple", "banana", "house"], seed=3)


@pytest.fixture(scope="session")
def shipped():
    """The committed default model. It is always in CI: missing is a failure, never a skip."""
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"the shipped model {DEFAULT_MODEL} is missing")
    return load_classifier(DEFAULT_MODEL)


def app_with(classifier, **config):
    return webapp.create_app({"CLASSIFIER": classifier, "TESTING": True, **config})


@pytest.fixture
def client(animals):
    return app_with(animals).test_client()


# --- drawings -------------------------------------------------------------------------------

def data_url(png: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(png).decode("ascii")


@pytest.fixture(scope="session")
def cat_png():
    return render_canvas(ANIMALS["cat"](), canvas=400, pen=8, size=0.7)


@pytest.fixture(scope="session")
def blank_png():
    return png_bytes(Image.new("RGBA", (400, 400), (0, 0, 0, 0)))


@pytest.fixture(scope="session")
def jpeg_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buffer, format="JPEG")
    return buffer.getvalue()


# --- reading pages --------------------------------------------------------------------------

class Page(HTMLParser):
    """Elements of an HTML page with their attributes, text and the ids of their ancestors."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[dict] = []
        self._open: list[dict] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "text": [],
                   "inside": [e["attrs"].get("id") for e in self._open]}
        self.elements.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self._open.pop()

    def handle_endtag(self, tag):
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index]["tag"] == tag:
                del self._open[index:]
                break

    def handle_data(self, data):
        for element in self._open:
            element["text"].append(data)

    def by_id(self, element_id: str) -> dict | None:
        found = [e for e in self.elements if e["attrs"].get("id") == element_id]
        assert len(found) <= 1, f"id {element_id!r} is used {len(found)} times"
        return found[0] if found else None

    def find(self, tag: str, inside: str | None = None) -> list[dict]:
        return [e for e in self.elements
                if e["tag"] == tag and (inside is None or inside in e["inside"])]

    @staticmethod
    def text(element: dict) -> str:
        return " ".join("".join(element["text"]).split())


def page_of(response) -> Page:
    assert response.mimetype == "text/html"
    return Page(response.get_data(as_text=True))


def title_of(page: Page) -> str:
    return Page.text(page.find("title")[0])


def decode_png_url(url: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(url[len(prefix):], validate=True)))
    assert image.format == "PNG"
    return image


def assert_error(response, status: int, *fragments: str) -> str:
    """A JSON error: the status, exactly {"error": sentence}, the sentence says ``fragments``."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.is_json, response.mimetype
    body = response.get_json()
    assert set(body) == {"error"}
    message = body["error"]
    assert isinstance(message, str) and SENTENCE.match(message), message
    assert "Traceback" not in message and "<" not in message
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    return message


def assert_error_page(response, status: int, *fragments: str) -> Page:
    """An HTML error page: the status, our page (not Werkzeug's), the sentence, a way back."""
    assert response.status_code == status
    page = page_of(response)
    assert page.by_id("error") is not None, "not the app's error page"
    message = Page.text(page.by_id("error-message"))
    assert SENTENCE.match(message), message
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    again = page.by_id("again")
    assert again is not None and again["tag"] == "a"
    assert again["attrs"]["href"].split("#")[0] == "/"
    assert page.by_id("prediction") is None
    return page


def check_answer(answer: dict, labels: list[str]) -> None:
    """The JSON API's answer shape, for a model knowing ``labels``."""
    assert set(answer) == {"label", "confidence", "unsure", "reason", "other", "ranking",
                           "model_input"}
    assert answer["label"] in labels + ["unsure"]
    assert isinstance(answer["unsure"], bool)
    assert (answer["label"] == "unsure") == answer["unsure"]
    assert answer["reason"] in ((None,) if not answer["unsure"] else
                                ("unfamiliar", "low_confidence"))
    assert answer["other"] is None or 0.0 <= answer["other"] <= 1.0
    assert 0.0 <= answer["confidence"] <= 1.0
    ranking = answer["ranking"]
    assert [set(g) for g in ranking] == [{"label", "probability"}] * len(labels)
    assert sorted(g["label"] for g in ranking) == sorted(labels)
    probabilities = [g["probability"] for g in ranking]
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    assert probabilities == sorted(probabilities, reverse=True)
    assert answer["confidence"] == pytest.approx(probabilities[0])
    if not answer["unsure"]:
        assert answer["label"] == ranking[0]["label"]
    assert decode_png_url(answer["model_input"]).size == (28, 28)


# --- the drawing page -----------------------------------------------------------------------

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
    assert [s["attrs"].get("src") for s in scripts] == ["/static/js/draw.js"]
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


# --- the results page -----------------------------------------------------------------------

def test_predict_shows_the_answer(client, animals, cat_png):
    response = client.post("/predict", data={"url": data_url(cat_png)})
    assert response.status_code == 200
    page = page_of(response)

    prediction = page.by_id("prediction")
    label = prediction["attrs"]["data-label"]
    assert label in animals.labels + ["unsure"]
    confidence = float(prediction["attrs"]["data-confidence"])
    assert 0.0 <= confidence <= 1.0

    items = page.find("li", inside="ranking")
    assert len(items) == len(animals.labels)
    assert sorted(i["attrs"]["data-label"] for i in items) == sorted(animals.labels)
    probabilities = [float(i["attrs"]["data-probability"]) for i in items]
    assert probabilities == sorted(probabilities, reverse=True)
    assert confidence == pytest.approx(probabilities[0])
    if label != "unsure":
        assert label == items[0]["attrs"]["data-label"]
    assert len(page.find("meter", inside="ranking")) == len(animals.labels)

    picture = page.by_id("model-input")
    assert picture["tag"] == "img"
    image = decode_png_url(picture["attrs"]["src"])
    assert image.size == (28, 28)
    assert image.mode == "L"
    assert np.asarray(image).max() > 100  # the drawing's ink is in it

    again = page.by_id("again")
    assert again["tag"] == "a" and again["attrs"]["href"] == "/"
    assert response.headers["Cache-Control"] == "no-store"


def test_predict_agrees_with_the_api(client, cat_png):
    page = page_of(client.post("/predict", data={"url": data_url(cat_png)}))
    answer = client.post("/api/predict", json={"image": data_url(cat_png)}).get_json()
    assert page.by_id("prediction")["attrs"]["data-label"] == answer["label"]
    assert [i["attrs"]["data-label"] for i in page.find("li", inside="ranking")] == \
        [g["label"] for g in answer["ranking"]]
    assert page.by_id("model-input")["attrs"]["src"] == answer["model_input"]


def test_predict_says_what_it_is_when_sure(sure_cat, cat_png):
    response = app_with(sure_cat).test_client().post("/predict", data={"url": data_url(cat_png)})
    page = page_of(response)
    prediction = page.by_id("prediction")
    assert prediction["attrs"]["data-label"] == "cat"
    confidence = float(prediction["attrs"]["data-confidence"])
    assert confidence > 0.9
    assert title_of(page) == "It's a cat! — Sketchbook"
    words = Page.text(prediction)
    assert "It's a cat!" in words
    assert f"{confidence:.0%}" in words
    assert page.find("li", inside="ranking")[0]["attrs"]["data-label"] == "cat"


def test_predict_admits_when_unsure(unsure_octopus, cat_png):
    response = app_with(unsure_octopus).test_client().post(
        "/predict", data={"url": data_url(cat_png)})
    page = page_of(response)
    prediction = page.by_id("prediction")
    assert prediction["attrs"]["data-label"] == "unsure"
    assert float(prediction["attrs"]["data-confidence"]) < 0.5
    assert "I'm not sure… maybe an octopus?" in Page.text(prediction)
    assert title_of(page).startswith("I'm not sure")
    assert page.find("li", inside="ranking")[0]["attrs"]["data-label"] == "octopus"


def test_predict_says_when_it_is_none_of_the_animals(mostly_other, cat_png):
    client = app_with(mostly_other).test_client()
    page = page_of(client.post("/predict", data={"url": data_url(cat_png)}))
    prediction = page.by_id("prediction")
    assert prediction["attrs"]["data-label"] == "unsure"
    assert prediction["attrs"]["data-reason"] == "unfamiliar"
    words = Page.text(prediction)
    answer = client.post("/api/predict", json={"image": data_url(cat_png)}).get_json()
    assert answer["reason"] == "unfamiliar" and answer["other"] > 0.5
    assert "That's none of the animals I know." in words
    assert f"I'm {webapp._percent(answer['other'])} sure it's something else" in words
    assert f"looks most like a {answer['ranking'][0]['label']}" in words


def test_predict_says_when_it_is_torn(unsure_octopus, cat_png):
    client = app_with(unsure_octopus).test_client()
    answer = client.post("/api/predict", json={"image": data_url(cat_png)}).get_json()
    assert answer["reason"] == "low_confidence" and answer["other"] is None
    page = page_of(client.post("/predict", data={"url": data_url(cat_png)}))
    assert page.by_id("prediction")["attrs"]["data-reason"] == "low_confidence"


def test_the_page_never_says_100_percent(certain_cat, cat_png):
    client = app_with(certain_cat).test_client()
    answer = client.post("/api/predict", json={"image": data_url(cat_png)}).get_json()
    assert answer["confidence"] > 0.995  # would round to 100%
    page = client.post("/predict", data={"url": data_url(cat_png)}).get_data(as_text=True)
    assert "99%" in page and "100%" not in page
    assert [webapp._percent(p) for p in (1.0, 0.999, 0.994, 0.5, 0.125, 0.004, 0.0)] == \
        ["99%", "99%", "99%", "50%", "13%", "<1%", "0%"]  # 0.125: half up, as draw.js


def test_predict_accepts_multipart_and_large_drawings(client):
    """A big (noisy) PNG is within limits, sent either way a form can be sent: the form
    field is far larger than Flask's default 500 kB limit for a form field in memory."""
    rng = np.random.default_rng(0)
    alpha = np.zeros((1000, 1000), dtype=np.uint8)
    alpha[50:950, 50:950] = rng.integers(0, 256, (900, 900), dtype=np.uint8)
    picture = Image.new("RGBA", (1000, 1000))
    picture.putalpha(Image.fromarray(alpha))
    url = data_url(png_bytes(picture))
    assert 1_000_000 < len(url) < 4 * 2**20
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        response = client.post("/predict", data={"url": url},
                               content_type=content_type)
        assert response.status_code == 200, (content_type, response.status_code)
        assert page_of(response).by_id("prediction") is not None


# --- the JSON API ---------------------------------------------------------------------------

def test_api_answers_json(client, animals, cat_png):
    response = client.post("/api/predict", json={"image": data_url(cat_png)})
    assert response.status_code == 200
    assert response.is_json
    check_answer(response.get_json(), animals.labels)
    assert response.headers["Cache-Control"] == "no-store"


def test_api_accepts_a_raw_png_body(client, animals, cat_png):
    raw = client.post("/api/predict", data=cat_png, content_type="image/png")
    assert raw.status_code == 200
    check_answer(raw.get_json(), animals.labels)
    as_json = client.post("/api/predict", json={"image": data_url(cat_png)}).get_json()
    assert raw.get_json() == as_json


def test_api_knows_sure_and_unsure(sure_cat, unsure_octopus, cat_png):
    sure = app_with(sure_cat).test_client().post(
        "/api/predict", json={"image": data_url(cat_png)}).get_json()
    assert (sure["label"], sure["unsure"]) == ("cat", False)
    assert sure["confidence"] > 0.9
    unsure = app_with(unsure_octopus).test_client().post(
        "/api/predict", json={"image": data_url(cat_png)}).get_json()
    assert (unsure["label"], unsure["unsure"]) == ("unsure", True)
    assert unsure["ranking"][0]["label"] == "octopus"


def _jpeg_url(jpeg_bytes):
    return data_url(jpeg_bytes, "image/jpeg")


@pytest.mark.parametrize("request_kwargs, status, fragments", [
    ({"json": {}}, 400, ['"image"']),
    ({"json": {"picture": "data:image/png;base64,AAAA"}}, 400, ['"image"']),
    ({"json": {"image": ""}}, 400, ["empty"]),
    ({"json": {"image": "   "}}, 400, ["empty"]),
    ({"json": {"image": "data:image/png;base64,***not base64***"}}, 400, ["base64"]),
    ({"json": {"image": "data:image/png;base64,AAAAAAAA"}}, 400, ["PNG"]),
    ({"json": {"image": "hello"}}, 400, ["data URL"]),
    ({"json": {"image": 42}}, 400, ['"image"', "string"]),
    ({"json": {"image": None}}, 400, ['"image"']),
    ({"json": [{"image": "data:image/png;base64,AAAA"}]}, 400, ["object"]),
    ({"json": "data:image/png;base64,AAAA"}, 400, ["object"]),
    ({"data": b'{"image": "data:image/png', "content_type": "application/json"}, 400,
     ["JSON"]),
    ({"data": b"", "content_type": "application/json"}, 400, ["JSON"]),
    ({"data": b"\xff\xfe\x00garbage", "content_type": "application/json"}, 400, ["JSON"]),
    ({"data": b"[" * 100_000, "content_type": "application/json"}, 400, ["JSON"]),
    ({"data": b"not a png at all", "content_type": "image/png"}, 400, ["PNG"]),
    ({"data": b"", "content_type": "image/png"}, 400, ["no drawing"]),
    ({"data": b"image=data:image/png;base64,AAAA", "content_type": "text/plain"}, 415,
     ["JSON", "image/png"]),
    ({"data": {"image": "data:image/png;base64,AAAA"}}, 415, ["JSON"]),
    ({"data": b'{"image": "x"}'}, 415, ["JSON"]),
    ({"data": b"\xff\xd8\xff", "content_type": "image/jpeg"}, 415, ["image/png"]),
], ids=["empty-object", "missing-field", "empty-string", "blank-string", "not-base64",
        "not-png-bytes", "not-a-data-url", "number", "null", "array", "json-string",
        "malformed-json", "empty-json", "undecodable-json", "deeply-nested-json",
        "raw-not-png", "raw-empty", "text-plain", "form", "no-content-type", "raw-jpeg"])
def test_api_errors(client, request_kwargs, status, fragments):
    assert_error(client.post("/api/predict", **request_kwargs), status, *fragments)


def test_api_rejects_a_jpeg(client, jpeg_bytes):
    assert_error(client.post("/api/predict", json={"image": _jpeg_url(jpeg_bytes)}), 400, "PNG")
    # JPEG bytes labelled as PNG are caught by their content, not their label
    assert_error(client.post("/api/predict", json={"image": data_url(jpeg_bytes)}), 400, "PNG")
    assert_error(client.post("/api/predict", data=jpeg_bytes, content_type="image/png"),
                 400, "PNG")


def test_api_says_draw_something_first_for_a_blank_canvas(client, blank_png):
    message = assert_error(client.post("/api/predict", json={"image": data_url(blank_png)}),
                           400)
    assert message.startswith("Draw something first")
    message = assert_error(client.post("/api/predict", data=blank_png,
                                       content_type="image/png"), 400)
    assert message.startswith("Draw something first")


def test_api_rejects_bodies_over_the_limit(client):
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    assert 5.6 * 2**20 < limit <= 8 * 2**20  # room for base64 of a 4 MiB PNG, no more
    body = b'{"image": "data:image/png;base64,' + b"A" * limit + b'"}'
    assert_error(client.post("/api/predict", data=body, content_type="application/json"),
                 413, "too large")
    assert_error(client.post("/api/predict", data=b"\x89PNG" + bytes(limit),
                             content_type="image/png"), 413, "too large")


def test_api_rejects_images_over_the_limit(client):
    """Within the body limit, but a PNG too large (in pixels or bytes) for the model."""
    wide = png_bytes(Image.new("LA", (5000, 8)))
    assert_error(client.post("/api/predict", json={"image": data_url(wide)}), 413, "too large")
    big = b"\x89PNG\r\n\x1a\n" + bytes(4 * 2**20 + 10)
    assert_error(client.post("/api/predict", data=big, content_type="image/png"),
                 413, "too large")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_api_wrong_method_is_405_json(client, method):
    response = client.open("/api/predict", method=method)
    assert_error(response, 405, method)
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/api/nothing", "/api/predict/extra", "/api/"])
def test_api_unknown_path_is_404_json(client, path):
    assert_error(client.get(path), 404)
    assert_error(client.post(path, json={"image": "x"}), 404)


def test_healthz(client, animals):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "model": animals.name,
                                   "classes": animals.labels}
    assert_error(client.post("/healthz"), 405)


# --- HTML errors ----------------------------------------------------------------------------

def test_predict_blank_canvas_says_draw_something_first(client, blank_png):
    response = client.post("/predict", data={"url": data_url(blank_png)})
    page = assert_error_page(response, 400, "Draw something first")
    assert "Draw something first" in response.get_data(as_text=True)
    assert page.by_id("again")["attrs"]["href"] == "/"  # nothing to go back to


@pytest.mark.parametrize("form, status, fragment", [
    ({}, 400, "No drawing"),
    ({"url": ""}, 400, "empty"),
    ({"url": "data:image/png;base64,***"}, 400, "base64"),
    ({"url": "data:image/jpeg;base64,/9j/4AAQ"}, 400, "PNG"),
    ({"url": "data:image/png;base64,AAAAAAAA"}, 400, "PNG"),
], ids=["no-field", "empty", "not-base64", "jpeg", "not-png"])
def test_predict_errors_explain_and_lead_back(client, form, status, fragment):
    response = client.post("/predict", data=form)
    page = assert_error_page(response, status, fragment)
    assert f"{status}" in Page.text(page.by_id("error"))


def test_predict_error_after_a_drawing_offers_to_go_back_to_it(client):
    page = assert_error_page(client.post("/predict", data={"url": "data:image/png;base64,***"}),
                             400, "base64")
    assert page.by_id("again")["attrs"]["href"] == "/#keep"  # draw.js restores the drawing


def test_predict_body_over_the_limit_is_413_page(client):
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    response = client.post("/predict", data={"url": "data:image/png;base64," + "A" * limit})
    assert_error_page(response, 413, "too large")


def test_html_routes_have_html_error_pages(client):
    assert_error_page(client.get("/predict"), 405, "GET")
    assert_error_page(client.post("/"), 405, "POST")
    assert_error_page(client.get("/no/such/page"), 404)


def test_unexpected_errors_are_500_without_details(client, animals, cat_png, monkeypatch,
                                                   caplog):
    def broken(bitmap):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(animals, "classify", broken)
    with caplog.at_level(logging.ERROR, logger="sketchbook"):
        api = client.post("/api/predict", json={"image": data_url(cat_png)})
        page = client.post("/predict", data={"url": data_url(cat_png)})
    message = assert_error(api, 500)
    assert "secret" not in message
    assert_error_page(page, 500)
    assert "secret" not in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == 2 and all(r.exc_info for r in logged)  # the operator sees why


# --- every response -------------------------------------------------------------------------

def test_security_headers_on_every_response(client, cat_png):
    responses = [
        client.get("/"),
        client.get("/healthz"),
        client.get("/static/css/style.css"),
        client.get("/favicon.ico"),
        client.post("/predict", data={"url": data_url(cat_png)}),
        client.post("/predict", data={}),
        client.post("/api/predict", json={"image": data_url(cat_png)}),
        client.post("/api/predict", data="x", content_type="text/plain"),
        client.get("/api/predict"),
        client.get("/nowhere"),
    ]
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (response.request.path, name)


def test_one_log_line_per_request_without_user_data(client, cat_png, caplog):
    url = data_url(cat_png)
    with caplog.at_level(logging.INFO, logger="sketchbook"):
        client.get("/healthz")
        client.post("/api/predict", json={"image": url})
        client.post("/predict", data={"url": url})
        client.post("/api/predict", data="x", content_type="text/plain")
    lines = [r.getMessage() for r in caplog.records if r.name == "sketchbook"]
    assert len(lines) == 4
    for line, (method, path, status) in zip(lines, [("GET", "/healthz", 200),
                                                    ("POST", "/api/predict", 200),
                                                    ("POST", "/predict", 200),
                                                    ("POST", "/api/predict", 415)]):
        assert re.fullmatch(rf"{method} {re.escape(path)} {status} \d+\.\dms", line), line
    logged = caplog.text
    assert url[22:80] not in logged and "base64" not in logged


# --- choosing the model ---------------------------------------------------------------------

def test_model_path_config_loads_that_model(animals_path):
    app = webapp.create_app({"MODEL_PATH": str(animals_path), "TESTING": True})
    assert app.extensions["classifier"].labels == ANIMAL_CLASSES
    assert app.config["MAX_CONTENT_LENGTH"] == webapp.MAX_CONTENT_LENGTH
    assert not app.debug


def test_model_from_environment_is_used_everywhere(fruit_path, monkeypatch, cat_png):
    monkeypatch.setenv("SKETCHBOOK_MODEL", str(fruit_path))
    client = webapp.create_app().test_client()
    fruit = ["apple", "banana", "house"]

    page = page_of(client.get("/"))
    assert [c["attrs"]["data-label"] for c in page.find("li", inside="known-animals")] == fruit
    assert not {"cat", "dog"} & set(client.get("/").get_data(as_text=True).split())
    assert client.get("/healthz").get_json() == {"status": "ok", "model": "fruit",
                                                 "classes": fruit}
    answer = client.post("/api/predict", json={"image": data_url(cat_png)}).get_json()
    check_answer(answer, fruit)
    results = page_of(client.post("/predict", data={"url": data_url(cat_png)}))
    assert sorted(i["attrs"]["data-label"] for i in results.find("li", inside="ranking")) == \
        sorted(fruit)


def test_reject_class_is_never_shown(mostly_other, cat_png):
    client = app_with(mostly_other).test_client()
    known = ["cat", "dog", "fish"]

    index = client.get("/").get_data(as_text=True)
    assert [c["attrs"]["data-label"] for c in Page(index).find("li", inside="known-animals")] \
        == known
    assert "other" not in index
    assert client.get("/healthz").get_json()["classes"] == known

    answer = client.post("/api/predict", json={"image": data_url(cat_png)}).get_json()
    check_answer(answer, known)
    assert answer["label"] == "unsure"  # "other" outweighs every animal
    assert "other" not in json.dumps(answer["ranking"])

    response = client.post("/predict", data={"url": data_url(cat_png)})
    page = page_of(response)
    assert page.by_id("prediction")["attrs"]["data-label"] == "unsure"
    assert [i["attrs"]["data-label"] for i in page.find("li", inside="ranking")] == \
        [g["label"] for g in answer["ranking"]]
    assert "other" not in response.get_data(as_text=True)


def test_missing_or_broken_model_raises_model_error(tmp_path, monkeypatch):
    with pytest.raises(ModelError):
        webapp.create_app({"MODEL_PATH": str(tmp_path / "nothing.keras")})
    monkeypatch.setenv("SKETCHBOOK_MODEL", str(tmp_path / "nothing.keras"))
    with pytest.raises(ModelError):
        webapp.create_app()
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"this is not a keras archive")
    broken.with_suffix(".json").write_text(json.dumps({"classes": ["a", "b"]}))
    with pytest.raises(ModelError):
        webapp.create_app({"MODEL_PATH": str(broken)})


def test_command_line_without_a_model_says_so_in_one_line(tmp_path):
    env = {**os.environ, "SKETCHBOOK_MODEL": str(tmp_path / "missing.keras")}
    result = subprocess.run([sys.executable, "app.py", "--port", "5099"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "missing.keras" in lines[0], result.stderr


def test_command_line_rejects_a_bad_port():
    result = subprocess.run([sys.executable, "app.py", "--port", "http"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "port" in result.stderr


# --- the shipped model ----------------------------------------------------------------------

def test_shipped_model_recognises_a_drawn_cat(shipped):
    png = render_canvas(ANIMALS["cat"](), canvas=400, pen=8, size=0.7)
    client = app_with(shipped).test_client()
    response = client.post("/api/predict", json={"image": data_url(png)})
    assert response.status_code == 200
    answer = response.get_json()
    check_answer(answer, shipped.labels)
    assert answer["label"] == "cat", answer["ranking"][:3]
    page = page_of(client.post("/predict", data={"url": data_url(png)}))
    assert page.by_id("prediction")["attrs"]["data-label"] == "cat"
    assert title_of(page) == "It's a cat! — Sketchbook"
