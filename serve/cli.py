"""``python app.py``: check the address, load the models once, then serve.

    python app.py [--host 127.0.0.1] [--port 5000] [--workers N] [--threads N]
                  [--client-timeout S] [--debug]

A taken port or a broken model is one line for the operator and exit status 1, before any
worker starts; TensorFlow's start-up chatter is held back unless the model loads.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import socket
import sys
import threading

from quickdraw.arguments import bounded
from sketch_model.modelcard import ModelError
from web import create_app
from web.hardening import log
from web.models import runtimes
from web.limits import CLIENT_TIMEOUT

from .forked import serve_forked
from .threaded import serve_threaded

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
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
        elif runtimes(app) == {"litert"}:
            serve_forked(app, args.host, args.port, workers, args.client_timeout)
        else:
            if workers > 1:
                log.warning("serving from one process: TensorFlow cannot be shared with "
                            "forked workers (export every model to LiteRT to use %d)", workers)
            serve_threaded(app, args.host, args.port, args.threads)
    except OSError as error:  # e.g. the port was taken meanwhile
        print(f"sketchbook: cannot serve on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


_port = bounded("port", 1, 65535)
_count = bounded("count", 1, 64)
_seconds = bounded("seconds", 0.1, 3600, float)


def _parse(argv: list[str] | None) -> argparse.Namespace:
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
    return args


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
