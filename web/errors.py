"""Every error as a sentence for a person, with its status: ``{"error": "<sentence>"}`` on the
API routes, the error page (with a way back to the drawing) on the others. Never a traceback:
an unexpected failure is logged with its traceback and answered with a plain 500."""

from __future__ import annotations

from flask import current_app, jsonify, render_template, request
from werkzeug.exceptions import ClientDisconnected, HTTPException

import feedback
from sketch_model.imaging.errors import BlankDrawing, ImageTooLarge, SketchError

from . import models
from .hardening import log, loggable
from .wording import INCOMPLETE, MESSAGES, TITLES


def install(app) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(SketchError, _sketch_error)
    app.register_error_handler(feedback.Rejected, _rejected)
    app.register_error_handler(feedback.Unavailable, _unavailable)
    app.register_error_handler(feedback.ConfigError, _misconfigured)
    app.register_error_handler(Exception, _unexpected_error)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(status: int, message: str, headers: dict | None = None,
                   kept: bool = True, title: str | None = None):
    """``{"error": message}`` for API routes, else the error page with a way back.

    ``kept``: after a failed /predict the drawing page can restore the drawing (draw.js saved
    it on submit), so the page offers to go back to it; an empty canvas has nothing to keep.
    """
    if _wants_json():
        response = jsonify({"error": message})
    else:
        from_drawing = kept and request.path in ("/predict", "/teach") and \
            request.method == "POST"
        response = current_app.make_response(render_template(
            "error.html", status=status, message=message,
            title=title or TITLES.get(status, "Oops"),
            from_drawing=from_drawing, **models.kept_choice()))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _http_error(error: HTTPException):
    status = error.code or 500
    if status == 500:
        return _unexpected_error(error)
    if isinstance(error, ClientDisconnected):
        message = INCOMPLETE
    elif error.description and error.description != type(error).description:
        message = error.description  # said by our code: already a sentence for a person
    else:
        message = MESSAGES.get(status, error.name + ".").replace("{method}", _method_word())
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return error_response(status, message, headers)


def _sketch_error(error: SketchError):
    status = 413 if isinstance(error, ImageTooLarge) else 400
    if isinstance(error, BlankDrawing):
        return error_response(status, str(error), kept=False, title="Nothing to see yet")
    return error_response(status, str(error))


def _rejected(error: feedback.Rejected):
    """A correction that cannot be kept as sent (a bad label, too many strokes, too often)."""
    wait = getattr(error, "retry_after", None)
    return error_response(error.status, str(error), {"Retry-After": str(wait)} if wait else None)


def _unavailable(error: feedback.Unavailable):
    """The database is down, full or read-only: nothing was saved, guessing goes on."""
    log.error("feedback storage unavailable: %s (%s)", error, getattr(error, "detail", ""))
    return error_response(503, str(error), {"Retry-After": "60"})


def _misconfigured(error: feedback.ConfigError):
    """A feedback setting the operator got wrong: their log says which; the person is told
    only that nothing was saved (the setting may name hosts and users)."""
    log.error("feedback storage misconfigured: %s", error)
    return error_response(503, "Your drawing could not be saved right now: teaching is not "
                               "available on this server. Guessing still works.",
                          {"Retry-After": "60"})


def _method_word() -> str:
    """The request's method, fit to be echoed in a sentence (it is the client's text)."""
    method = request.method
    return method if method.isalpha() and method.isascii() and len(method) <= 10 else "such"


def _unexpected_error(error: Exception):
    original = getattr(error, "original_exception", None) or error
    log.error("%s %s failed", loggable(request.method, 20), loggable(request.path),
              exc_info=(type(original), original, original.__traceback__))
    return error_response(500, MESSAGES[500])
