"""Hostile clients: a battery of bad requests, sent in-process and to the production server.

Every bad request must get a 4xx with a sentence for a person (``{"error": ...}`` on the API,
the error page on /predict), and the server must answer the next, valid request. The battery
runs twice: through Flask's test client, and as raw bytes over a socket to the production
command (``python app.py``: gunicorn workers forked from the process that loaded the model), so
that addresses and headers far too long meet the real server. Nothing here asserts on time
(project rule): a hang fails on a 10 s socket timeout instead, and the slowest answer is
reported at the end of the run.

Also here: what reaches the log, and how start-up fails on a missing or corrupt model.

``tests/test_load.py`` and ``benchmarks/soak.py`` reuse the battery and the server helper.
"""

from __future__ import annotations

import base64
import concurrent.futures
import http.client
import io
import json
import logging
import os
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import app as webapp
from sketch_model.classifier import ModelError
from tests.drawing import ANIMALS, png_bytes, png_chunk, render_canvas

REPO = Path(__file__).resolve().parents[1]
SENTENCE = re.compile(r"^[A-Z].{8,}[.!?]$", re.DOTALL)
TIMEOUT = 10.0  # seconds a socket waits: generous, so only a hang fails
MARKER = "zq-hostile-marker-7f3a9c"  # in bodies and addresses: must never reach a log
LIMIT = webapp.MAX_CONTENT_LENGTH
LATENCIES: dict[str, list[float]] = {"test client": [], "production server": []}


# --- payloads ---------------------------------------------------------------------------------

def declared_png(width: int, height: int, *, first: tuple[int, int] | None = None,
                 full: bool = False) -> bytes:
    """A grey PNG declaring ``width`` x ``height`` with valid CRCs and a small IDAT.

    ``first``: an earlier IHDR with this size (Pillow believes the last one).
    ``full``: the IDAT really inflates to the whole declared picture (zeros compress ~1000:1).
    """
    ihdr = [png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            for w, h in ([first] if first else []) + [(width, height)]]
    if full:
        packer = zlib.compressobj(9)
        row = bytes(width + 1)
        data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    else:
        data = zlib.compress(bytes(1024))
    return (b"\x89PNG\r\n\x1a\n" + b"".join(ihdr) + png_chunk(b"IDAT", data)
            + png_chunk(b"IEND", b""))


def _encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


@lru_cache(maxsize=None)
def cat_png() -> bytes:
    """A valid drawing: a cat, 8 px pen, 70% of a 300 px transparent canvas."""
    return render_canvas(ANIMALS["cat"](), canvas=300, pen=8, size=0.7)


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


@lru_cache(maxsize=None)
def bad_images() -> dict[str, tuple[bytes, int]]:
    """Bytes sent where a PNG is expected, and the status they must get."""
    picture = Image.new("RGB", (64, 64), "white")
    picture.paste((0, 0, 0), (10, 10, 54, 20))
    frames = [Image.new("RGBA", (40, 40), (0, 0, 0, 0)), Image.new("RGBA", (40, 40), "black")]
    wide = Image.new("LA", (10_000, 10), (0, 0))
    wide.paste((0, 255), (100, 2, 9_900, 8))
    return {
        "random-bytes": (np.random.default_rng(7).bytes(3000), 400),
        "jpeg": (_encoded(picture, "JPEG"), 400),
        "gif": (_encoded(picture, "GIF"), 400),
        "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999">'
                b'<circle cx="5" cy="5" r="4"/></svg>', 400),
        "truncated-png": (cat_png()[: len(cat_png()) // 2], 400),
        "bomb-100000x100000": (declared_png(100_000, 100_000), 413),
        "second-ihdr-bomb": (declared_png(6000, 6000, first=(64, 64), full=True), 400),
        "1x1-png": (png_bytes(Image.new("RGBA", (1, 1), (0, 0, 0, 255))), 400),
        "10000x10-png": (png_bytes(wide), 413),
        "apng": (_encoded(frames[0], "PNG", save_all=True, append_images=frames[1:]), 400),
        "trns-longer-than-palette": (_long_trns(), 400),
    }


def _long_trns() -> bytes:
    """A palette PNG with one transparency entry more than it has colours."""
    png = png_bytes(Image.new("L", (40, 40), 255).convert("P"), transparency=255)
    at, chunks = 8, []
    while at < len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        chunks.append((kind, png[at + 8:at + 8 + length]))
        at += 12 + length
    colours = len(dict(chunks)[b"PLTE"]) // 3
    return png[:8] + b"".join(png_chunk(kind, b"\xff" * (colours + 1) if kind == b"tRNS" else data)
                              for kind, data in chunks)


# --- requests ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Req:
    """One HTTP request, as bytes on the wire or through the test client."""

    method: str
    target: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    chunked: bool = False  # send the body with Transfer-Encoding: chunked (socket only)


@dataclass(frozen=True)
class Case:
    name: str
    request: Req
    status: int
    real_only: bool = False  # only meaningful against the real server (e.g. its own limits)
    by_server: bool = False  # on the real server, its own limits answer before the app


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes
    seconds: float
    headers: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


FORM = (("Content-Type", "application/x-www-form-urlencoded"),)
JSON = (("Content-Type", "application/json"),)
PNG = (("Content-Type", "image/png"),)


def form(fields: dict) -> Req:
    return Req("POST", "/predict", urllib.parse.urlencode(fields).encode("ascii"), FORM)


def api_json(payload) -> Req:
    return Req("POST", "/api/predict", json.dumps(payload).encode("utf-8"), JSON)


def api_raw(body: bytes) -> Req:
    return Req("POST", "/api/predict", body, PNG)


def valid_requests() -> list[Req]:
    url = data_url(cat_png())
    return [form({"url": url}), api_json({"image": url}), api_raw(cat_png())]


def battery() -> list[Case]:
    """Every bad request, for each way of sending a drawing (form, JSON, raw PNG)."""
    cases: list[Case] = []

    def add(name, request, status, **flags):
        cases.append(Case(name, request, status, **flags))

    # what is in the drawing field
    texts = {
        "missing-field": (None, 400),
        "empty-string": ("", 400),
        "not-a-data-url": (f"hello {MARKER}", 400),
        "wrong-mime": (data_url(bad_images()["jpeg"][0], "image/jpeg"), 400),
        "broken-base64": ("data:image/png;base64,iVBORw0KGgo***=", 400),
    }
    for name, (text, status) in texts.items():
        add(f"form/{name}", form({} if text is None else {"url": text}), status)
        add(f"json/{name}", api_json({} if text is None else {"image": text}), status)
    add("raw/empty-body", api_raw(b""), 400)
    add("raw/not-a-png", api_raw(f"hello {MARKER}".encode()), 400)
    for name, (data, status) in bad_images().items():
        add(f"form/{name}", form({"url": data_url(data)}), status)
        add(f"json/{name}", api_json({"image": data_url(data)}), status)
        add(f"raw/{name}", api_raw(data), status)

    # the request itself
    big = "data:image/png;base64," + "A" * LIMIT
    add("form/over-size-limit", form({"url": big}), 413)
    add("json/over-size-limit", api_json({"image": big}), 413)
    add("raw/over-size-limit", api_raw(b"\x89PNG\r\n\x1a\n" + bytes(LIMIT)), 413)
    add("form/wrong-content-type", Req("POST", "/predict", api_json(
        {"url": data_url(cat_png())}).body, JSON), 400)
    add("json/wrong-content-type", Req("POST", "/api/predict", b"image=x",
                                       (("Content-Type", "text/plain"),)), 415)
    add("raw/wrong-content-type", Req("POST", "/api/predict", cat_png(),
                                      (("Content-Type", "image/jpeg"),)), 415)
    add("json/no-content-type", Req("POST", "/api/predict", b'{"image": "x"}'), 415)
    add("json/not-utf8", Req("POST", "/api/predict", b'{"image": "\xff\xfe\x00data"}', JSON), 400)
    add("form/not-utf8", Req("POST", "/predict", b"url=\xff\xfe%FF%FEdata", FORM), 400)
    add("json/deeply-nested", Req("POST", "/api/predict", b"[" * 100_000, JSON), 400)
    add("json/deeply-nested-object",
        Req("POST", "/api/predict", b'{"image": ' + b'{"a": ' * 50_000, JSON), 400)
    add("form/deeply-nested", Req("POST", "/predict", b"url=" + b"%5B" * 100_000, FORM), 400)
    add("form/get", Req("GET", "/predict"), 405)
    add("json/get", Req("GET", "/api/predict"), 405)
    add("json/put", Req("PUT", "/api/predict", api_json({"image": "x"}).body, JSON), 405)
    long = "a" * 100_000
    valid_form, valid_json, _ = valid_requests()
    # the app refuses these itself; the production server's own line limits refuse them first
    add("form/long-path", replace(valid_form, target="/predict/" + long), 414, by_server=True)
    add("json/long-path", replace(valid_json, target="/api/predict/" + long), 414,
        by_server=True)
    add("form/long-query", replace(valid_form, target="/predict?q=" + long), 414,
        by_server=True)
    add("json/long-query", replace(valid_json, target="/api/predict?q=" + long + MARKER), 414,
        by_server=True)
    for route, valid in zip(("form", "json", "raw"), valid_requests()):
        add(f"{route}/long-header", Req(valid.method, valid.target, valid.body,
                                        valid.headers + (("X-Junk", long),)), 431,
            by_server=True)
    # what only a real server sees: far larger heads, and chunked bodies
    huge = (("X-Junk", "a" * 300_000 + MARKER),)
    add("json/huge-header", Req("GET", "/healthz", b"", huge), 431, real_only=True,
        by_server=True)
    add("form/huge-url", Req("GET", "/" + "a" * 300_000 + MARKER), 414, real_only=True,
        by_server=True)
    add("raw/chunked-over-size-limit", Req("POST", "/api/predict", bytes(LIMIT + 1024), PNG,
                                           chunked=True), 413, real_only=True)
    add("form/chunked-over-size-limit", Req("POST", "/predict", form({"url": big}).body, FORM,
                                            chunked=True), 413, real_only=True)
    return cases


BATTERY = battery()
IN_PROCESS = [c for c in BATTERY if not c.real_only]


# --- checking an answer -----------------------------------------------------------------------

def error_sentence(reply: Reply, target: str) -> str:
    """The sentence of an error answer, checked for its form; fails on anything else."""
    path = urllib.parse.urlsplit(target).path
    if path.startswith("/api/") or path == "/healthz":
        assert reply.content_type == "application/json", (reply.content_type, reply.text[:200])
        body = json.loads(reply.body)
        assert set(body) == {"error"}, body
        message = body["error"]
    else:
        assert reply.content_type == "text/html", (reply.content_type, reply.text[:200])
        page = reply.text
        assert f'data-status="{reply.status}"' in page
        found = re.search(r'<p class="message" id="error-message">(.*?)</p>', page, re.DOTALL)
        assert found, page[:500]
        message = " ".join(found.group(1).split())
        assert 'id="again"' in page and 'id="prediction"' not in page
    assert isinstance(message, str) and SENTENCE.match(message), message
    assert "Traceback" not in message and MARKER not in message
    return message


def check_bad(case: Case, reply: Reply, real: bool = False) -> None:
    """``real``: the reply came from the production server, not the test client."""
    assert 400 <= reply.status < 500, (case.name, reply.status, reply.text[:300])
    assert reply.status == case.status, (case.name, reply.status, reply.text[:300])
    if real and case.by_server:  # gunicorn's own short page: the reason phrase, then why
        assert reply.content_type == "text/html", reply.content_type
        assert re.search(r"<title>[A-Z][A-Za-z -]+</title>", reply.text), reply.text[:300]
        assert len(reply.body) < 1000 and MARKER not in reply.text
    else:
        error_sentence(reply, case.request.target)


def check_valid(reply: Reply, request: Req) -> None:
    assert reply.status == 200, (request.target, reply.status, reply.text[:300])
    if request.target == "/predict":
        assert 'id="prediction"' in reply.text
    else:
        assert json.loads(reply.body)["label"]


# --- sending: test client and raw socket ------------------------------------------------------

def through_client(client, request: Req) -> Reply:
    started = time.perf_counter()
    response = client.open(request.target, method=request.method, data=request.body,
                           headers=list(request.headers))
    seconds = time.perf_counter() - started
    return Reply(response.status_code, response.mimetype, response.get_data(), seconds,
                 dict(response.headers))


def send(port: int, request: Req, timeout: float = TIMEOUT) -> Reply:
    """One request on a new connection, as raw bytes; the reply parsed by http.client."""
    lines = [f"{request.method} {request.target} HTTP/1.1", f"Host: 127.0.0.1:{port}",
             "Connection: close"]
    lines += [f"{name}: {value}" for name, value in request.headers]
    if request.chunked:
        lines.append("Transfer-Encoding: chunked")
        step = 256 * 1024
        body = b"".join(b"%x\r\n%s\r\n" % (len(request.body[i:i + step]),
                                            request.body[i:i + step])
                        for i in range(0, len(request.body), step)) + b"0\r\n\r\n"
    else:
        if request.body or request.method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(request.body)}")
        body = request.body
    wire = "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(wire)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (and close) before reading all: read its answer
        response = http.client.HTTPResponse(sock, method=request.method)
        response.begin()
        payload = response.read()
    seconds = time.perf_counter() - started
    content_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
    return Reply(response.status, content_type, payload, seconds, dict(response.getheaders()))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- models and the production server ---------------------------------------------------------

def make_tiny_model(directory: Path, classes=("cat", "dog", "fish"), name="tiny",
                    export: bool = False) -> Path:
    """An untrained model (as conftest's ``tiny_model``), for module-scoped fixtures.

    ``export``: with a LiteRT export beside it, as training writes, so that ``python app.py``
    serves it from forked workers (a model that needs TensorFlow is served by one process).
    """
    import keras

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Flatten(),
                              keras.layers.Dense(len(classes), activation="softmax")])
    path = Path(directory) / f"{name}.keras"
    model.save(path)
    metadata = {"classes": list(classes), "reject_class": None, "unsure_threshold": 0.3,
                "input": {"shape": [28, 28, 1], "range": [0, 255]}, "metrics": {}}
    if export:
        from sketch_model.export import export_litert

        bitmaps = np.random.default_rng(7).integers(0, 256, (64, 784), dtype=np.uint8)
        metadata["litert"] = export_litert(model, path, bitmaps[::2], bitmaps[1::2])
    path.with_suffix(".json").write_text(json.dumps(metadata))
    return path


class ProductionServer:
    """``python app.py --port <free> --workers 2 [options]``, the production command
    (``workers=None``: its default, one more worker than usable cores).

    For a model with its LiteRT export that is gunicorn, its workers forked from the process
    that loaded the model; for one that needs TensorFlow, waitress in that one process.
    """

    def __init__(self, model: Path | str | None, log_path: Path, workers: int | None = 2,
                 options: tuple[str, ...] = (), start_timeout: float = 240.0):
        self.model, self.log_path = model, Path(log_path)
        self.workers, self.options = workers, list(options)
        self.start_timeout = start_timeout
        self.port = 0
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [sys.executable, "app.py", "--port", str(self.port), *self.options] + (
            ["--workers", str(self.workers)] if self.workers else [])

    def start(self) -> "ProductionServer":
        self.port = free_port()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
        if self.model is not None:
            env["SKETCHBOOK_MODEL"] = str(self.model)
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(self.command(), cwd=REPO, env=env,
                                        stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}):\n"
                                   + self.log()[-3000:])
            try:
                if send(self.port, Req("GET", "/healthz"), timeout=2).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"no answer on /healthz within {self.start_timeout:.0f} s:\n"
                           + self.log()[-3000:])

    def pids(self, expected: int = 1) -> list[int]:
        """The server's processes: the one started, then the workers it forked (waiting up to
        10 s for ``expected`` processes in all, as workers are forked one after another)."""
        deadline = time.monotonic() + 10
        while len(found := [self.process.pid] + children(self.process.pid)) < expected and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        return found

    def rss_kb(self) -> int:
        """The resident memory (VmRSS) of the server's processes together, in kB (pages the
        workers share with the process they were forked from count once for each)."""
        total = 0
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:  # gone meanwhile
                continue
            total += int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE).group(1))
        return total

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def children(pid: int) -> list[int]:
    """The live child processes of ``pid``."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            pass
    return sorted(found)


def open_files(pid: int) -> list[str]:
    files = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            files.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return files


# --- fixtures ---------------------------------------------------------------------------------

def report(config, line: str) -> None:
    """A line on the terminal, past pytest's output capture (figures, not assertions)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    if capture is None:
        reporter.write_line(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("hostile-model"))


@pytest.fixture(scope="module")
def app_client(model_file):
    return webapp.create_app({"MODEL_PATH": str(model_file), "TESTING": True}).test_client()


@pytest.fixture(scope="module")
def exported_model_file(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("hostile-exported"), export=True)


@pytest.fixture(scope="module")
def server(exported_model_file, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("hostile-server") / "server.log"
    with ProductionServer(exported_model_file, log_path) as running:
        yield running
        assert running.alive(), "the server died:\n" + running.log()[-3000:]


@pytest.fixture(scope="module", autouse=True)
def latency_report(request):
    """Not an assertion (no timed assertions): the slowest bad-request answer, reported."""
    yield
    for transport, seconds in LATENCIES.items():
        if seconds:
            report(request.config, f"hostile battery via {transport}: {len(seconds)} bad "
                                    f"requests, slowest answer {max(seconds) * 1000:.0f} ms")


# --- the battery ------------------------------------------------------------------------------

def test_the_battery_covers_every_route_and_kind():
    names = [case.name for case in BATTERY]
    assert len(names) == len(set(names))
    routes = {name.split("/")[0] for name in names}
    assert routes == {"form", "json", "raw"}
    kinds = {name.split("/")[1] for name in names}
    for kind in ("missing-field", "empty-string", "not-a-data-url", "wrong-mime",
                 "broken-base64", "random-bytes", "jpeg", "gif", "svg", "truncated-png",
                 "bomb-100000x100000", "1x1-png", "10000x10-png", "apng", "over-size-limit",
                 "wrong-content-type", "not-utf8", "deeply-nested", "get", "long-path",
                 "long-query", "long-header"):
        assert kind in kinds, kind
    bomb = bad_images()["bomb-100000x100000"][0]
    assert struct.unpack(">II", bomb[16:24]) == (100_000, 100_000) and len(bomb) < 200
    assert all(400 <= case.status < 500 for case in BATTERY)


@pytest.mark.parametrize("case", IN_PROCESS, ids=[c.name for c in IN_PROCESS])
def test_bad_request_in_process(app_client, case):
    reply = through_client(app_client, case.request)
    LATENCIES["test client"].append(reply.seconds)
    check_bad(case, reply)
    for name, value in webapp.SECURITY_HEADERS.items():
        assert reply.headers.get(name) == value, name
    valid = valid_requests()[1]
    check_valid(through_client(app_client, valid), valid)


@pytest.mark.parametrize("case", BATTERY, ids=[c.name for c in BATTERY])
def test_bad_request_on_the_production_server(server, case):
    reply = send(server.port, case.request)
    LATENCIES["production server"].append(reply.seconds)
    check_bad(case, reply, real=True)
    for valid in valid_requests():
        check_valid(send(server.port, valid), valid)


def test_the_production_server_logs_one_short_line_per_request(server):
    """After the battery: the server's log has request lines, short, without client data."""
    send(server.port, Req("GET", "/healthz"))
    time.sleep(0.5)  # let the server's stderr reach the file
    log = server.log()
    assert re.search(r"GET /healthz 200 \d+\.\dms", log), log[-2000:]
    assert MARKER not in log
    assert "base64" not in log and "Traceback" not in log
    assert max(len(line) for line in log.splitlines()) < 400


# --- what reaches the log ---------------------------------------------------------------------

ACCESS = re.compile(r"(\S{1,20}) (\S{1,200}(?:\.\.\.\[\d+ chars\])?) (\d{3}) \d+\.\dms")


@pytest.mark.parametrize("request_", [
    api_json({"image": data_url(cat_png()), "note": MARKER}),
    form({"url": data_url(cat_png()), "note": MARKER}),
    api_json({"image": "data:image/png;base64," + MARKER}),
    api_json({"image": MARKER}),
    form({"url": MARKER}),
    api_raw(MARKER.encode() * 100),
    api_raw(b"\x89PNG\r\n\x1a\n" + MARKER.encode() * 10),
    Req("POST", "/api/predict", b'{"image": "' + MARKER.encode() + b'\xff"}', JSON),
    Req("POST", "/api/predict", MARKER.encode(), (("Content-Type", "text/plain"),)),
    Req("POST", "/predict", b'{"url": "' + MARKER.encode() + b'"}', JSON),
    Req("POST", "/api/predict", cat_png(), PNG + (("X-Note", MARKER),)),
], ids=["json-ok", "form-ok", "json-bad-base64", "json-not-url", "form-not-url",
        "raw-not-png", "raw-broken-png", "json-not-utf8", "text-plain", "form-as-json",
        "header"])
def test_nothing_the_client_sends_is_logged(app_client, caplog, request_):
    with caplog.at_level(logging.DEBUG):
        reply = through_client(app_client, request_)
    records = [r for r in caplog.records if r.name.startswith("sketchbook")]
    assert len(records) == 1, [r.getMessage() for r in records]
    line = records[0].getMessage()
    matched = ACCESS.fullmatch(line)
    assert matched, line
    assert matched.group(2) == request_.target and int(matched.group(3)) == reply.status
    for record in caplog.records:  # every logger, not only ours
        text = " ".join([record.getMessage(), record.exc_text or "", repr(record.args)])
        assert MARKER not in text, text


def test_long_and_strange_paths_are_logged_short_and_on_one_line(app_client, caplog):
    long = "/" + "a" * 100_000 + MARKER
    targets = [long, "/api/predict/" + "b" * 5000,
               "/x%0A2024-01-01 sketchbook GET /healthz 200 1.0ms", "/%1b[31mred%00"]
    with caplog.at_level(logging.INFO, logger="sketchbook"):
        statuses = [through_client(app_client, Req("GET", t)).status for t in targets]
    assert statuses == [414, 404, 404, 404]
    lines = [r.getMessage() for r in caplog.records if r.name == "sketchbook"]
    assert len(lines) == len(targets)
    for line in lines:
        assert len(line) <= 300, len(line)
        assert line.isprintable() and line.isascii(), repr(line)  # no forged line, no escape
        assert ACCESS.fullmatch(line), line
    assert MARKER not in lines[0] and f"...[{len(long)} chars]" in lines[0]
    assert "%0A" in lines[2] and "%1B" in lines[3] and "%00" in lines[3]


def test_a_weird_method_is_not_echoed(app_client):
    reply = through_client(app_client, Req("FROB" + MARKER.upper().replace("-", ""),
                                           "/api/predict"))
    assert reply.status == 405
    message = error_sentence(reply, "/api/predict")
    assert "FROB" not in message


# --- the model at start-up --------------------------------------------------------------------

def test_a_missing_model_stops_create_app_with_a_clear_message(tmp_path):
    missing = tmp_path / "nothing-here.keras"
    with pytest.raises(ModelError) as raised:
        webapp.create_app({"MODEL_PATH": str(missing)})
    message = str(raised.value)
    assert str(missing) in message and "missing" in message.lower()
    assert "\n" not in message and SENTENCE.match(message), message


def test_the_model_is_loaded_in_safe_mode(model_file, monkeypatch):
    import keras

    calls = []
    original = keras.saving.load_model

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(keras.saving, "load_model", spy)
    webapp.create_app({"MODEL_PATH": str(model_file)})
    assert calls and all(call.get("safe_mode") is True for call in calls)


def test_a_model_with_code_in_it_is_refused(tmp_path):
    """A Lambda layer is Python bytecode: safe mode refuses to deserialise it."""
    import keras

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Lambda(lambda x: x * 2),
                              keras.layers.Dense(3, activation="softmax")])
    path = tmp_path / "lambda.keras"
    model.save(path)
    path.with_suffix(".json").write_text(json.dumps({"classes": ["a", "b", "c"]}))
    with pytest.raises(ModelError, match="cannot be loaded"):
        webapp.create_app({"MODEL_PATH": str(path)})


def _corrupt(kind: str, directory: Path, good: Path) -> Path:
    path = directory / f"{kind}.keras"
    meta = json.loads(good.with_suffix(".json").read_text())
    if kind == "random-bytes":
        path.write_bytes(np.random.default_rng(1).bytes(5000))
    elif kind == "truncated-archive":
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "garbage-inside-archive":
        import zipfile

        with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w") as target:
            for item in source.infolist():
                target.writestr(item, b"{not json" if item.filename.endswith(".json")
                                else source.read(item))
    elif kind == "metadata-not-json":
        path.write_bytes(good.read_bytes())
    path.with_suffix(".json").write_text(
        "{classes: [" if kind == "metadata-not-json" else json.dumps(meta))
    return path


@pytest.mark.parametrize("kind", ["random-bytes", "truncated-archive",
                                  "garbage-inside-archive", "metadata-not-json"])
def test_a_corrupt_model_stops_the_server_with_one_clear_line(tmp_path, model_file, kind):
    corrupt = _corrupt(kind, tmp_path, model_file)
    env = {**os.environ, "SKETCHBOOK_MODEL": str(corrupt)}
    result = subprocess.run([sys.executable, "app.py", "--port", str(free_port())], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode != 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("sketchbook: cannot start:") and corrupt.stem in lines[0]
    assert len(lines[0]) < 1000


@pytest.mark.parametrize("exported", [True, False], ids=["gunicorn", "waitress"])
def test_python_app_py_keeps_a_large_upload_in_memory(request, exported, tmp_path):
    """``python app.py`` serves a LiteRT model from gunicorn workers, and a model that needs
    TensorFlow from one waitress process (which would spool bodies over 512 kB to a temporary
    file unless told otherwise). Either way a drawing being received is never on disk: checked
    on the open files of every server process while a 3 MB body arrives."""
    model = request.getfixturevalue("exported_model_file" if exported else "model_file")
    body = api_json({"image": data_url(cat_png()) + "A" * 3_000_000}).body
    with ProductionServer(model, tmp_path / "server.log") as server:
        pids = server.pids(expected=1 + server.workers if exported else 1)
        assert len(pids) == (1 + server.workers if exported else 1), pids
        if not exported:
            assert "serving from one process" in server.log()
        known = {pid: set(open_files(pid)) for pid in pids}
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
            sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\nConnection: close\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body[:2_000_000])
            time.sleep(1.0)  # the server reads what was sent; the rest is still to come
            during = {name for pid in pids for name in set(open_files(pid)) - known[pid]}
            sock.sendall(body[2_000_000:])
            response = http.client.HTTPResponse(sock, method="POST")
            response.begin()
            assert response.status < 500  # read in full and answered
            response.read()
    assert not [name for name in during if not name.startswith(("socket:", "pipe:",
                                                                 "anon_inode:"))], during


def test_every_worker_of_the_production_server_answers(server):
    """Guesses are CPU work under Python's interpreter lock: the production server forks
    worker processes (here 2), and requests arriving together are shared between them."""
    workers = server.pids(expected=1 + server.workers)[1:]
    assert len(workers) == server.workers
    valid = valid_requests()[1]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: send(server.port, valid), range(64)))
    for reply in replies:
        check_valid(reply, valid)
    time.sleep(0.5)  # let the server's stderr reach the file
    answered_by = set(re.findall(r"\[(\d+)\] sketchbook POST /api/predict 200", server.log()))
    assert answered_by == {str(pid) for pid in workers}, (answered_by, workers)


def test_a_client_that_sends_nothing_or_stops_halfway_is_cut_off(exported_model_file,
                                                                  tmp_path):
    """Each server process answers one connection at a time, so one that sends nothing (a
    browser's unused preconnection) or stops in the middle of its drawing must not keep the
    process from others. With both processes held by such connections, a valid request is
    still answered, once they are cut off after --client-timeout: the silent one closed with
    one line in the log, the stalled one told that its drawing did not arrive in full. No
    traceback. (Without the deadline, gunicorn's watchdog would free the processes after 30
    s, and the valid request would fail on its 10 s socket timeout.)"""
    valid = valid_requests()[1]
    with ProductionServer(exported_model_file, tmp_path / "server.log", workers=2,
                          options=("--client-timeout", "1")) as server:
        silent = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        halfway = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        halfway.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 9000\r\n\r\n"
                        b'{"image": "data:image/png;base64,iVBOR')
        check_valid(send(server.port, valid), valid)
        with silent:
            assert silent.recv(1024) == b"", "the silent connection got an answer"
        with halfway:
            response = http.client.HTTPResponse(halfway, method="POST")
            response.begin()
            answer = json.loads(response.read())
        time.sleep(0.5)  # let the server's stderr reach the file
        log = server.log()
    assert response.status == 400
    assert answer == {"error": webapp.INCOMPLETE}
    assert log.count("closed a connection that sent no whole request within 1 s") == 1, log
    assert "Traceback" not in log, log
