"""``POST /api/predict`` against the production server, and its memory under that load.

    python -m benchmarks.http_load [--clients 1 8 32] [--requests 200] [--client-procs 1]
                                   [--model zoo]

Starts ``python app.py`` (what ``make serve`` runs: gunicorn, one worker process more than
cores) on a free port of 127.0.0.1 (``testkit.server``), warms it up, then for each concurrency
level runs that many clients, each with its own ``http.client`` connection (the server closes
it after each answer and the client reconnects, as a browser would), sending a fixed number of
requests (the typical 400x400 cat as ``{"image": data_url}``). Clients are threads in
``--client-procs`` separate client processes (default 1; 0 = threads in this process), so
their CPU can be measured apart from the server's: on a 2-core machine the load generator
competes with the server for the same cores, and the table says how much it took.

Figures per level: requests per second (all requests / wall time from the first request sent
to the last answer), latency p50/p95/p99, errors (anything but a 200 with a JSON prediction),
CPU ms per request of the server (all its processes) and of the clients. Memory, for each
server process: VmRSS after start-up and its VmHWM (peak RSS) after all the load, read from
/proc/<pid>/status, plus the highest VmRSS sampled every 50 ms during the load; and the
processes' Pss together (shared pages counted once), the memory the server really takes.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import resource
import sys
import threading
import time

from benchmarks.common import (
    MemorySampler,
    api_body,
    is_prediction,
    percentiles,
    post_predict,
    print_table,
    proc_cpu_seconds,
    proc_memory,
)
from testkit.server import HOST, ProductionServer

TIMEOUT = 30.0  # seconds for any one request
WARMUP_REQUESTS = 30  # sequential requests before anything is timed (first calls are slower)


# --- clients ------------------------------------------------------------------------------

def _client(port: int, body: bytes, requests: int, ready: threading.Barrier, go,
            out: list) -> None:
    """One client: its own connection, ``requests`` timed POSTs."""
    latencies, errors, first_error = [], 0, None
    connection = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
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
              server_pids: list[int]) -> dict:
    """One concurrency level: ``clients`` clients x ``requests`` requests each."""
    if procs <= 0:
        go, ready, holder = threading.Event(), threading.Event(), {}
        runner = threading.Thread(target=lambda: holder.update(
            result=_run_clients(port, body, clients, requests, go, ready.set)))
        runner.start()
        if not ready.wait(60):
            raise RuntimeError("client threads did not get ready")
        server_cpu0 = cpu_seconds(server_pids)
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
        server_cpu0 = cpu_seconds(server_pids)
        go.set()
        parts = [results.get(timeout=TIMEOUT * requests + 60) for _ in workers]
        for worker in workers:
            worker.join(timeout=10)
    server_cpu = cpu_seconds(server_pids) - server_cpu0
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


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far, together."""
    return sum(proc_cpu_seconds(pid) or 0.0 for pid in pids)


# --- the benchmark ------------------------------------------------------------------------

def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=200,
                        help="requests per client at each level (default 200)")
    parser.add_argument("--client-procs", type=int, default=1,
                        help="client processes (default 1; 0 = threads in this process)")
    parser.add_argument("--workers", type=int, default=None,
                        help="server worker processes (default: python app.py's, one more "
                             "than the cores)")
    parser.add_argument("--canvas", type=int, default=400)
    parser.add_argument("--model", default=None,
                        help="the served model the requests ask for (default: the default)")
    args = parser.parse_args(argv)

    body = api_body(args.canvas, args.model)
    server = ProductionServer(workers=args.workers)
    try:
        server.launch()
        listening = server.wait_listening()
        connection = http.client.HTTPConnection(HOST, server.port, timeout=TIMEOUT)
        for _ in range(WARMUP_REQUESTS):
            status, answer = post_predict(connection, body)
            if not is_prediction(status, answer):
                raise RuntimeError(f"warm-up request failed: HTTP {status} {answer[:300]!r}")
        connection.close()
        pids = server.pids()  # every worker has booted by now: each has answered or idled
        after_warmup = {pid: proc_memory(pid) for pid in pids}
        sampler = MemorySampler(pids)
        sampler.start()
        levels = []
        for clients in args.clients:
            levels.append(run_level(server.port, body, clients, args.requests,
                                    min(args.client_procs, clients), pids))
        sampled_peaks = sampler.stop()
        final = {pid: proc_memory(pid) for pid in pids}
        log_bytes = server.log_bytes()
        alive = server.alive()
    finally:
        server.stop()

    workers = len(pids) - 1 if len(pids) > 1 else 1
    print(f"HTTP POST /api/predict, python app.py: {workers} worker process(es), "
          f"{len(body)} byte JSON body, {args.requests} requests per "
          f"client, clients in {args.client_procs or 'this'} process(es); server listening "
          f"after {listening:.1f} s")
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
    processes = [{"pid": pid, "role": "master" if i == 0 and len(pids) > 1 else "worker",
                  "after_warmup_rss_mb": after_warmup[pid].get("VmRSS"),
                  "peak_sampled_rss_mb": sampled_peaks[pid] or None,
                  "peak_vmhwm_mb": final[pid].get("VmHWM"),
                  "final_rss_mb": final[pid].get("VmRSS"),
                  "final_pss_mb": final[pid].get("Pss")} for i, pid in enumerate(pids)]
    memory = {"processes": processes,
              "peak_one_process_mb": max((p["peak_vmhwm_mb"] or 0) for p in processes),
              "final_pss_total_mb": round(sum(p["final_pss_mb"] or 0 for p in processes), 1),
              "server_alive_after_load": alive,
              "log_bytes_per_request": round(log_bytes / total_requests, 1)}
    print("\nServer memory per process (/proc/<pid>/status; Pss from smaps_rollup counts pages "
          "shared with the other processes once)")
    print_table(["process", "VmRSS after warm-up", "highest VmRSS sampled", "VmHWM (peak)",
                 "VmRSS at the end", "Pss at the end"],
                [(f"{p['role']} {p['pid']}", p["after_warmup_rss_mb"], p["peak_sampled_rss_mb"],
                  p["peak_vmhwm_mb"], p["final_rss_mb"], p["final_pss_mb"])
                 for p in processes])
    print(f"Peak of one process {memory['peak_one_process_mb']} MB; all processes together "
          f"(Pss) {memory['final_pss_total_mb']} MB at the end")
    return {"server_command": "python app.py --host 127.0.0.1 --port N"
                              + (f" --workers {args.workers}" if args.workers else ""),
            "workers": workers,
            "body_bytes": len(body), "requests_per_client": args.requests,
            "client_procs": args.client_procs, "listening_seconds": round(listening, 2),
            "levels": levels, "memory": memory}


if __name__ == "__main__":
    main(sys.argv[1:])
