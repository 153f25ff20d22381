"""Hostile clients: the battery of bad requests (``testkit.hostile``), sent in-process and to
the production server.

Every bad request must get a 4xx with a sentence for a person, and the server must answer the
next, valid request. The battery runs twice: through Flask's test client, and as raw bytes over
a socket to the production command (``python app.py``: gunicorn workers forked from the process
that loaded the model), so that addresses and headers far too long meet the real server.
Nothing here asserts on time (project rule): a hang fails on a socket timeout instead, and the
slowest answer is reported at the end of the run.
"""

import re
import struct
import time

import pytest

from testkit.hostile import (
    MARKER,
    Req,
    bad_images,
    battery,
    check_bad,
    check_valid,
    send,
    through_client,
    valid_requests,
)
from web.hardening import SECURITY_HEADERS

BATTERY = battery()
IN_PROCESS = [c for c in BATTERY if not c.real_only]
LATENCIES: dict[str, list[float]] = {"test client": [], "production server": []}


@pytest.fixture(scope="module", autouse=True)
def latency_report(report):
    """Not an assertion (no timed assertions): the slowest bad-request answer, reported."""
    yield
    for transport, seconds in LATENCIES.items():
        if seconds:
            report(f"hostile battery via {transport}: {len(seconds)} bad requests, slowest "
                   f"answer {max(seconds) * 1000:.0f} ms")


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
def test_bad_request_in_process(client, case):
    reply = through_client(client, case.request)
    LATENCIES["test client"].append(reply.seconds)
    check_bad(case, reply)
    for name, value in SECURITY_HEADERS.items():
        assert reply.headers.get(name) == value, name
    valid = valid_requests()[1]
    check_valid(through_client(client, valid), valid)


@pytest.mark.parametrize("case", BATTERY, ids=[c.name for c in BATTERY])
def test_bad_request_on_the_production_server(production_server, case):
    reply = send(production_server.port, case.request)
    LATENCIES["production server"].append(reply.seconds)
    check_bad(case, reply, real=True)
    for valid in valid_requests():
        check_valid(send(production_server.port, valid), valid)


def test_the_production_server_logs_one_short_line_per_request(production_server):
    """After the battery: the server's log has request lines, short, without client data."""
    send(production_server.port, Req("GET", "/healthz"))
    time.sleep(0.5)  # let the server's stderr reach the file
    log = production_server.log()
    assert re.search(r"GET /healthz 200 \d+\.\dms", log), log[-2000:]
    assert MARKER not in log
    assert "base64" not in log and "Traceback" not in log
    assert max(len(line) for line in log.splitlines()) < 400
