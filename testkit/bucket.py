"""A loopback HTTP server that imitates the QuickDraw bucket, for the tests and benchmarks
(the product never needs it, so it lives here and not in ``quickdraw``).

It serves ``/<url-quoted name>.npy`` (or ``.ndjson``) from bytes held in memory, binds
127.0.0.1 on a free port, and records every request (path, ``Range`` header,
status, body bytes actually sent, whether the client hung up early) so tests
can check what the client asked for and how much went over the wire. Its
``mode`` makes it misbehave the ways real servers do:

``range``         honours ``Range`` (206 + Content-Range), like Google Cloud Storage
``ignore-range``  always 200 with the whole file
``html``          200 with an HTML page instead of the file
``missing``       404 (any name it has no bytes for is a 404 in every mode)
``error``         500
``truncated``     promises the whole file in Content-Length, sends half, hangs up
``slow``          sends nothing until ``delay`` seconds pass (or the server stops)
``stall``         sends the headers and 1000 bytes, then nothing
``bad-range``     206 with a Content-Range that is not the range asked for

Only the standard library is used. Typical use::

    from testkit.bucket import FakeQuickDraw

    with FakeQuickDraw({"cat": npy_bytes}) as server:
        quickdraw.load("cat", 10, source=server.url, cache=tmp_path)
        assert server.requests[0].range == "bytes=0-..."
"""

from __future__ import annotations

import io
import re
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from quickdraw.npy import ROW_BYTES

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_CHUNK = 16 * 1024
HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Not here</title></head>"
             b"<body><p>Nothing to see.</p></body></html>\n")


@dataclass
class ServedRequest:
    """One request as the server saw it."""

    path: str
    name: str
    range: str | None
    user_agent: str | None
    status: int = 0  # 0 until the reply starts
    sent: int = 0  # body bytes the server managed to hand to the network
    complete: bool = False  # the whole body it meant to send went out
    error: str | None = None  # e.g. "BrokenPipeError" when the client hung up


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeQuickDraw/1.0"
    protocol_version = "HTTP/1.0"  # one request per connection, closed after the reply

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        fake: FakeQuickDraw = self.server.fake  # type: ignore[attr-defined]
        path = urllib.parse.urlsplit(self.path).path
        name = urllib.parse.unquote(path.lstrip("/"))
        for suffix in (".npy", ".ndjson"):
            name = name.removesuffix(suffix)
        record = ServedRequest(path=path, name=name, range=self.headers.get("Range"),
                               user_agent=self.headers.get("User-Agent"))
        fake._begin(record)
        try:
            self._answer(fake, record)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as e:
            record.error = type(e).__name__
        finally:
            fake._finish(record)

    def _body(self, record: ServedRequest, data: bytes, status: int, headers: dict,
              send: int | None = None) -> None:
        record.status = status
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, str(value))
        self.end_headers()
        limit = len(data) if send is None else send
        for i in range(0, limit, _CHUNK):
            piece = data[i:min(i + _CHUNK, limit)]
            self.wfile.write(piece)
            record.sent += len(piece)
        record.complete = record.sent == len(data)

    def _answer(self, fake: "FakeQuickDraw", record: ServedRequest) -> None:
        mode = fake.modes.get(record.name, fake.mode)
        data = fake.files.get(record.name)
        if mode == "slow":
            fake._release.wait(fake.delay)
            if fake._release.is_set():
                return
        if data is None or mode == "missing":
            record.status = 404
            self.send_error(404, "Not Found")
            return
        if mode == "error":
            record.status = 500
            self.send_error(500, "Internal Server Error")
            return
        if mode == "html":
            self._body(record, HTML_PAGE, 200, {"Content-Type": "text/html; charset=utf-8",
                                                "Content-Length": len(HTML_PAGE)})
            return
        npy = {"Content-Type": "application/octet-stream"}
        if mode == "truncated":
            self._body(record, data, 200, {**npy, "Content-Length": len(data)},
                       send=len(data) // 2)
            return
        if mode == "stall":
            record.status = 200
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:1000])
            record.sent = 1000
            fake._release.wait(fake.delay)
            return
        wanted = _RANGE.match(record.range or "")
        if mode in ("range", "bad-range") and wanted:
            first = int(wanted[1])
            last = int(wanted[2]) if wanted[2] else len(data) - 1
            last = min(last, len(data) - 1)
            if first >= len(data):
                record.status = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            shown = first + 1 if mode == "bad-range" else first
            part = data[first:last + 1]
            self._body(record, part, 206, {
                **npy, "Content-Length": len(part),
                "Content-Range": f"bytes {shown}-{last}/{len(data)}"})
            return
        # "ignore-range", or "range" without a Range header: the whole file
        self._body(record, data, 200, {**npy, "Content-Length": len(data)})


class FakeQuickDraw:
    """The server; start with ``with`` or :meth:`start`, stop with :meth:`stop`."""

    def __init__(self, files: dict[str, bytes] | None = None, mode: str = "range",
                 delay: float = 10.0) -> None:
        self.files: dict[str, bytes] = dict(files or {})
        self.mode = mode
        self.modes: dict[str, str] = {}  # per-name overrides of `mode`
        self.delay = delay
        self.requests: list[ServedRequest] = []  # in arrival order, filled in as they go
        self._finished = 0
        self._cond = threading.Condition()
        self._release = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "the server is not running"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeQuickDraw":
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # wake "slow" and "stall" handlers
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> "FakeQuickDraw":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _begin(self, record: ServedRequest) -> None:
        with self._cond:
            self.requests.append(record)  # before any reply: a client never outruns it

    def _finish(self, record: ServedRequest) -> None:
        with self._cond:
            self._finished += 1
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ServedRequest]:
        """Wait until ``count`` replies are over (so ``sent``/``complete`` are final)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._finished >= count, timeout):
                raise TimeoutError(f"only {self._finished} of {count} replies finished")
            return list(self.requests)


def random_rows(count: int, seed: int) -> np.ndarray:
    """``count`` random 28x28 rows (uint8, (count, 784)): drawings a test can tell apart."""
    return np.random.default_rng(seed).integers(0, 256, (count, ROW_BYTES), dtype=np.uint8)


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` as the bytes of a ``.npy`` file, as a bucket serves it."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()
