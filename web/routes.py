"""The pages and the JSON API (ARCHITECTURE.md, "Contracts"):

    GET  /              the drawing page
    POST /predict       form field ``url`` (a canvas data URL) -> the results page
    POST /api/predict   ``{"image": "data:image/png;base64,..."}`` or a raw ``image/png`` body
                        -> JSON answer; errors are always ``{"error": "<sentence>"}``
    GET  /healthz       ``{"status": "ok", "model": <name>, "classes": [...]}``
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, send_from_directory
from werkzeug.exceptions import BadRequest

import quickdraw
from sketch_model.imaging.restroke import to_bitmap
from sketch_model.inference.classifier import LOOKS_OTHER, Classifier, Prediction

from . import teach
from .limits import ECHO_LIMIT
from .payload import bitmap_url, decode_data_url, png_from_api_request, png_url
from .wording import headline

bp = Blueprint("sketchbook", __name__)


def classifier() -> Classifier:
    """The app's classifier, loaded once by ``create_app``."""
    return current_app.extensions["classifier"]


@bp.get("/")
def index():
    model = classifier()
    return render_template("index.html", labels=model.labels,
                           accuracy=model.card.balanced_accuracy)


@bp.post("/predict")
def predict():
    url = request.form.get("url")
    if url is None:
        raise BadRequest("No drawing was sent with the form. Draw something and press "
                         "Recognise.")
    png = decode_data_url(url)
    prediction, bitmap = _classify(png)
    drawing = png_url(png) if len(png) <= ECHO_LIMIT else None
    strokes = teach.strokes_field(request.form.get("strokes"))
    response = current_app.make_response(render_template(
        "results.html", prediction=prediction, model_input=bitmap_url(bitmap),
        drawing=drawing, headline=headline(prediction), unfamiliar=LOOKS_OTHER,
        strokes=strokes, token=teach.token() if strokes else None,
        labels=classifier().labels, categories=quickdraw.categories()))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/predict")
def api_predict():
    prediction, bitmap = _classify(png_from_api_request())
    response = jsonify({
        "label": prediction.label,
        "confidence": prediction.confidence,
        "unsure": prediction.unsure,
        "reason": prediction.reason,
        "other": prediction.other,
        "ranking": [{"label": guess.label, "probability": guess.probability}
                    for guess in prediction.ranking],
        "model_input": bitmap_url(bitmap),
    })
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    model = classifier()
    return jsonify({"status": "ok", "model": model.name, "classes": list(model.labels)})


@bp.get("/favicon.ico")
def favicon():
    return send_from_directory(current_app.static_folder, "favicon.svg",
                               mimetype="image/svg+xml", max_age=86400)


def _classify(png: bytes) -> tuple[Prediction, object]:
    bitmap = to_bitmap(png)
    return classifier().classify(bitmap), bitmap
