"""What the pages say to people: headlines, articles, percentages, error sentences."""

from __future__ import annotations

import math

import numpy as np

from sketch_model.inference.classifier import LOOKS_OTHER, Prediction

from .limits import MAX_CONTENT_LENGTH, MAX_HEADER_BYTES, MAX_URL_LENGTH

# Sentences for people, by status, used when nothing more specific was said.
MESSAGES = {
    400: "The request could not be understood.",
    404: "There is nothing at this address.",
    405: "This address does not accept {method} requests.",
    413: f"The drawing is too large: at most {MAX_CONTENT_LENGTH // 2**20} MB can be sent.",
    414: f"The address is too long: at most {MAX_URL_LENGTH // 1024} KB are accepted.",
    415: "Send the drawing as JSON ({\"image\": \"data:image/png;base64,...\"}) "
         "or as a PNG image with Content-Type: image/png.",
    431: f"The request headers are too large: at most {MAX_HEADER_BYTES // 1024} KB are "
         "accepted.",
    500: "Something went wrong on our side. Please try again.",
}
# The body stopped short of its Content-Length: the client hung up or stalled past the deadline.
INCOMPLETE = ("The drawing did not arrive in full: the connection stopped before the whole "
              "request was sent. Please try again.")
TITLES = {400: "That didn't work", 403: "Nothing was saved", 404: "Page not found",
          405: "Not here", 413: "Too large", 414: "Address too long", 415: "Wrong kind of data",
          429: "Too many at once", 431: "Headers too large", 500: "Something went wrong",
          503: "Not saved this time"}


def headline(prediction: Prediction) -> str:
    """The results page's one line: the answer, or why there is none."""
    best = prediction.best.label
    if prediction.reason == LOOKS_OTHER:
        return "That's none of the animals I know."
    if prediction.unsure:
        return f"I'm not sure… maybe {article(best)} {best}?"
    return f"It's {article(best)} {best}!"


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def percent(probability: float) -> str:
    """A probability as people read it, rounded half up as draw.js does; never "100%" (no
    drawing is certain)."""
    if 0 < probability < 0.005:
        return "<1%"
    return f"{min(math.floor(probability * 100 + 0.5), 99)}%"


def looked_at(heatmap) -> str:
    """Where the heat map's weight lies, in words: "the top left", "the middle", ... ("" when
    no part of the drawing counted)."""
    heat = np.asarray(heatmap, dtype=np.float64)
    total = heat.sum()
    if total <= 0:
        return ""
    rows, columns = np.indices(heat.shape)
    third = heat.shape[0] / 3
    row = int(min((rows * heat).sum() / total // third, 2))
    column = int(min((columns * heat).sum() / total // third, 2))
    vertical = ("top", "middle", "bottom")[row]
    horizontal = ("left", "middle", "right")[column]
    if vertical == horizontal == "middle":
        return "the middle"
    if horizontal == "middle":
        return f"the {vertical}"
    if vertical == "middle":
        return f"the {horizontal} side"
    return f"the {vertical} {horizontal}"
