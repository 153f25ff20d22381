"""The game (issue 21): ``GET /play``, six prompts from the chosen model's classes (``?model=zoo``:
six of the zoo's seventeen), 20 seconds each, recognised when the prompt's probability reaches
the model's ``accept_threshold``.

The page plays itself (``static/js/play.js``) through ``POST /api/predict``; this module only
hands it what the server knows: the prompts (the model's labels, never "other"), the accept
threshold from the model's metadata, and the seconds a prompt lasts. A shorter round
(``?seconds=3``) is honoured only when the app was started for tests (``PLAY_TEST_ROUNDS``,
from $SKETCHBOOK_TEST_ROUNDS), so that browser tests need not wait 20 seconds a prompt.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from . import models

bp = Blueprint("play", __name__)

PROMPTS = 6          # prompts in a round (fewer when the model has fewer classes)
SECONDS = 20         # seconds to draw each
TEST_SECONDS = (1, 60)  # the shortest and longest ?seconds= a test server honours


def round_seconds() -> int:
    """Seconds per prompt: SECONDS, or a test server's ``?seconds=`` within TEST_SECONDS."""
    if not current_app.config.get("PLAY_TEST_ROUNDS"):
        return SECONDS
    asked = request.args.get("seconds", type=int)
    low, high = TEST_SECONDS
    return asked if asked is not None and low <= asked <= high else SECONDS


@bp.get("/play")
def play():
    model = models.chosen().classifier
    response = current_app.make_response(render_template(
        "play.html", model=model, labels=model.labels, prompts=min(PROMPTS, len(model.labels)),
        seconds=round_seconds(), accept=model.card.accept_threshold))
    response.headers["Cache-Control"] = "no-store"
    return response
