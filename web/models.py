"""The models the app serves, loaded once by ``create_app``, and the one a request chose.

A request chooses a model by its name ("zoo"): the query string's ``model`` (``?model=zoo``,
which every page keeps in its links and forms), a form's ``model`` field, or the JSON body's
``"model"``. No name means the default model (``$SKETCHBOOK_MODEL``, served first), whose
links carry none. An unknown
name is a 400 that names the models there are: answering with another model than the one asked
for would be a silent wrong answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request, url_for
from werkzeug.exceptions import BadRequest

from sketch_model.inference.classifier import Classifier
from sketch_model.inference.gallery import Gallery
from sketch_model.modelcard import ModelError

FIELD = "model"  # the query, form and JSON field that chooses a model


@dataclass(frozen=True)
class Served:
    """A loaded model as the app serves it: the classifier, the digest of its ``.keras`` file
    (what a taught drawing records it was judged by), and its gallery (None without one)."""

    classifier: Classifier
    sha256: str
    gallery: Gallery | None = None

    @property
    def name(self) -> str:
        return self.classifier.name


def install(app: Flask, classifiers: list[Classifier]) -> None:
    """Serve ``classifiers``, the first the default, each under its own name."""
    served: dict[str, Served] = {}
    for classifier in classifiers:
        if classifier.name in served:
            raise ModelError(f"Two models are named '{classifier.name}': pages choose a model "
                             "by its name, so give each file its own.")
        served[classifier.name] = Served(classifier, classifier.card.digest(),
                                         Gallery.load(classifier.card))
    app.extensions["models"] = served
    app.context_processor(lambda: {"served_models": [s.classifier for s in served.values()],
                                   "model_url": model_url})


def runtimes(app: Flask) -> set[str]:
    """How ``app``'s models run: {"litert"} when every one has its export (then it may fork)."""
    return {each.classifier.runtime.name for each in app.extensions["models"].values()}


def served() -> dict[str, Served]:
    """Every model served, by name, the default first."""
    return current_app.extensions["models"]


def default() -> Served:
    return next(iter(served().values()))


def chosen(name: str | None = None) -> Served:
    """The model ``name`` names, else the one the request names, else the default."""
    if name is None:
        name = request.values.get(FIELD)
    if name is None or name == "":
        return default()
    models = served()
    if not isinstance(name, str) or name not in models:
        shown = name if isinstance(name, str) and len(name) <= 40 else "that"
        raise BadRequest(f"There is no model '{shown}' here: choose {_listed(models)}.")
    return models[name]


def asked(fields: dict) -> str | None:
    """The model a JSON request names: the body's "model", else the query's (both, and
    different: a 400, since either answer would be a guess)."""
    in_body, in_query = fields.get(FIELD), request.args.get(FIELD)
    if in_body is not None and in_query is not None and in_body != in_query:
        raise BadRequest('The query asks for one model and the JSON body for another: name '
                         'it once, as "model" in the body.')
    return in_body if in_body is not None else in_query


def kept_choice() -> dict:
    """``{"model": ...}`` for an error page, when the address names a model that is served:
    its links then lead back to that model's pages. Only the query is read (a form that
    could not be read is what may have failed)."""
    named = request.args.get(FIELD)
    models = current_app.extensions.get("models", {})
    return {"model": models[named].classifier} if named in models else {}


def model_url(endpoint: str, model: Served | Classifier, **values) -> str:
    """``url_for(endpoint)`` that keeps the choice of ``model`` (``?model=zoo``; the default
    model needs no name)."""
    if model.name != default().name:
        values[FIELD] = model.name
    return url_for(endpoint, **values)


def _listed(models: dict[str, Served]) -> str:
    names = [f"'{name}'" for name in models]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
