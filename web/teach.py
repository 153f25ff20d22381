"""Teaching: a person says what the drawing really was, and, only if they choose to, the
drawing is kept to retrain the model (``feedback``).

    POST /teach           the results page's form: answer, label, consent, the strokes, a token,
                          the model that guessed
    POST /api/feedback    {"drawing": [[[x...], [y...]], ...], "label", "guess", "consent": true,
                          "model": "zoo"} -> 201 {"id", "label"}

The drawing is kept with the name and file digest of the model that guessed (the default when
none is named), and its label and guess are checked against that model's classes.

Nothing is written without consent. A cross-site page cannot write a row: the form carries a
token this server signed (no cookie is set), the JSON route takes only application/json (which
a cross-site form cannot send), and a request a browser marks as cross-site is refused. The
database is opened once per worker process, on first use (forked workers must not share a
connection), and a database that is down, full or read-only is a 503 with a sentence while the
guesses go on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, render_template, request
from werkzeug.exceptions import BadRequest, Forbidden, UnsupportedMediaType

import feedback
from sketch_model.inference.classifier import UNSURE

from . import models
from .payload import json_object

bp = Blueprint("teach", __name__)

TOKEN_SECONDS = 6 * 3600  # how long a results page may wait before its form is sent
NO_CONSENT = ("Nothing was saved: tick \"Keep my drawing to teach the model\" if you want me "
              "to learn from it.")
CROSS_SITE = "Nothing was saved: drawings can only be taught from this site's own pages."
EXPIRED = ("Nothing was saved: this page is too old (or the server restarted). Go back, "
           "reload the results and teach me again.")


@bp.post("/teach")
def teach_form():
    _refuse_cross_site()
    form = request.form
    if not _valid_token(form.get("token", "")):
        raise Forbidden(EXPIRED)
    if form.get("consent") != "yes":
        raise Forbidden(NO_CONSENT)
    guess = form.get("guess", "")
    if form.get("answer") == "yes":
        label = guess
    elif form.get("answer") == "no":
        # A word typed under "Something else" wins over the list, which always has a choice.
        label = form.get("other_label", "").strip() or form.get("label", "")
    else:
        raise BadRequest("Choose \"Yes\" or \"No, it was…\" before teaching me.")
    served = models.chosen()
    taught = _save(served, _strokes_of(form.get("strokes")), label,
                   form.get("answer_was", guess), _confidence(form.get("confidence")))
    return render_template("taught.html", taught=taught, model=served.classifier), 201


@bp.post("/api/feedback")
def teach_api():
    _refuse_cross_site()
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(
            'Send the correction as JSON: {"drawing": [[[x, ...], [y, ...]], ...], '
            '"label": "giraffe", "guess": "camel", "consent": true}.')
    feedback.check_size(request.content_length)
    body = request.get_data(cache=False)
    feedback.check_size(len(body))  # a chunked body has no Content-Length to check first
    payload = json_object(body, '{"drawing": [...], "label": "giraffe", "guess": "camel", '
                                '"consent": true}')
    if payload.get("consent") is not True:
        raise Forbidden('Nothing was saved: send "consent": true to let me keep the drawing.')
    for field in ("label", "guess"):
        if not isinstance(payload.get(field), str):
            raise BadRequest(f'The JSON body needs a "{field}" string.')
    model = models.chosen(models.asked(payload))
    taught = _save(model, feedback.parse_drawing(payload.get("drawing")), payload["label"],
                   payload["guess"], _confidence(payload.get("confidence")))
    return jsonify({"id": taught.id, "label": taught.label}), 201


def token() -> str:
    """A token for the results page's form: when it was made, signed by this server."""
    issued = str(int(time.time()))
    return f"{issued}.{_signature(issued)}"


def _valid_token(text: str) -> bool:
    issued, _, signature = text.partition(".")
    if not issued.isdigit() or not hmac.compare_digest(signature, _signature(issued)):
        return False
    return 0 <= time.time() - int(issued) <= TOKEN_SECONDS


def _signature(issued: str) -> str:
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, b"teach:" + issued.encode(), hashlib.sha256).hexdigest()


def _refuse_cross_site() -> None:
    """A request a browser says comes from another site, or with another site's Origin."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise Forbidden(CROSS_SITE)
    # Our pages send no referrer, so browsers send "Origin: null" even for our own forms:
    # for those the browser's Sec-Fetch-Site above, and the form's token, decide.
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        raise Forbidden(CROSS_SITE)


def strokes_field(text: str | None) -> str | None:
    """The drawing page's strokes as the results page passes them on to the teach form, or
    None when they cannot be taught (missing, damaged or beyond the bounds)."""
    if not text:
        return None
    try:
        _strokes_of(text)
    except (feedback.Rejected, BadRequest):
        return None
    return text


def _strokes_of(text: str | None):
    if not text:
        raise BadRequest("No drawing came with the form: draw it again to teach me.")
    feedback.check_size(len(text.encode()))
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise BadRequest("The drawing's strokes are damaged: draw it again to teach me.") \
            from None
    return feedback.parse_drawing(value)


def _confidence(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0.0 <= number <= 1.0 else None


def _save(served: models.Served, strokes, label: str, guess: str, confidence: float | None):
    model = served.classifier
    label = feedback.check_label(label, model.labels)
    if guess != UNSURE and guess not in model.labels:
        raise BadRequest(f"The guess must be one of the model's answers ({', '.join(model.labels)}"
                         " or unsure).")
    return _store().save(drawing=feedback.simplify(strokes), label=label, guess=guess,
                         confidence=confidence, model=model.name, model_sha256=served.sha256,
                         client=request.remote_addr or "")


def _store() -> feedback.Store:
    """This process's store, opened on first use (a forked worker opens its own)."""
    held = current_app.extensions.get("feedback")
    if held is None or held[0] != os.getpid():
        store = feedback.Store.open(current_app.config.get("FEEDBACK_DB"),
                                    instance=Path(current_app.instance_path))
        current_app.extensions["feedback"] = held = (os.getpid(), store)
    return held[1]
