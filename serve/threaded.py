"""Serve the app from this one process with waitress: what a TensorFlow model needs, since
TensorFlow cannot be shared with forked workers."""

from __future__ import annotations

from flask import Flask

from web.limits import MAX_CONTENT_LENGTH


def serve_threaded(app: Flask, host: str, port: int, threads: int) -> None:
    from waitress import serve

    # Bodies up to the app's limit stay in memory; the app answers 413 above it.
    serve(app, host=host, port=port, threads=threads,
          inbuf_overflow=MAX_CONTENT_LENGTH + 65536,
          max_request_body_size=4 * MAX_CONTENT_LENGTH)
