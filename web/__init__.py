"""The web app: ``create_app`` builds it, with its models loaded once.

One module per concern: ``models`` (the models served, and the one a request chose),
``routes`` (pages and API), ``play`` (the game), ``teach``
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
from sketch_model.modelcard import served_model_paths

from . import errors, hardening, models, play, teach
from .limits import MAX_CONTENT_LENGTH
from .routes import bp
from .wording import article, percent

ROOT = Path(__file__).resolve().parent.parent  # where templates/ and static/ are
TEST_ROUNDS_ENV = "SKETCHBOOK_TEST_ROUNDS"  # "1": /play honours ?seconds= (browser tests only)


def create_app(config: dict | None = None) -> Flask:
    """Build the app and load each of its models once (through LiteRT when the model has its
    export, else TensorFlow, which takes seconds to start); a missing or broken model raises
    ``ModelError``.

    ``config`` may set ``MODEL_PATH``, the default model (else $SKETCHBOOK_MODEL), and
    ``MODEL_PATHS``, the others (else $SKETCHBOOK_MODELS, else the shipped models); or, for
    tests, ``CLASSIFIER`` or ``CLASSIFIERS``: already loaded classifiers to share between
    apps, served alone.
    """
    app = Flask(__name__, root_path=str(ROOT))
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
        MAX_FORM_MEMORY_SIZE=MAX_CONTENT_LENGTH,  # the drawing is one big form field
        MODEL_PATH=None,
        MODEL_PATHS=None,
        FEEDBACK_DB=None,  # else $SKETCHBOOK_DB, else a SQLite file in the instance folder
        # Signs the teach form's token; made here, before gunicorn forks, so all workers share it.
        SECRET_KEY=feedback_config.secret(None) or os.urandom(32),
        DEBUG=False,
        PLAY_TEST_ROUNDS=os.environ.get(TEST_ROUNDS_ENV) == "1",  # read once, here
    )
    if config:
        app.config.update(config)

    loaded = app.config.pop("CLASSIFIERS", None)
    if not loaded and app.config.get("CLASSIFIER") is not None:
        loaded = [app.config.pop("CLASSIFIER")]
    if not loaded:
        loaded = [load_classifier(path) for path in served_model_paths(
            app.config["MODEL_PATH"], app.config["MODEL_PATHS"])]
    models.install(app, loaded)
    for model in loaded:
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
