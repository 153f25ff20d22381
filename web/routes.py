"""The pages and the JSON API (ARCHITECTURE.md, "Contracts"):

    GET  /              the drawing page
    POST /predict       form field ``url`` (a canvas data URL) -> the results page
    POST /api/predict   ``{"image": "data:image/png;base64,...", "model": "zoo"}`` or a raw
                        ``image/png`` body -> JSON answer; errors are always
                        ``{"error": "<sentence>"}``
    GET  /healthz       ``{"status": "ok", "model": <name>, "classes": [...],
                        "models": {<name>: [...classes]}}``

Each answers with the model the request chose (``models.chosen``: ``?model=zoo``, the form's
or the JSON body's "model"), else the default.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, send_from_directory
from werkzeug.exceptions import BadRequest

import quickdraw
from sketch_model.imaging.restroke import to_bitmap
from sketch_model.inference.classifier import LOOKS_OTHER, Classifier, Prediction
from sketch_model.inference.explain import explain

from . import models, teach
from .explanation import heatmap_json, heatmap_url, others_json, others_rows
from .limits import ECHO_LIMIT
from .payload import bitmap_url, decode_data_url, png_from_api_request, png_url
from .wording import headline, looked_at

bp = Blueprint("sketchbook", __name__)


@bp.get("/")
def index():
    model = models.chosen().classifier
    return render_template("index.html", model=model, labels=model.labels,
                           accuracy=model.card.balanced_accuracy)


@bp.post("/predict")
def predict():
    served = models.chosen()
    model = served.classifier
    url = request.form.get("url")
    if url is None:
        raise BadRequest("No drawing was sent with the form. Draw something and press "
                         "Recognise.")
    png = decode_data_url(url)
    prediction, bitmap = _classify(model, png)
    why = explain(model, served.gallery, bitmap, prediction)
    drawing = png_url(png) if len(png) <= ECHO_LIMIT else None
    strokes = teach.strokes_field(request.form.get("strokes"))
    response = current_app.make_response(render_template(
        "results.html", model=model, prediction=prediction, model_input=bitmap_url(bitmap),
        drawing=drawing, headline=headline(prediction), unfamiliar=LOOKS_OTHER,
        heatmap=heatmap_url(bitmap, why.heatmap), looked=looked_at(why.heatmap),
        explained=why.label, others=others_rows(why, served.gallery),
        strokes=strokes, token=teach.token() if strokes else None,
        labels=model.labels, categories=quickdraw.categories()))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/predict")
def api_predict():
    if "explain" in request.args:
        raise BadRequest('Ask for an explanation in a JSON body: {"image": "data:image/png;'
                         'base64,...", "explain": true}.')
    png, fields = png_from_api_request()
    explained = fields.get("explain", False)
    if not isinstance(explained, bool):
        raise BadRequest('The "explain" field must be true or false.')
    served = models.chosen(models.asked(fields))
    model = served.classifier
    prediction, bitmap = _classify(model, png)
    answer = {
        "model": model.name,
        "label": prediction.label,
        "confidence": prediction.confidence,
        "unsure": prediction.unsure,
        "reason": prediction.reason,
        "other": prediction.other,
        "ranking": [{"label": guess.label, "probability": guess.probability}
                    for guess in prediction.ranking],
        "model_input": bitmap_url(bitmap),
    }
    if explained:
        why = explain(model, served.gallery, bitmap, prediction)
        answer["explanation"] = {"label": why.label, "others": others_json(why, served.gallery),
                                 "heatmap": heatmap_json(why.heatmap)}
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    default = models.default().classifier
    return jsonify({"status": "ok", "model": default.name, "classes": list(default.labels),
                    "models": {name: list(served.classifier.labels)
                               for name, served in models.served().items()}})


@bp.get("/favicon.ico")
def favicon():
    return send_from_directory(current_app.static_folder, "favicon.svg",
                               mimetype="image/svg+xml", max_age=86400)


def _classify(model: Classifier, png: bytes) -> tuple[Prediction, object]:
    bitmap = to_bitmap(png)
    return model.classify(bitmap), bitmap
