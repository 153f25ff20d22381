"""``POST /api/predict`` against the production server, and its memory under that load.

    python -m benchmarks.http_load [--clients 1 8 32] [--requests 200] [--client-procs 1]

Starts ``waitress-serve --threads=8 --call app:create_app`` on a free port of 127.0.0.1
(``common.Server``), warms it up, then for each concurrency level runs that many clients, each
with its own keep-alive ``http.client`` connection, sending a fixed number of requests (the
typical 400x400 cat as ``{"image": data_url}``). Clients are threads in ``--client-procs``
separate client processes (default 1; 0 = threads in this process), so their CPU can be
measured apart from the server's: on a 2-core machine the load generator competes with the
server for the same cores, and the table says how much it took.

Figures per level: requests per second (all requests / wall time from the first request sent
to the last answer), latency p50/p95/p99, errors (anything but a 200 with a JSON prediction),
CPU ms per request of the server and of the clients. Memory: the server's VmRSS after start-up
and its VmHWM (peak RSS) after all the load, read from /proc/<pid>/status, plus the highest
VmRSS sampled every 50 ms during the load.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import resource
import sys
import threading
import time

from benchmarks.common import (Server, api_body, is_prediction, percentiles, post_predict,
                               print_table, proc_cpu_seconds, proc_memory)

TIMEOUT = 30.0  # seconds for any one request
WARMUP_REQUESTS = 30  # sequential requests before anything is timed (first calls are slower)


# --- clients ------------------------------------------------------------------------------

def _client(port: int, body: bytes, requests: int, ready: threading.Barrier, go,
            out: list) -> None:
    """One client: its own keep-alive connection, ``requests`` timed POSTs."""
    latencies, errors, first_error = [], 0, None
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        post_predict(connection, body)  # connect and warm up, untimed
    except (OSError, http.client.HTTPException):
        connection.close()
    ready.wait()
    go.wait()
    started = time.perf_counter()
    for _ in range(requests):
        t0 = time.perf_counter()
        try:
            status, answer = post_predict(connection, body)
            ok = is_prediction(status, answer)
            if not ok and first_error is None:
                first_error = f"HTTP {status}: {answer[:200]!r}"
        except (OSError, http.client.HTTPException) as error:
            ok = False
            first_error = first_error or f"{type(error).__name__}: {error}"
            connection.close()  # http.client reconnects on the next request
        latencies.append(time.perf_counter() - t0)
        errors += not ok
    out.append((latencies, errors, first_error, started, time.perf_counter()))
    connection.close()


def _run_clients(port: int, body: bytes, clients: int, requests: int, go, on_ready):
    """Run ``clients`` threads; ``on_ready()`` once all are connected and warm, then they
    start when ``go`` is set. Returns their results and this process's CPU seconds."""
    out: list = []
    ready = threading.Barrier(clients + 1)
    threads = [threading.Thread(target=_client, args=(port, body, requests, ready, go, out),
                                daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()  # every connection is open and warm
    before = resource.getrusage(resource.RUSAGE_SELF)
    on_ready()
    for thread in threads:
        thread.join()
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, cpu


def _client_process(port, body, clients, requests, go, ready_count, results) -> None:
    def on_ready():
        with ready_count.get_lock():
            ready_count.value += 1

    out, cpu = _run_clients(port, body, clients, requests, go, on_ready)
    results.put((out, cpu))


def run_level(port: int, body: bytes, clients: int, requests: int, procs: int,
              server_pid: int) -> dict:
    """One concurrency level: ``clients`` clients x ``requests`` requests each."""
    if procs <= 0:
        go, ready, holder = threading.Event(), threading.Event(), {}
        runner = threading.Thread(target=lambda: holder.update(
            result=_run_clients(port, body, clients, requests, go, ready.set)))
        runner.start()
        if not ready.wait(60):
            raise RuntimeError("client threads did not get ready")
        server_cpu0 = proc_cpu_seconds(server_pid)
        go.set()
        runner.join()
        parts = [holder["result"]]
    else:
        context = multiprocessing.get_context("spawn")  # never fork a process holding TF
        go, ready_count, results = context.Event(), context.Value("i", 0), context.Queue()
        shares = [clients // procs + (i < clients % procs) for i in range(procs)]
        workers = [context.Process(target=_client_process,
                                   args=(port, body, share, requests, go, ready_count, results),
                                   daemon=True) for share in shares if share]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 60
        while ready_count.value < len(workers):
            if time.monotonic() > deadline or not any(w.is_alive() for w in workers):
                raise RuntimeError("client processes did not get ready")
            time.sleep(0.01)
        server_cpu0 = proc_cpu_seconds(server_pid)
        go.set()
        parts = [results.get(timeout=TIMEOUT * requests + 60) for _ in workers]
        for worker in workers:
            worker.join(timeout=10)
    server_cpu = proc_cpu_seconds(server_pid) - server_cpu0
    latencies = [t for out, _ in parts for result in out for t in result[0]]
    errors = sum(result[1] for out, _ in parts for result in out)
    first_error = next((result[2] for out, _ in parts for result in out if result[2]), None)
    start = min(result[3] for out, _ in parts for result in out)
    end = max(result[4] for out, _ in parts for result in out)
    client_cpu = sum(cpu for _, cpu in parts)
    wall = end - start
    total = len(latencies)
    p50, p95, p99 = percentiles(latencies)
    return {"clients": clients, "requests": total, "errors": errors, "first_error": first_error,
            "seconds": round(wall, 3), "rps": round(total / wall, 1),
            "p50_ms": p50, "p95_ms": p95, "p99_ms": p99,
            "server_cpu_ms_per_request": round(server_cpu / total * 1000, 3),
            "server_cores_busy": round(server_cpu / wall, 2),
            "client_cpu_ms_per_request": round(client_cpu / total * 1000, 3),
            "client_cores_busy": round(client_cpu / wall, 2)}


class MemorySampler(threading.Thread):
    """The highest VmRSS of a process, sampled every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, proc_memory(self.pid).get("VmRSS", 0.0))
            self.stopped.wait(self.interval)

    def stop(self) -> float:
        self.stopped.set()
        self.join()
        return self.peak


# --- the benchmark ------------------------------------------------------------------------

def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=200,
                        help="requests per client at each level (default 200)")
    parser.add_argument("--client-procs", type=int, default=1,
                        help="client processes (default 1; 0 = threads in this process)")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads (default 8)")
    parser.add_argument("--canvas", type=int, default=400)
    args = parser.parse_args(argv)

    body = api_body(args.canvas)
    with Server(threads=args.threads) as server:
        listening = server.wait_listening()
        after_start = proc_memory(server.pid)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
        for _ in range(WARMUP_REQUESTS):
            status, answer = post_predict(connection, body)
            if not is_prediction(status, answer):
                raise RuntimeError(f"warm-up request failed: HTTP {status} {answer[:300]!r}")
        connection.close()
        after_warmup = proc_memory(server.pid)
        sampler = MemorySampler(server.pid)
        sampler.start()
        levels = []
        for clients in args.clients:
            levels.append(run_level(server.port, body, clients, args.requests,
                                    min(args.client_procs, clients), server.pid))
        sampled_peak = sampler.stop()
        final = proc_memory(server.pid)
        log_bytes = server.log_bytes()
        alive = server.process.poll() is None

    print(f"HTTP POST /api/predict, waitress --threads={args.threads}, {len(body)} byte JSON "
          f"body, {args.requests} requests per client, clients in "
          f"{args.client_procs or 'this'} process(es); server listening after "
          f"{listening:.1f} s")
    print_table(["clients", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms",
                 "server CPU ms/req", "server cores", "client CPU ms/req", "client cores"],
                [(lv["clients"], lv["requests"], lv["errors"], lv["rps"], lv["p50_ms"],
                  lv["p95_ms"], lv["p99_ms"], lv["server_cpu_ms_per_request"],
                  lv["server_cores_busy"], lv["client_cpu_ms_per_request"],
                  lv["client_cores_busy"]) for lv in levels])
    for level in levels:
        if level["first_error"]:
            print(f"  {level['clients']} clients, first error: {level['first_error']}")
    total_requests = sum(lv["requests"] for lv in levels) + WARMUP_REQUESTS
    memory = {"after_start_mb": after_start.get("VmRSS"),
              "after_warmup_mb": after_warmup.get("VmRSS"),
              "peak_sampled_rss_mb": sampled_peak or None,
              "peak_vmhwm_mb": final.get("VmHWM"), "final_rss_mb": final.get("VmRSS"),
              "final_rss_anon_mb": final.get("RssAnon"), "final_rss_file_mb": final.get("RssFile"),
              "server_alive_after_load": alive,
              "log_bytes_per_request": round(log_bytes / total_requests, 1)}
    print(f"\nServer memory (one process, /proc/{server.pid}/status)")
    print_table(["reading", "MB"],
                [("VmRSS after start-up", memory["after_start_mb"]),
                 (f"VmRSS after {WARMUP_REQUESTS} warm-up requests", memory["after_warmup_mb"]),
                 ("VmRSS, highest sample under load", memory["peak_sampled_rss_mb"]),
                 ("VmRSS at the end", memory["final_rss_mb"]),
                 ("  of which RssAnon (heap, tensors)", memory["final_rss_anon_mb"]),
                 ("  of which RssFile (shared libraries)", memory["final_rss_file_mb"]),
                 ("VmHWM (peak RSS) at the end", memory["peak_vmhwm_mb"])])
    return {"server_command": "waitress-serve --host=127.0.0.1 --port=N "
                              f"--threads={args.threads} --call app:create_app",
            "body_bytes": len(body), "requests_per_client": args.requests,
            "client_procs": args.client_procs, "listening_seconds": round(listening, 2),
            "levels": levels, "memory": memory}


if __name__ == "__main__":
    main(sys.argv[1:])
