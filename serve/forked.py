"""Serve the app from gunicorn processes forked from one that has loaded the model.

A guess is CPU work under Python's global interpreter lock, so processes, not threads, use
the cores. A process takes a connection from the listening socket only when it is free, so
requests wait in that one queue and go to whichever process is idle first (threaded workers
kept each keep-alive client on the process that first accepted it, and one process could hold
most clients while another idled). The app, its model included, is built once before forking:
a broken model stops start-up with one line before any worker exists, and the workers share
its memory. Only for a LiteRT model: TensorFlow cannot be used in a process forked after it
started.
"""

from __future__ import annotations

import logging
import math
import socket
import time
from functools import partial

from flask import Flask

from web.limits import (CLIENT_TIMEOUT, LINGER_BYTES, LINGER_IDLE, LINGER_SECONDS,
                        MAX_HEADER_BYTES)


def serve_forked(app: Flask, host: str, port: int, workers: int,
                 client_timeout: float = CLIENT_TIMEOUT) -> None:
    """Serve ``app`` from ``workers`` gunicorn processes that answer one request at a time."""
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
            # gunicorn closes every connection through util.close_graceful, which drains 64 KB
            # for 2 s: this process's connections drain up to LINGER_BYTES instead.
            util.close_graceful = partial(lingering_close, max_bytes=LINGER_BYTES,
                                          seconds=LINGER_SECONDS, idle=LINGER_IDLE)
            super().init_process()  # runs the worker until it stops

        def accept(self, listener):
            client, address = listener.accept()
            client.settimeout(timeout)
            util.close_on_exec(client)
            self.handle(listener, client, address)

    return PatientWorker


def lingering_close(sock: socket.socket, max_bytes: int, seconds: float,
                    idle: float) -> None:
    """Close a connection so that the client reads the answer, even one sent early.

    When the app answers before reading the body (a 413 for a 20 MB upload, a 415), the client
    may still be sending: Python's ``http.client`` and ``urllib``, like ``requests``, send the
    whole body before they read anything. Closing then, with unread data in the socket, makes
    the kernel send a reset, and the client reports "Connection reset" or "Broken pipe"
    instead of the sentence. So: send FIN after the answer, read and discard what still
    arrives until the client closes, and close for good after ``max_bytes`` or ``seconds``,
    whichever comes first, so a client that never stops holds the process no longer than
    that, or once nothing has arrived for ``idle`` seconds, so a client that sends nothing
    more (one cut off for stalling, say) does not hold it either (RFC 9112, section 9.6).
    """
    try:
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        deadline = time.monotonic() + seconds
        drained = 0
        while drained < max_bytes:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                sock.settimeout(min(remaining, idle))
                data = sock.recv(min(1 << 20, max_bytes - drained))
            except OSError:  # timed out, or reset by the client
                break
            if not data:
                break
            drained += len(data)
    finally:
        try:
            sock.close()
        except OSError:
            pass


def _timeout_in_one_line(timeout: float, record: logging.LogRecord) -> bool:
    """gunicorn logs a client's timeout as a socket error with its traceback; it is routine."""
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, TimeoutError):
        record.msg = f"closed a connection that sent no whole request within {timeout:g} s"
        record.args, record.exc_info, record.exc_text = (), None, None
        record.levelno, record.levelname = logging.INFO, "INFO"
    return True
