"""Many clients at once against the production server, valid drawings and bad requests mixed:
what the load test (``tests/web/test_load.py``) and ``python -m benchmarks.soak`` share.

Every request goes on its own connection (``hostile.send``) and gets an ``Outcome``: the status
it got, or the failure of its connection. None is retried.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from .hostile import TIMEOUT, Req, battery, send, valid_requests

CLIENTS = 32


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
    bad = [Job(case.name, case.request, case.status) for case in battery()]
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
