"""Soak the production server on loopback: many mixed requests from 32 clients at once.

    python -m benchmarks.soak [--quick] [--requests 5000] [--clients 32] [--model PATH]

Starts ``python app.py`` (the production command: gunicorn, one worker process more than
cores) on a free 127.0.0.1 port (the shipped model unless --model), warms it up, then sends
valid drawings and the bad requests of ``testkit.hostile`` (about half each), every request
on its own connection, and prints: requests per second, the status counts, latency
percentiles, the server's resident memory (VmRSS of its processes together) after warm-up and
at the end, and any 5xx or failed connection. Stops the server afterwards. Exit status 1 if
any answer was a 5xx or any connection failed.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from testkit.hostile import send, valid_requests
from testkit.load import CLIENTS, mixed_requests, run_clients
from testkit.server import ProductionServer


def _percentiles(seconds) -> str:
    if not len(seconds):
        return "-"
    p50, p95, p99 = np.percentile(np.asarray(seconds) * 1000.0, [50, 95, 99])
    return (f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, "
            f"max {max(seconds) * 1000:.1f} ms")


class _RssSampler(threading.Thread):
    """The server's VmRSS every ``every`` seconds, to report the peak."""

    def __init__(self, server: ProductionServer, every: float = 0.5):
        super().__init__(name="rss-sampler", daemon=True)
        self.server, self.every = server, every
        self.samples: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            try:
                self.samples.append(self.server.rss_kb())
            except (OSError, AttributeError):
                return


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1000 requests instead of 5000")
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--warmup", type=int, default=None,
                        help="requests sent before the first memory reading "
                             "(default: a fifth of --requests, at most 500)")
    parser.add_argument("--model", default=None, help="model file (default: the shipped one)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    total = args.requests or (1000 if args.quick else 5000)
    warmup = args.warmup if args.warmup is not None else min(500, total // 5)

    with tempfile.TemporaryDirectory(prefix="sketchbook-soak-") as scratch:
        log_path = Path(scratch) / "server.log"
        server = ProductionServer(args.model, log_path, workers=None)
        started = time.perf_counter()
        with server:
            print(f"{' '.join(server.command()[1:])} (model: {args.model or 'shipped'}) "
                  f"serving after {time.perf_counter() - started:.1f} s, "
                  f"RSS {server.rss_kb() / 1024:.0f} MB", flush=True)
            for valid in valid_requests():  # the model must answer before we measure
                reply = send(server.port, valid)
                if reply.status != 200:
                    print(f"a valid request got {reply.status}: {reply.text[:300]}")
                    return 1
            warm = run_clients(server.port, mixed_requests(warmup, seed=args.seed + 1),
                               clients=args.clients)
            rss_warm = server.rss_kb()
            sampler = _RssSampler(server)
            sampler.start()
            jobs = mixed_requests(total, seed=args.seed)
            checkpoints = {total * step // 10 for step in range(1, 11)}
            trajectory: list[tuple[int, int]] = []

            def progress(done: int) -> None:
                if done in checkpoints:
                    trajectory.append((done, server.rss_kb()))

            began = time.perf_counter()
            outcomes = run_clients(server.port, jobs, clients=args.clients,
                                   on_progress=progress)
            elapsed = time.perf_counter() - began
            sampler.done.set()
            sampler.join()
            time.sleep(0.5)
            rss_end = server.rss_kb()
            alive = server.alive()
            log = server.log()

    statuses = collections.Counter(o.status for o in outcomes)
    failed = [o for o in outcomes if o.status is None]
    server_errors = [o for o in outcomes if o.status is not None and o.status >= 500]
    unexpected = [o for o in outcomes if o.status is not None and o.status != o.job.status]
    valid_seconds = [o.seconds for o in outcomes if o.job.name.startswith("valid/")]
    bad_seconds = [o.seconds for o in outcomes if not o.job.name.startswith("valid/")]
    warm_failed = sum(1 for o in warm if o.status is None or o.status >= 500)

    print()
    print(f"requests        {len(outcomes)} from {args.clients} clients "
          f"(+{len(warm)} warm-up, {warm_failed} of them failed or 5xx)")
    print(f"throughput      {len(outcomes) / elapsed:.1f} requests/s over {elapsed:.1f} s")
    counts = ", ".join(f"{status or 'no answer'}: {n}" for status, n in
                       sorted(statuses.items(), key=lambda item: item[0] or 0))
    print(f"statuses        {counts}")
    print(f"5xx             {len(server_errors)}")
    print(f"failed conns    {len(failed)}")
    print(f"not as alone    {len(unexpected)}")
    print(f"latency all     {_percentiles([o.seconds for o in outcomes])}")
    print(f"latency valid   {_percentiles(valid_seconds)}")
    print(f"latency bad     {_percentiles(bad_seconds)}")
    print(f"server RSS      after warm-up {rss_warm / 1024:.1f} MB, end {rss_end / 1024:.1f} MB, "
          f"difference {(rss_end - rss_warm) / 1024:+.1f} MB, peak "
          f"{max(sampler.samples or [rss_end]) / 1024:.1f} MB")
    print("RSS by progress " + ", ".join(f"{done}: {rss / 1024:.0f}" for done, rss in trajectory)
          + " MB")
    print(f"server          {'still serving' if alive else 'DIED'}; log: "
          f"{log.count(chr(10))} lines, {'a Traceback' if 'Traceback' in log else 'no Traceback'}")
    for outcome in (failed + server_errors + unexpected)[:10]:
        print(f"  {outcome.job.name}: {outcome.status} (expected {outcome.job.status}) "
              f"{outcome.failure}")
    return 1 if failed or server_errors or not alive else 0


if __name__ == "__main__":
    sys.exit(main())
