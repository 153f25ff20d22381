"""The production server under faults: clients that send a whole oversized body before
reading still read the 413 sentence, a client that never stops is cut off at the bound, a
worker killed under load is replaced with only its own request lost, and SIGTERM lets the
requests in flight finish."""

import http.client
import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from testkit.drawings import cat_png, data_url
from testkit.server import HOST, ProductionServer, children, get
from web.limits import LINGER_BYTES, MAX_CONTENT_LENGTH

MB = 1024 * 1024
BODY = json.dumps({"image": data_url(cat_png(400))}).encode()
TOO_LARGE = f"The drawing is too large: at most {MAX_CONTENT_LENGTH // MB} MB can be sent."


@pytest.fixture(scope="module")
def one_worker(exported_model_file, tmp_path_factory):
    """``python app.py --workers 1``: a held worker would show at once."""
    log_path = tmp_path_factory.mktemp("one-worker") / "server.log"
    with ProductionServer(exported_model_file, log_path, workers=1) as running:
        yield running


def post_with_http_client(port: int, body: bytes):
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        connection.request("POST", "/api/predict", body=body,
                           headers={"Content-Type": "application/json"})
        reply = connection.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        connection.close()


def post_with_urllib(port: int, body: bytes):
    request = urllib.request.Request(f"http://{HOST}:{port}/api/predict", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("size_mb", [20, 200])
@pytest.mark.parametrize("post", [post_with_http_client, post_with_urllib],
                         ids=["http.client", "urllib"])
def test_a_body_sent_in_full_before_reading_still_gets_its_413_sentence(one_worker, post,
                                                                        size_mb):
    status, answer = post(one_worker.port, b"x" * (size_mb * MB))
    assert (status, answer) == (413, {"error": TOO_LARGE})
    assert post_with_http_client(one_worker.port, BODY)[0] == 200  # and it serves on


def test_a_client_that_never_stops_sending_is_cut_off_at_the_bound(one_worker, report):
    chunk = b"x" * MB
    sent = 0
    with socket.create_connection((HOST, one_worker.port), timeout=30) as client:
        client.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: "
                       b"application/json\r\nContent-Length: 100000000000\r\n\r\n")
        with pytest.raises(OSError):  # reset or broken pipe: the server stopped reading
            while sent < 4 * LINGER_BYTES:
                client.sendall(chunk)
                sent += len(chunk)
    report(f"endless upload cut off after {sent / MB:.0f} MB (bound {LINGER_BYTES / MB:.0f} "
           "MB + socket buffers)")
    assert sent <= LINGER_BYTES + 64 * MB
    assert post_with_http_client(one_worker.port, BODY)[0] == 200  # the one worker is free


# --- workers dying, and stopping ------------------------------------------------------------

def hammer(port: int, stop: threading.Event, outcomes: list, lock: threading.Lock) -> None:
    """Post the cat again and again until ``stop``; record each request's status (or error)."""
    while not stop.is_set():
        try:
            outcome = post_with_http_client(port, BODY)[0]
        except (OSError, http.client.HTTPException) as error:
            outcome = type(error).__name__
        with lock:
            outcomes.append(outcome)


def test_a_worker_killed_under_load_is_replaced_and_only_its_request_fails(
        exported_model_file, tmp_path, report):
    with ProductionServer(exported_model_file, tmp_path / "server.log", workers=2) as server:
        workers = server.pids(expected=3)[1:]
        stop, lock, outcomes, health = threading.Event(), threading.Lock(), [], []
        clients = [threading.Thread(target=hammer, args=(server.port, stop, outcomes, lock))
                   for _ in range(4)]
        for thread in clients:
            thread.start()
        time.sleep(1.5)
        os.kill(workers[0], signal.SIGKILL)
        killed_at = len(outcomes)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
                len(replaced := children(server.pid)) < 2 or workers[0] in replaced):
            health.append(get(server.url + "/healthz", timeout=5)[0])
            time.sleep(0.1)
        time.sleep(1.5)  # load on the new worker too
        stop.set()
        for thread in clients:
            thread.join(timeout=30)
        failed = [o for o in outcomes if o != 200]
        report(f"worker killed under load: {len(outcomes)} requests ({killed_at} before the "
               f"kill), {len(failed)} failed {failed}; /healthz {len(health)} times while "
               "it was replaced")
        assert len(children(server.pid)) == 2 and workers[0] not in children(server.pid)
        assert len(failed) <= 1  # at most the one request the killed worker was answering
        assert len(outcomes) - killed_at > 20  # and the load went on
        assert health and all(status == 200 for status in health)
        assert get(server.url + "/healthz")[0] == 200


def test_sigterm_lets_the_request_in_flight_finish(exported_model_file, tmp_path):
    server = ProductionServer(exported_model_file, tmp_path / "server.log", workers=2).start()
    try:
        with socket.create_connection((HOST, server.port), timeout=30) as client:
            client.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: "
                           b"application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY))
            half = len(BODY) // 2
            client.sendall(BODY[:half])
            time.sleep(0.5)  # a worker is reading this request now
            server.process.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            client.sendall(BODY[half:])
            reply = b""
            while chunk := client.recv(65536):
                reply += chunk
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert json.loads(body)["label"]
        assert server.process.wait(timeout=30) == 0
        with pytest.raises(OSError):  # stopped: nothing listens any more
            socket.create_connection((HOST, server.port), timeout=2).close()
    finally:
        server.stop()
