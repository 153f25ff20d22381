"""The hostile-request battery: bad requests of every kind, how to send them, and what a good
refusal looks like.

Every bad request must get a 4xx with a sentence for a person (``{"error": ...}`` on the API,
the error page on /predict), and the server must answer the next, valid request. A request is
a ``Req``, sent through Flask's test client (``through_client``) or as raw bytes over a socket
(``send``), so that addresses and headers far too long meet the real server; either way the
answer is a ``Reply``. ``tests/web`` runs the battery; ``testkit.load`` mixes it with valid
drawings for the load test and ``python -m benchmarks.soak``.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
import urllib.parse
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
from PIL import Image

from web.limits import MAX_CONTENT_LENGTH

from .drawings import cat_png, data_url, png_bytes
from .pages import SENTENCE
from .pngs import SIGNATURE, declared_png, encoded, long_transparency
from .server import HOST

TIMEOUT = 10.0  # seconds a socket waits: generous, so only a hang fails
MARKER = "zq-hostile-marker-7f3a9c"  # in bodies and addresses: must never reach a log
LIMIT = MAX_CONTENT_LENGTH
CANVAS = 300  # px: the valid drawing, a cat on a 300 px canvas


# --- payloads ---------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def bad_images() -> dict[str, tuple[bytes, int]]:
    """Bytes sent where a PNG is expected, and the status they must get."""
    picture = Image.new("RGB", (64, 64), "white")
    picture.paste((0, 0, 0), (10, 10, 54, 20))
    frames = [Image.new("RGBA", (40, 40), (0, 0, 0, 0)), Image.new("RGBA", (40, 40), "black")]
    wide = Image.new("LA", (10_000, 10), (0, 0))
    wide.paste((0, 255), (100, 2, 9_900, 8))
    cat = cat_png(CANVAS)
    return {
        "random-bytes": (np.random.default_rng(7).bytes(3000), 400),
        "jpeg": (encoded(picture, "JPEG"), 400),
        "gif": (encoded(picture, "GIF"), 400),
        "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999">'
                b'<circle cx="5" cy="5" r="4"/></svg>', 400),
        "truncated-png": (cat[: len(cat) // 2], 400),
        "bomb-100000x100000": (declared_png(100_000, 100_000), 413),
        "second-ihdr-bomb": (declared_png(6000, 6000, first=(64, 64), full=True), 400),
        "1x1-png": (png_bytes(Image.new("RGBA", (1, 1), (0, 0, 0, 255))), 400),
        "10000x10-png": (png_bytes(wide), 413),
        "apng": (png_bytes(frames[0], save_all=True, append_images=frames[1:]), 400),
        "trns-longer-than-palette": (long_transparency(Image.new("L", (40, 40), 255)), 400),
    }


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
    """The valid drawing sent each way: form, JSON, raw PNG."""
    url = data_url(cat_png(CANVAS))
    return [form({"url": url}), api_json({"image": url}), api_raw(cat_png(CANVAS))]


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
    add("raw/over-size-limit", api_raw(SIGNATURE + bytes(LIMIT)), 413)
    add("form/wrong-content-type", Req("POST", "/predict", api_json(
        {"url": data_url(cat_png(CANVAS))}).body, JSON), 400)
    add("json/wrong-content-type", Req("POST", "/api/predict", b"image=x",
                                       (("Content-Type", "text/plain"),)), 415)
    add("raw/wrong-content-type", Req("POST", "/api/predict", cat_png(CANVAS),
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
    lines = [f"{request.method} {request.target} HTTP/1.1", f"Host: {HOST}:{port}",
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
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
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
