"""Load on loopback: 32 clients at once against the production server, valid and bad mixed.

Behaviour, not timing: every request gets the answer it would get alone (no 5xx ever), no
connection is dropped or left hanging (10 s socket timeout), and the server still answers
afterwards. Throughput, latency percentiles and memory over a longer run are figures printed
by ``python -m benchmarks.soak``, which sends the same mix (``testkit.load``).
"""

import collections
import re
import time

from testkit.hostile import battery, check_valid, send, valid_requests
from testkit.load import CLIENTS, mixed_requests, run_clients

PER_CLIENT = 20
ACCESS_LINE = re.compile(r"sketchbook\W+(\S+) (\S+(?:\.\.\.\[\d+ chars\])?) (\d{3}) \d+\.\dms$",
                         re.MULTILINE)
SERVER_CASES = {case.name for case in battery() if case.by_server}


def test_32_clients_mixing_valid_and_bad_requests(production_server, report):
    jobs = mixed_requests(CLIENTS * PER_CLIENT, seed=1)
    assert {job.name for job in jobs} >= {"valid/form", "valid/json", "valid/raw"}
    rss_before = production_server.rss_kb()
    lines_before = len(ACCESS_LINE.findall(production_server.log()))
    began = time.perf_counter()
    outcomes = run_clients(production_server.port, jobs)
    elapsed = time.perf_counter() - began

    assert len(outcomes) == len(jobs)
    failed = [(o.job.name, o.failure) for o in outcomes if o.status is None]
    assert failed == [], f"{len(failed)} connections failed: {failed[:5]}"
    server_errors = [(o.job.name, o.status) for o in outcomes if o.status >= 500]
    assert server_errors == []
    wrong = [(o.job.name, o.status, o.job.status) for o in outcomes
             if o.status != o.job.status]
    assert wrong == [], wrong[:10]

    assert production_server.alive()
    for valid in valid_requests():
        check_valid(send(production_server.port, valid), valid)
    time.sleep(0.5)  # let the server's log reach its file
    log = production_server.log()
    assert "Traceback" not in log
    lines = ACCESS_LINE.findall(log)
    assert not [line for line in lines if line[2].startswith("5")]
    # one line per request the app answered (the server answers a few itself, unlogged)
    by_app = sum(1 for o in outcomes if o.job.name not in SERVER_CASES)
    assert len(lines) - lines_before == by_app + len(valid_requests())
    statuses = collections.Counter(o.status for o in outcomes)
    report(f"load: {len(outcomes)} requests from {CLIENTS} clients in {elapsed:.1f} s, "
           f"statuses {dict(sorted(statuses.items()))}, slowest "
           f"{max(o.seconds for o in outcomes) * 1000:.0f} ms, server RSS "
           f"{rss_before // 1024} -> {production_server.rss_kb() // 1024} MB")
