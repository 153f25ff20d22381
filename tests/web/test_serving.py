"""The production server itself (``python app.py``): a drawing being received is never on
disk, every worker process answers, and a client that sends nothing or stops halfway cannot
hold a process for long."""

import concurrent.futures
import http.client
import json
import re
import socket
import time

import pytest

from testkit.drawings import cat_png, data_url
from testkit.hostile import CANVAS, TIMEOUT, api_json, check_valid, send, valid_requests
from testkit.server import HOST, ProductionServer, open_files
from web.wording import INCOMPLETE


@pytest.mark.parametrize("exported", [True, False], ids=["gunicorn", "waitress"])
def test_python_app_py_keeps_a_large_upload_in_memory(request, exported, tmp_path):
    """``python app.py`` serves a LiteRT model from gunicorn workers, and a model that needs
    TensorFlow from one waitress process (which would spool bodies over 512 kB to a temporary
    file unless told otherwise). Either way a drawing being received is never on disk: checked
    on the open files of every server process while a 3 MB body arrives."""
    model = request.getfixturevalue("exported_model_file" if exported else "model_file")
    body = api_json({"image": data_url(cat_png(CANVAS)) + "A" * 3_000_000}).body
    with ProductionServer(model, tmp_path / "server.log") as server:
        pids = server.pids(expected=1 + server.workers if exported else 1)
        assert len(pids) == (1 + server.workers if exported else 1), pids
        if not exported:
            assert "serving from one process" in server.log()
        known = {pid: set(open_files(pid)) for pid in pids}
        with socket.create_connection((HOST, server.port), timeout=TIMEOUT) as sock:
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


def test_every_worker_of_the_production_server_answers(production_server):
    """Guesses are CPU work under Python's interpreter lock: the production server forks
    worker processes (here 2), and requests arriving together are shared between them."""
    server = production_server
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
        silent = socket.create_connection((HOST, server.port), timeout=TIMEOUT)
        halfway = socket.create_connection((HOST, server.port), timeout=TIMEOUT)
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
    assert answer == {"error": INCOMPLETE}
    assert log.count("closed a connection that sent no whole request within 1 s") == 1, log
    assert "Traceback" not in log, log
