"""The web app: ``create_app`` builds it, with its classifier loaded once.

One module per concern: ``routes`` (pages and API), ``play`` (the game), ``teach``
(corrections people choose to give, kept by ``feedback``), ``payload`` (the drawing in transit),
``errors`` (every error as a sentence), ``hardening`` (request bounds, security headers, the
request log), ``wording`` (what the pages say), ``limits`` (the bounds). Serving it is
``serve``'s job; ``app.py`` wires the two.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from feedback import config as feedback_config
from sketch_model.inference.classifier import load_classifier

from . import errors, hardening, play, teach
from .limits import MAX_CONTENT_LENGTH
from .routes import bp
from .wording import article, percent

ROOT = Path(__file__).resolve().parent.parent  # where templates/ and static/ are
TEST_ROUNDS_ENV = "SKETCHBOOK_TEST_ROUNDS"  # "1": /play honours ?seconds= (browser tests only)


def create_app(config: dict | None = None) -> Flask:
    """Build the app and load its classifier once (through LiteRT when the model has its
    export, else TensorFlow, which takes seconds to start); a missing or broken model raises
    ``ModelError``.

    ``config`` may set ``MODEL_PATH`` (else $SKETCHBOOK_MODEL, else the shipped model) or,
    for tests, ``CLASSIFIER`` (an already loaded classifier to share between apps).
    """
    app = Flask(__name__, root_path=str(ROOT))
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
        MAX_FORM_MEMORY_SIZE=MAX_CONTENT_LENGTH,  # the drawing is one big form field
        MODEL_PATH=None,
        FEEDBACK_DB=None,  # else $SKETCHBOOK_DB, else a SQLite file in the instance folder
        # Signs the teach form's token; made here, before gunicorn forks, so all workers share it.
        SECRET_KEY=feedback_config.secret(None) or os.urandom(32),
        DEBUG=False,
        PLAY_TEST_ROUNDS=os.environ.get(TEST_ROUNDS_ENV) == "1",  # read once, here
    )
    if config:
        app.config.update(config)

    model = app.config.pop("CLASSIFIER", None) or load_classifier(app.config["MODEL_PATH"])
    app.extensions["classifier"] = model
    app.extensions["model_sha256"] = model.card.digest()  # what a taught drawing was judged by
    hardening.log.info("model %s loaded (%s): %s", model.name, model.runtime.name,
                       ", ".join(model.labels))

    app.register_blueprint(bp)
    app.register_blueprint(play.bp)
    app.register_blueprint(teach.bp)
    errors.install(app)
    hardening.install(app)
    app.add_template_filter(percent, "percent")
    app.add_template_filter(article, "article")
    return app
