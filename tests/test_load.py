"""Load on loopback: 32 clients at once against the production server, valid and bad mixed.

Behaviour, not timing: every request gets the answer it would get alone (no 5xx ever), no
connection is dropped or left hanging (10 s socket timeout), and the server still answers
afterwards. Throughput, latency percentiles and memory over a longer run are figures printed
by ``python -m benchmarks.soak``, which reuses ``mixed_requests`` and ``run_clients``.
"""

from __future__ import annotations

import collections
import random
import re
import threading
import time
from dataclasses import dataclass

import pytest

from tests.test_hostile import (BATTERY, TIMEOUT, ProductionServer, Req, check_valid,
                                make_tiny_model, report, send, valid_requests)

CLIENTS = 32
PER_CLIENT = 20
ACCESS_LINE = re.compile(r"sketchbook\W+(\S+) (\S+(?:\.\.\.\[\d+ chars\])?) (\d{3}) \d+\.\dms$",
                         re.MULTILINE)
SERVER_CASES = {case.name for case in BATTERY if case.by_server}


@dataclass(frozen=True)
class Job:
    name: str
    request: Req
    status: int  # the answer it gets when sent alone


@dataclass
class Outcome:
    job: Job
    status: int | None  # None: no HTTP answer at all
    seconds: float
    failure: str = ""  # the exception when the connection failed


def mixed_requests(count: int, seed: int = 0, valid_share: float = 0.5) -> list[Job]:
    """``count`` requests: about ``valid_share`` valid drawings, the rest from the battery.

    Bad requests whose body is over 1 MB (the size-limit cases) are picked a tenth as often,
    so that the mix is mostly what a busy site sees; each still occurs in a long run.
    """
    rng = random.Random(seed)
    valid = [Job(f"valid/{name}", request, 200)
             for name, request in zip(("form", "json", "raw"), valid_requests())]
    bad = [Job(case.name, case.request, case.status) for case in BATTERY]
    weights = [0.1 if len(job.request.body) > 2**20 else 1.0 for job in bad]
    jobs = []
    for _ in range(count):
        if rng.random() < valid_share:
            jobs.append(rng.choice(valid))
        else:
            jobs.append(rng.choices(bad, weights)[0])
    return jobs


def run_clients(port: int, jobs: list[Job], clients: int = CLIENTS,
                timeout: float = TIMEOUT, on_progress=None) -> list[Outcome]:
    """Send ``jobs`` from ``clients`` threads at once, each its share in turn, one connection
    per request. Every request gets an Outcome; none is retried."""
    shares = [jobs[i::clients] for i in range(clients)]
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(share):
        start.wait()
        for job in share:
            began = time.perf_counter()
            try:
                reply = send(port, job.request, timeout=timeout)
                outcome = Outcome(job, reply.status, reply.seconds)
            except Exception as error:  # a dropped, refused or hanging connection
                outcome = Outcome(job, None, time.perf_counter() - began,
                                  f"{type(error).__name__}: {error}")
            with lock:
                outcomes.append(outcome)
                if on_progress is not None:
                    on_progress(len(outcomes))

    threads = [threading.Thread(target=client, args=(share,), name=f"client-{i}")
               for i, share in enumerate(shares)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.fixture(scope="module")
def load_server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("load")
    with ProductionServer(make_tiny_model(directory, export=True),
                          directory / "server.log") as server:
        yield server


def test_32_clients_mixing_valid_and_bad_requests(load_server, request):
    jobs = mixed_requests(CLIENTS * PER_CLIENT, seed=1)
    assert {job.name for job in jobs} >= {"valid/form", "valid/json", "valid/raw"}
    rss_before = load_server.rss_kb()
    lines_before = len(ACCESS_LINE.findall(load_server.log()))
    began = time.perf_counter()
    outcomes = run_clients(load_server.port, jobs)
    elapsed = time.perf_counter() - began

    assert len(outcomes) == len(jobs)
    failed = [(o.job.name, o.failure) for o in outcomes if o.status is None]
    assert failed == [], f"{len(failed)} connections failed: {failed[:5]}"
    server_errors = [(o.job.name, o.status) for o in outcomes if o.status >= 500]
    assert server_errors == []
    wrong = [(o.job.name, o.status, o.job.status) for o in outcomes
             if o.status != o.job.status]
    assert wrong == [], wrong[:10]

    assert load_server.alive()
    for valid in valid_requests():
        check_valid(send(load_server.port, valid), valid)
    time.sleep(0.5)  # let the server's log reach its file
    log = load_server.log()
    assert "Traceback" not in log
    lines = ACCESS_LINE.findall(log)
    assert not [line for line in lines if line[2].startswith("5")]
    # one line per request the app answered (the server answers a few itself, unlogged)
    by_app = sum(1 for o in outcomes if o.job.name not in SERVER_CASES)
    assert len(lines) - lines_before == by_app + len(valid_requests())
    statuses = collections.Counter(o.status for o in outcomes)
    report(request.config,
           f"load: {len(outcomes)} requests from {CLIENTS} clients in {elapsed:.1f} s, "
           f"statuses {dict(sorted(statuses.items()))}, slowest "
           f"{max(o.seconds for o in outcomes) * 1000:.0f} ms, server RSS "
           f"{rss_before // 1024} -> {load_server.rss_kb() // 1024} MB")
