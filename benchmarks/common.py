"""What the benchmark scripts share: a typical drawing, percentiles, a plain table, the machine,
/proc readings and the production server as a subprocess."""

from __future__ import annotations

import base64
import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def canvas_png(canvas: int = 400) -> bytes:
    """A typical drawing as a canvas exports it (RGBA): a cat drawn with an 8 px pen, 70% of
    a transparent canvas."""
    from tests.drawing import ANIMALS, render_canvas

    return render_canvas(ANIMALS["cat"](), canvas=canvas, pen=8, size=0.7)


def sent_png(canvas: int = 400) -> bytes:
    """The same drawing as the app's page sends it: an 8-bit greyscale PNG (draw.js)."""
    from tests.drawing import page_png

    return page_png(canvas_png(canvas))


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def api_body(canvas: int = 400) -> bytes:
    """The JSON body of a typical ``POST /api/predict``, as the app's page sends it."""
    return json.dumps({"image": data_url(sent_png(canvas))}).encode()


def percentiles(seconds) -> tuple[float, float, float]:
    """p50, p95, p99 in milliseconds."""
    values = np.percentile(np.asarray(seconds) * 1000.0, [50, 95, 99])
    return tuple(round(float(v), 3) for v in values)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def print_table(header, rows) -> None:
    cells = [list(map(str, header))] + [[f"{v:.3f}" if isinstance(v, float) else str(v)
                                         for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for number, row in enumerate(cells):
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths))))
        if number == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ start-up chatter out of the figures (must run before its import)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# --- the machine --------------------------------------------------------------------------

def _version(*names: str) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def machine_info() -> dict:
    """CPU model, cores, RAM, OS and the versions that matter for the figures."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "ram_gb": ram_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow-cpu", "tensorflow"),
        "keras": _version("keras"),
        "numpy": _version("numpy"),
        "opencv": _version("opencv-python-headless"),
        "pillow": _version("pillow", "Pillow"),
        "flask": _version("flask", "Flask"),
        "gunicorn": _version("gunicorn"),
    }


def load_average() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def git_state() -> dict:
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


# --- /proc --------------------------------------------------------------------------------

def proc_memory(pid: int) -> dict:
    """VmRSS (now), VmHWM (peak so far), RssAnon (heap, tensors), RssFile (mapped files: mostly
    shared libraries, shared with other processes) and Pss (the process's fair share of the
    memory it shares with others, such as forked workers with their parent) in MB ({} once
    gone)."""
    figures = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                figures[key] = round(int(value.split()[0]) / 1024, 1)  # kB -> MB
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, value = line.partition(":")
            if key == "Pss":
                figures[key] = round(int(value.split()[0]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        return {}
    return figures


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a live process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# --- the production server ----------------------------------------------------------------

def server_command(port: int, workers: int | None = None) -> list[str]:
    """``python app.py --port N`` (what ``make serve`` runs): gunicorn, one worker process more
    than usable cores unless ``workers`` says otherwise."""
    command = [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)]
    return command + (["--workers", str(workers)] if workers else [])


class Server:
    """The production server in a subprocess, on a free port of 127.0.0.1.

    Its log (the app writes one line a request to stderr) goes to a temporary file, as it would
    go to a file or the journal in production: never to a pipe nobody reads.
    """

    def __init__(self, workers: int | None = None, env: dict | None = None):
        self.port = free_port()
        self.workers = workers
        self.env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
        self.log = tempfile.NamedTemporaryFile(prefix="sketchbook-bench-", suffix=".log")
        self.process: subprocess.Popen | None = None
        self.started = None

    def start(self) -> "Server":
        self.started = time.perf_counter()
        self.process = subprocess.Popen(server_command(self.port, self.workers),
                                        cwd=REPO, env=self.env, stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def pids(self) -> list[int]:
        """The process started, then the worker processes it forked (if any, yet)."""
        from tests.test_hostile import children

        return [self.pid] + children(self.pid)

    def wait_listening(self, timeout: float = 60.0) -> float:
        """Seconds from start until the port accepts connections."""
        deadline = self.started + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n"
                                   + self.log_tail())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return time.perf_counter() - self.started
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"server did not listen within {timeout:.0f} s:\n" + self.log_tail())

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(Path(self.log.name).read_text(errors="replace")
                             .splitlines()[-lines:])
        except OSError:
            return ""

    def log_bytes(self) -> int:
        try:
            return Path(self.log.name).stat().st_size
        except OSError:
            return 0

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def post_predict(connection: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
    """One ``POST /api/predict`` on ``connection`` (reopened if the server closed it): status
    and body."""
    connection.request("POST", "/api/predict", body=body,
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, response.read()


def is_prediction(status: int, body: bytes) -> bool:
    """A 200 carrying the JSON answer of DESIGN.md (label and ranking at least)."""
    if status != 200:
        return False
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return isinstance(answer, dict) and "label" in answer and "ranking" in answer
