"""What every request and response goes through: bounds on the request's head, uploads kept
in memory, security headers, and a request log that holds no client data.

The log line is method, path, status and time; the path is percent-encoded as on the wire and
cut short, so a client cannot forge log lines or flood the log. Uploads are never logged.
"""

from __future__ import annotations

import io
import logging
import time
import urllib.parse

from flask import Request, g, request
from werkzeug.exceptions import RequestHeaderFieldsTooLarge, RequestURITooLarge

from .limits import MAX_HEADER_BYTES, MAX_URL_LENGTH

log = logging.getLogger("sketchbook")

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


class SketchRequest(Request):
    """Form uploads stay in memory (they are bounded by MAX_CONTENT_LENGTH): never on disk."""

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        return io.BytesIO()


def install(app) -> None:
    """Put ``app``'s requests and responses through this module."""
    app.request_class = SketchRequest
    if log.level == logging.NOTSET:  # request lines are INFO; where they go is the server's
        log.setLevel(logging.INFO)
    app.before_request(_start_timer)
    app.before_request(_check_request_head)
    app.after_request(_finish_response)


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


def loggable(text: str, limit: int = LOG_PATH_LIMIT) -> str:
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
    log.info("%s %s %d %.1fms", loggable(request.method, 20), loggable(request.path),
             response.status_code, elapsed)
    return response
