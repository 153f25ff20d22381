"""Reading the app's answers as a client does: HTML pages by element, JSON answers and error
sentences by their contract (ARCHITECTURE.md, "Contracts")."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import pytest
from PIL import Image

from sketch_model.facts import SIDE
from web.payload import DATA_URL_PREFIX

# An error message is a sentence for a person: a capital, some words, a full stop.
SENTENCE = re.compile(r"^[A-Z].{8,}[.!?]$", re.DOTALL)


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
    """The picture of a PNG data URL the app sent; fails on anything else."""
    assert url.startswith(DATA_URL_PREFIX)
    image = Image.open(io.BytesIO(base64.b64decode(url[len(DATA_URL_PREFIX):], validate=True)))
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


def check_answer(answer: dict, labels: list[str], model: str | None = None) -> None:
    """The JSON API's answer shape, for a model knowing ``labels`` (named ``model``)."""
    assert set(answer) == {"model", "label", "confidence", "unsure", "reason", "other",
                           "ranking", "model_input"}
    assert isinstance(answer["model"], str) and answer["model"]
    assert model is None or answer["model"] == model
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
    assert decode_png_url(answer["model_input"]).size == (SIDE, SIDE)
