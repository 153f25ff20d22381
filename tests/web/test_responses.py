"""What every response has: the security headers, no detail of a failure, and one line in the
request log that holds no client data (the path percent-encoded and cut short, so no client
can forge a log line or flood the log)."""

import logging
import re

import pytest

from testkit import drawings
from testkit.drawings import data_url
from testkit.hostile import (
    CANVAS,
    JSON,
    MARKER,
    PNG,
    Req,
    api_json,
    api_raw,
    error_sentence,
    form,
    through_client,
)
from testkit.pages import assert_error, assert_error_page

# What the pages promise browsers (ARCHITECTURE.md, "Contracts"), written out, not imported.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
DRAWING = drawings.cat_png(CANVAS)  # the battery's valid drawing


def test_unexpected_errors_are_500_without_details(client, animals, cat_png, monkeypatch,
                                                   caplog):
    def broken(bitmap):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(animals, "classify", broken)
    with caplog.at_level(logging.ERROR, logger="sketchbook"):
        api = client.post("/api/predict", json={"image": data_url(cat_png)})
        page = client.post("/predict", data={"url": data_url(cat_png)})
    message = assert_error(api, 500)
    assert "secret" not in message
    assert_error_page(page, 500)
    assert "secret" not in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == 2 and all(r.exc_info for r in logged)  # the operator sees why


def test_security_headers_on_every_response(client, cat_png):
    responses = [
        client.get("/"),
        client.get("/healthz"),
        client.get("/static/css/style.css"),
        client.get("/favicon.ico"),
        client.post("/predict", data={"url": data_url(cat_png)}),
        client.post("/predict", data={}),
        client.post("/api/predict", json={"image": data_url(cat_png)}),
        client.post("/api/predict", data="x", content_type="text/plain"),
        client.get("/api/predict"),
        client.get("/nowhere"),
    ]
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (response.request.path, name)


def test_one_log_line_per_request_without_user_data(client, cat_png, caplog):
    url = data_url(cat_png)
    with caplog.at_level(logging.INFO, logger="sketchbook"):
        client.get("/healthz")
        client.post("/api/predict", json={"image": url})
        client.post("/predict", data={"url": url})
        client.post("/api/predict", data="x", content_type="text/plain")
    lines = [r.getMessage() for r in caplog.records if r.name == "sketchbook"]
    assert len(lines) == 4
    for line, (method, path, status) in zip(lines, [("GET", "/healthz", 200),
                                                    ("POST", "/api/predict", 200),
                                                    ("POST", "/predict", 200),
                                                    ("POST", "/api/predict", 415)]):
        assert re.fullmatch(rf"{method} {re.escape(path)} {status} \d+\.\dms", line), line
    logged = caplog.text
    assert url[22:80] not in logged and "base64" not in logged


# --- what reaches the log ---------------------------------------------------------------------

ACCESS = re.compile(r"(\S{1,20}) (\S{1,200}(?:\.\.\.\[\d+ chars\])?) (\d{3}) \d+\.\dms")


@pytest.mark.parametrize("request_", [
    api_json({"image": data_url(DRAWING), "note": MARKER}),
    form({"url": data_url(DRAWING), "note": MARKER}),
    api_json({"image": "data:image/png;base64," + MARKER}),
    api_json({"image": MARKER}),
    form({"url": MARKER}),
    api_raw(MARKER.encode() * 100),
    api_raw(b"\x89PNG\r\n\x1a\n" + MARKER.encode() * 10),
    Req("POST", "/api/predict", b'{"image": "' + MARKER.encode() + b'\xff"}', JSON),
    Req("POST", "/api/predict", MARKER.encode(), (("Content-Type", "text/plain"),)),
    Req("POST", "/predict", b'{"url": "' + MARKER.encode() + b'"}', JSON),
    Req("POST", "/api/predict", DRAWING, PNG + (("X-Note", MARKER),)),
], ids=["json-ok", "form-ok", "json-bad-base64", "json-not-url", "form-not-url",
        "raw-not-png", "raw-broken-png", "json-not-utf8", "text-plain", "form-as-json",
        "header"])
def test_nothing_the_client_sends_is_logged(client, caplog, request_):
    with caplog.at_level(logging.DEBUG):
        reply = through_client(client, request_)
    records = [r for r in caplog.records if r.name.startswith("sketchbook")]
    assert len(records) == 1, [r.getMessage() for r in records]
    line = records[0].getMessage()
    matched = ACCESS.fullmatch(line)
    assert matched, line
    assert matched.group(2) == request_.target and int(matched.group(3)) == reply.status
    for record in caplog.records:  # every logger, not only ours
        text = " ".join([record.getMessage(), record.exc_text or "", repr(record.args)])
        assert MARKER not in text, text


def test_long_and_strange_paths_are_logged_short_and_on_one_line(client, caplog):
    long = "/" + "a" * 100_000 + MARKER
    targets = [long, "/api/predict/" + "b" * 5000,
               "/x%0A2024-01-01 sketchbook GET /healthz 200 1.0ms", "/%1b[31mred%00"]
    with caplog.at_level(logging.INFO, logger="sketchbook"):
        statuses = [through_client(client, Req("GET", t)).status for t in targets]
    assert statuses == [414, 404, 404, 404]
    lines = [r.getMessage() for r in caplog.records if r.name == "sketchbook"]
    assert len(lines) == len(targets)
    for line in lines:
        assert len(line) <= 300, len(line)
        assert line.isprintable() and line.isascii(), repr(line)  # no forged line, no escape
        assert ACCESS.fullmatch(line), line
    assert MARKER not in lines[0] and f"...[{len(long)} chars]" in lines[0]
    assert "%0A" in lines[2] and "%1B" in lines[3] and "%00" in lines[3]


def test_a_weird_method_is_not_echoed(client):
    reply = through_client(client, Req("FROB" + MARKER.upper().replace("-", ""),
                                       "/api/predict"))
    assert reply.status == 405
    message = error_sentence(reply, "/api/predict")
    assert "FROB" not in message
