"""Sketchbook's web app: draw an animal, and the model says what it is and how sure it is.

    python app.py [--host 127.0.0.1] [--port 5000] [--workers N] [--debug]

serves it in production: gunicorn, one process more than there are CPU cores, forked from a
process that has loaded the model (see ``serve_forked``). ``create_app`` is the WSGI
application factory for any other server (``waitress-serve --call app:create_app``,
``gunicorn 'app:create_app()'``).

Routes (DESIGN.md, "Contracts"):

    GET  /              the drawing page
    POST /predict       form field ``url`` (a canvas data URL) -> the results page
    POST /api/predict   ``{"image": "data:image/png;base64,..."}`` or a raw ``image/png`` body
                        -> JSON answer; errors are always ``{"error": "<sentence>"}``
    GET  /healthz       ``{"status": "ok", "model": <name>, "classes": [...]}``

The classifier is loaded once, in ``create_app``, before the first request (through LiteRT when
the model has its export, else TensorFlow, which takes seconds to start); a missing or broken
model makes ``create_app`` raise ``ModelError``. Uploads are
handled in memory only and never logged: the request log holds method, path, status and time.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import logging
import math
import os
import socket
import sys
import threading
import time
import urllib.parse
from functools import partial

from flask import (Blueprint, Flask, Request, current_app, g, jsonify, render_template,
                   request, send_from_directory)
from PIL import Image
from werkzeug.exceptions import (BadRequest, ClientDisconnected, HTTPException,
                                 RequestHeaderFieldsTooLarge, RequestURITooLarge,
                                 UnsupportedMediaType)

from sketch_model.classifier import LOOKS_OTHER, ModelError, Prediction, load_classifier
from sketch_model.errors import BlankDrawing, ImageTooLarge, SketchError
from sketch_model.preprocess import decode_data_url, to_bitmap

log = logging.getLogger("sketchbook")

# A 4 MiB PNG is 5.6 MiB as base64; form encoding and the rest of the request fit in 6 MiB.
MAX_CONTENT_LENGTH = 6 * 1024 * 1024
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
ECHO_LIMIT = 512 * 1024  # show the user's own drawing on the results page up to this size
# The drawing travels in the body: an address or headers this long are not from our pages.
MAX_URL_LENGTH = 8 * 1024  # path + query string
MAX_HEADER_BYTES = 32 * 1024  # all request headers together (names and values)
CLIENT_TIMEOUT = 10.0  # seconds a connection may take to send its request (python app.py)
LOG_PATH_LIMIT = 200  # characters of the path written to the request log
_LOG_SAFE = "/:@!$&'()*+,;=-._~"  # left as they are in a logged path (RFC 3986 pchar)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

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
TITLES = {400: "That didn't work", 404: "Page not found", 405: "Not here",
          413: "Too large", 414: "Address too long", 415: "Wrong kind of data",
          431: "Headers too large", 500: "Something went wrong"}


class SketchRequest(Request):
    """Form uploads stay in memory (they are bounded by MAX_CONTENT_LENGTH): never on disk."""

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        return io.BytesIO()


bp = Blueprint("sketchbook", __name__)


def create_app(config: dict | None = None) -> Flask:
    """Build the app and load its classifier once.

    ``config`` may set ``MODEL_PATH`` (else $SKETCHBOOK_MODEL, else the shipped model) or,
    for tests, ``CLASSIFIER`` (an already loaded classifier to share between apps).
    """
    app = Flask(__name__)
    app.request_class = SketchRequest
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
        MAX_FORM_MEMORY_SIZE=MAX_CONTENT_LENGTH,  # the drawing is one big form field
        MODEL_PATH=None,
        DEBUG=False,
    )
    if config:
        app.config.update(config)
    _configure_logging()

    model = app.config.pop("CLASSIFIER", None) or load_classifier(app.config["MODEL_PATH"])
    app.extensions["classifier"] = model
    log.info("model %s loaded (%s): %s", model.name, model.runtime.name, ", ".join(model.labels))

    app.register_blueprint(bp)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(SketchError, _sketch_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.before_request(_start_timer)
    app.before_request(_check_request_head)
    app.after_request(_finish_response)
    app.add_template_filter(_percent, "percent")
    app.add_template_filter(_article, "article")
    return app


def _configure_logging() -> None:
    """Request lines are INFO; where they go is the server's choice (``python app.py`` logs
    INFO to stderr)."""
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)


def classifier():
    return current_app.extensions["classifier"]


# --- routes ---------------------------------------------------------------------------------

@bp.get("/")
def index():
    model = classifier()
    return render_template("index.html", labels=model.labels,
                           accuracy=_accuracy(model.metadata))


@bp.post("/predict")
def predict():
    url = request.form.get("url")
    if url is None:
        raise BadRequest("No drawing was sent with the form. Draw something and press "
                         "Recognise.")
    png = decode_data_url(url)
    prediction, bitmap = _classify(png)
    drawing = _png_url(png) if len(png) <= ECHO_LIMIT else None
    response = current_app.make_response(render_template(
        "results.html", prediction=prediction, model_input=_bitmap_url(bitmap),
        drawing=drawing, headline=_headline(prediction), unfamiliar=LOOKS_OTHER))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/predict")
def api_predict():
    prediction, bitmap = _classify(_png_from_api_request())
    response = jsonify({
        "label": prediction.label,
        "confidence": prediction.confidence,
        "unsure": prediction.unsure,
        "reason": prediction.reason,
        "other": prediction.other,
        "ranking": [{"label": guess.label, "probability": guess.probability}
                    for guess in prediction.ranking],
        "model_input": _bitmap_url(bitmap),
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


# --- the work -------------------------------------------------------------------------------

def _png_from_api_request() -> bytes:
    """The PNG bytes of an API request: a JSON object with "image", or a raw image/png body."""
    mimetype = request.mimetype
    if mimetype == "image/png":
        png = request.get_data(cache=False)
        if not png:
            raise BadRequest("No drawing was sent: the request body is empty.")
        return png
    if mimetype == "application/json" or mimetype.endswith("+json"):
        body = request.get_data(cache=False)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise BadRequest("The request body is not valid JSON.") from None
        if not isinstance(payload, dict):
            raise BadRequest('The JSON body must be an object like '
                             '{"image": "data:image/png;base64,..."}.')
        if "image" not in payload:
            raise BadRequest('The JSON body has no "image" field: send '
                             '{"image": "data:image/png;base64,..."}.')
        if not isinstance(payload["image"], str):
            raise BadRequest('The "image" field must be a data URL string '
                             '("data:image/png;base64,...").')
        return decode_data_url(payload["image"])
    raise UnsupportedMediaType()


def _classify(png: bytes) -> tuple[Prediction, object]:
    bitmap = to_bitmap(png)
    return classifier().classify(bitmap), bitmap


def _bitmap_url(bitmap) -> str:
    """The 28x28 picture the model saw, as a PNG data URL (made in memory; Pillow's fastest
    compression, 0.04 ms instead of 0.12, for a picture that is a few hundred bytes anyway)."""
    buffer = io.BytesIO()
    Image.fromarray(bitmap).save(buffer, format="PNG", compress_level=1)
    return _png_url(buffer.getvalue())


def _png_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _headline(prediction: Prediction) -> str:
    best = prediction.best.label
    if prediction.reason == LOOKS_OTHER:
        return "That's none of the animals I know."
    if prediction.unsure:
        return f"I'm not sure… maybe {_article(best)} {best}?"
    return f"It's {_article(best)} {best}!"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _percent(probability: float) -> str:
    """A probability as people read it, rounded half up as draw.js does; never "100%" (no
    drawing is certain)."""
    if 0 < probability < 0.005:
        return "<1%"
    return f"{min(math.floor(probability * 100 + 0.5), 99)}%"


def _accuracy(metadata: dict) -> float | None:
    metrics = metadata.get("metrics") or {}
    value = metrics.get("balanced_accuracy", metrics.get("accuracy"))
    return float(value) if isinstance(value, (int, float)) and 0 <= value <= 1 else None


# --- errors ---------------------------------------------------------------------------------

def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _error_response(status: int, message: str, headers: dict | None = None,
                    kept: bool = True, title: str | None = None):
    """``{"error": message}`` for API routes, else the error page with a way back.

    ``kept``: after a failed /predict the drawing page can restore the drawing (draw.js saved
    it on submit), so the page offers to go back to it; an empty canvas has nothing to keep.
    """
    if _wants_json():
        response = jsonify({"error": message})
    else:
        from_drawing = kept and request.path == "/predict" and request.method == "POST"
        response = current_app.make_response(render_template(
            "error.html", status=status, message=message,
            title=title or TITLES.get(status, "Oops"),
            from_drawing=from_drawing))
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
    return _error_response(status, message, headers)


def _sketch_error(error: SketchError):
    status = 413 if isinstance(error, ImageTooLarge) else 400
    if isinstance(error, BlankDrawing):
        return _error_response(status, str(error), kept=False, title="Nothing to see yet")
    return _error_response(status, str(error))


def _method_word() -> str:
    """The request's method, fit to be echoed in a sentence (it is the client's text)."""
    method = request.method
    return method if method.isalpha() and method.isascii() and len(method) <= 10 else "such"


def _unexpected_error(error: Exception):
    original = getattr(error, "original_exception", None) or error
    log.error("%s %s failed", _loggable(request.method, 20), _loggable(request.path),
              exc_info=(type(original), original, original.__traceback__))
    return _error_response(500, MESSAGES[500])


# --- every response ------------------------------------------------------------------------

def _start_timer() -> None:
    g.started = time.perf_counter()


def _check_request_head() -> None:
    """Refuse absurd addresses and headers before any work (``python app.py`` bounds each line
    alike before the app; other servers may accept far more, waitress 256 KB)."""
    environ = request.environ
    url_length = len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", ""))
    if url_length > MAX_URL_LENGTH:
        raise RequestURITooLarge()
    header_bytes = sum(len(name) + len(value) for name, value in environ.items()
                       if isinstance(value, str) and (name.startswith("HTTP_") or name in (
                           "CONTENT_TYPE", "CONTENT_LENGTH")))
    if header_bytes > MAX_HEADER_BYTES:
        raise RequestHeaderFieldsTooLarge()


def _loggable(text: str, limit: int = LOG_PATH_LIMIT) -> str:
    """Client text for a log line: percent-encoded as on the wire (a path holding %0A must not
    forge a log line, nor a space split the line's fields), at most ``limit`` characters,
    the full length noted when cut."""
    quoted = urllib.parse.quote(text[:limit], safe=_LOG_SAFE, errors="backslashreplace")
    if len(text) > limit or len(quoted) > limit:
        return f"{quoted[:limit]}...[{len(text)} chars]"
    return quoted


def _finish_response(response):
    response.headers.update(SECURITY_HEADERS)
    started = g.get("started")
    elapsed = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    log.info("%s %s %d %.1fms", _loggable(request.method, 20), _loggable(request.path),
             response.status_code, elapsed)
    return response


# --- running --------------------------------------------------------------------------------

def _bounded(name: str, low, high, kind=int, what: str = "a whole number"):
    """An argparse type: a ``kind`` from ``low`` to ``high``, else a message naming it."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {what}, not {text!r}") from None
        if not low <= value <= high:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{name} must be {low}..{high}, not {value}")
        return value
    return parse


_port = _bounded("port", 1, 65535)
_count = _bounded("count", 1, 64)
_seconds = _bounded("seconds", 0.1, 3600, float, "a number")


class _HeldOutput:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def replay(self) -> None:
        sys.stderr.flush()
        os.write(2, b"".join(self.chunks))


@contextlib.contextmanager
def _stderr_held():
    """Hold what is written to file descriptor 2 meanwhile, in memory, to ``replay`` it.

    TensorFlow's native logging writes its start-up lines to stderr whatever
    TF_CPP_MIN_LOG_LEVEL says; when the model cannot be loaded, the operator should read one
    line saying why, not those. When it loads, ``replay`` passes everything on unchanged.
    """
    held = _HeldOutput()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to hold
        yield held
        return
    read_end, write_end = os.pipe()

    def drain() -> None:
        while data := os.read(read_end, 65536):
            held.chunks.append(data)
        os.close(read_end)

    reader = threading.Thread(target=drain, name="stderr-held", daemon=True)
    reader.start()
    sys.stderr.flush()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield held
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last writer closes: the reader sees its end
        os.close(saved)
        reader.join(timeout=10)


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _can_bind(host: str, port: int) -> OSError | None:
    """Why ``host:port`` cannot be listened on (None if it can): asked before the model loads,
    so a taken port is one line at once, not a server that retries and gives up."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        return error
    return None


def serve_forked(app: Flask, host: str, port: int, workers: int,
                 client_timeout: float = CLIENT_TIMEOUT) -> None:
    """Serve ``app`` from ``workers`` gunicorn processes that answer one request at a time.

    A guess is CPU work under Python's global interpreter lock, so processes, not threads, use
    the cores. A process takes a connection from the listening socket only when it is free, so
    requests wait in that one queue and go to whichever process is idle first. (Threaded
    workers kept each keep-alive client on the process that first accepted it: with 8 clients,
    one process often had 5 of them while the other idled, and p95 latency went from 16 ms to
    21-33 ms.) The app (its model included) is built once, here, and the workers are forked
    from it: a broken model stops start-up with one line before any worker exists, and the
    workers share its memory. Only for a LiteRT model: TensorFlow cannot be used in a process
    forked after it started.
    """
    from gunicorn.app.base import BaseApplication

    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": _patient_worker(client_timeout),
        "proc_name": "sketchbook",
        "graceful_timeout": 10,
        # gunicorn's watchdog restarts a process silent this long: one stuck in a request.
        "timeout": math.ceil(client_timeout) + 20,
        # Requests from our pages carry the drawing in the body: the address and each header
        # are bounded here, before the app sees them (which then bounds all headers together).
        "limit_request_line": 8190,  # gunicorn's maximum; the app's own is MAX_URL_LENGTH
        "limit_request_field_size": MAX_HEADER_BYTES,
        "accesslog": None,  # the app writes its own request line, without client data
        "errorlog": "-",
        "loglevel": "info",
        "control_socket_disable": True,  # no management socket to share between servers
    }

    class Gunicorn(BaseApplication):
        def load_config(self):
            for name, value in options.items():
                self.cfg.set(name, value)

        def load(self):
            return app

    Gunicorn().run()


def _patient_worker(timeout: float):
    """gunicorn's sync worker with a deadline for clients (its own import: only to serve)."""
    from gunicorn import util
    from gunicorn.workers.sync import SyncWorker

    class PatientWorker(SyncWorker):
        """A connection that sends nothing (a browser's unused preconnection) or stalls in the
        middle of its request is closed after ``timeout`` seconds, with one line in the log,
        instead of holding its process until gunicorn's watchdog kills it."""

        def init_process(self):
            self.log.error_log.addFilter(partial(_timeout_in_one_line, timeout))
            super().init_process()  # runs the worker until it stops

        def accept(self, listener):
            client, address = listener.accept()
            client.settimeout(timeout)
            util.close_on_exec(client)
            self.handle(listener, client, address)

    return PatientWorker


def _timeout_in_one_line(timeout: float, record: logging.LogRecord) -> bool:
    """gunicorn logs a client's timeout as a socket error with its traceback; it is routine."""
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, TimeoutError):
        record.msg = f"closed a connection that sent no whole request within {timeout:g} s"
        record.args, record.exc_info, record.exc_text = (), None, None
        record.levelno, record.levelname = logging.INFO, "INFO"
    return True


def serve_threaded(app: Flask, host: str, port: int, threads: int) -> None:
    """Serve ``app`` from this one process with waitress (what a TensorFlow model needs)."""
    from waitress import serve

    # Bodies up to the app's limit stay in memory; the app answers 413 above it.
    serve(app, host=host, port=port, threads=threads,
          inbuf_overflow=MAX_CONTENT_LENGTH + 65536,
          max_request_body_size=4 * MAX_CONTENT_LENGTH)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python app.py", description="Serve Sketchbook.")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=_port, default=None,
                        help=f"port (default $PORT or {DEFAULT_PORT})")
    parser.add_argument("--workers", type=_count, default=None,
                        help="server processes (default: one more than the usable CPU "
                             "cores); a model without its LiteRT export is served by one "
                             "process")
    parser.add_argument("--threads", type=_count, default=4,
                        help="threads of the one waitress process that serves a model "
                             "without its LiteRT export (default 4); gunicorn's processes "
                             "answer one request at a time")
    parser.add_argument("--client-timeout", type=_seconds, default=CLIENT_TIMEOUT,
                        help="seconds a connection may take to send its request before it is "
                             f"closed (default {CLIENT_TIMEOUT:g})")
    parser.add_argument("--debug", action="store_true",
                        help="Flask's debug server, one process (never in production)")
    args = parser.parse_args(argv)
    if args.port is None:
        try:
            args.port = _port(os.environ.get("PORT") or str(DEFAULT_PORT))
        except argparse.ArgumentTypeError as error:
            parser.error(f"PORT: {error}")
    # One more process than cores: a process waiting for a slow client leaves no core idle.
    workers = args.workers or _usable_cpus() + 1

    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(process)d] %(name)s %(message)s")
    if (taken := _can_bind(args.host, args.port)) is not None:
        print(f"sketchbook: cannot serve on {args.host}:{args.port}: {taken}", file=sys.stderr)
        return 1
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out
    with _stderr_held() as held:
        try:
            app = create_app()
        except ModelError as error:
            failure = error
        else:
            failure = None
    if failure is not None:  # one line for the operator, whatever Keras or TensorFlow said
        print(f"sketchbook: cannot start: {' '.join(str(failure).split())}", file=sys.stderr)
        return 1
    held.replay()
    try:
        if args.debug:
            app.run(host=args.host, port=args.port, debug=True, use_reloader=False)
        elif app.extensions["classifier"].runtime.name == "litert":
            serve_forked(app, args.host, args.port, workers, args.client_timeout)
        else:
            if workers > 1:
                log.warning("serving from one process: TensorFlow cannot be shared with "
                            "forked workers (export the model to LiteRT to use %d)", workers)
            serve_threaded(app, args.host, args.port, args.threads)
    except OSError as error:  # e.g. the port was taken meanwhile
        print(f"sketchbook: cannot serve on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
