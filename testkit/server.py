"""The production server in a subprocess, as tests and benchmarks start it.

``ProductionServer`` runs ``python app.py`` (what ``make serve`` runs) on a free port of
127.0.0.1: for a model with its LiteRT export that is gunicorn, its workers forked from the
process that loaded the model; for one that needs TensorFlow, waitress in that one process. Its
log (one line a request) goes to a file, as it would in production: never to a pipe nobody
reads. Also here: what /proc says about its processes.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from .paths import REPO

HOST = "127.0.0.1"


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on (now)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def get(url: str, timeout: float = 2.0) -> tuple[int, bytes, dict]:
    """``GET url``: status, body and headers, for error statuses too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


class ProductionServer:
    """``python app.py --host 127.0.0.1 --port <free> [--workers N] [options]``.

    ``model``: its path, else $SKETCHBOOK_MODEL or the shipped one; ``workers=None``: the
    command's default, one more worker than usable cores; ``log_path``: where its output goes
    (default: a temporary file). ``start`` (and ``with``) returns once /healthz answers 200;
    ``launch`` only starts the process, for a caller that times the start itself.
    """

    def __init__(self, model: Path | str | None = None, log_path: Path | str | None = None,
                 workers: int | None = 2, options: tuple[str, ...] = (), env: dict | None = None,
                 start_timeout: float = 240.0):
        self.model, self.workers, self.options = model, workers, list(options)
        self.env = env or {}
        self.start_timeout = start_timeout
        self._scratch = None if log_path else tempfile.NamedTemporaryFile(
            prefix="sketchbook-server-", suffix=".log")
        self.log_path = Path(log_path or self._scratch.name)
        self.port = 0
        self.started = 0.0  # time.perf_counter() at launch
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        return [sys.executable, "app.py", "--host", HOST, "--port", str(self.port),
                *self.options] + (["--workers", str(self.workers)] if self.workers else [])

    def launch(self) -> "ProductionServer":
        """Start the process on a free port; do not wait for it."""
        self.port = free_port()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1", **self.env}
        if self.model is not None:
            env["SKETCHBOOK_MODEL"] = str(self.model)
        with open(self.log_path, "wb") as log:  # the child keeps its own copy of the file
            self.started = time.perf_counter()
            self.process = subprocess.Popen(self.command(), cwd=REPO, env=env,
                                            stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT)
        return self

    def start(self) -> "ProductionServer":
        """Launch, and return once it answers (RuntimeError with its log if it never does)."""
        self.launch()
        try:
            self.wait_until_answers()
        except RuntimeError:
            self.stop()
            raise
        return self

    def wait_until_answers(self, timeout: float | None = None) -> float:
        """Seconds from launch until ``GET /healthz`` answers 200 (the model is loaded)."""
        return self.wait_for(lambda: get(self.url + "/healthz", timeout=2)[0] == 200,
                             "answer /healthz", timeout)

    def wait_listening(self, timeout: float | None = None) -> float:
        """Seconds from launch until the port accepts connections."""
        def listening() -> bool:
            with socket.create_connection((HOST, self.port), timeout=1):
                return True
        return self.wait_for(listening, "accept connections", timeout)

    def wait_for(self, ready, what: str, timeout: float | None = None) -> float:
        """Seconds from launch until ``ready()`` is true, asked every 20 ms (a connection it
        cannot make yet counts as not ready); RuntimeError with the log's tail if the server
        exits or ``timeout`` (default ``start_timeout``) passes first."""
        deadline = self.started + (timeout or self.start_timeout)
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}) before it "
                                   f"would {what}:\n{self.log_tail()}")
            try:
                if ready():
                    return time.perf_counter() - self.started
            except (OSError, http.client.HTTPException):  # not up yet
                pass
            time.sleep(0.02)
        raise RuntimeError(f"the server did not {what} within "
                           f"{timeout or self.start_timeout:.0f} s:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def pids(self, expected: int = 1) -> list[int]:
        """The server's processes: the one started, then the workers it forked (waiting up to
        10 s for ``expected`` processes in all, as workers are forked one after another)."""
        deadline = time.monotonic() + 10
        while len(found := [self.pid] + children(self.pid)) < expected and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        return found

    def rss_kb(self) -> int:
        """The resident memory (VmRSS) of the server's processes together, in kB (pages the
        workers share with the process they were forked from count once for each)."""
        total = 0
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:  # gone meanwhile
                continue
            total += int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE).group(1))
        return total

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_bytes(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        if self._scratch is not None:
            self._scratch.close()

    def __enter__(self) -> "ProductionServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def children(pid: int) -> list[int]:
    """The live child processes of ``pid``."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            pass
    return sorted(found)


def open_files(pid: int) -> list[str]:
    """What the file descriptors of ``pid`` point at (paths, ``socket:[...]``, ``pipe:[...]``)."""
    files = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            files.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return files
