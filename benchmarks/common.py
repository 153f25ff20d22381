"""What the benchmark scripts share: the typical drawing as the page sends it, percentiles, a
plain table, the machine, /proc readings and one ``POST /api/predict``.

The production server and the drawings come from ``testkit``, as the tests use them.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import subprocess
import sys
import threading
from importlib import metadata
from pathlib import Path

import numpy as np

from testkit.drawings import cat_png, data_url, page_png
from testkit.paths import REPO

RESULTS = Path(__file__).resolve().parent / "results"


def sent_png(canvas: int = 400) -> bytes:
    """The typical drawing (``testkit.drawings.cat_png``) as the app's page sends it: an 8-bit
    greyscale PNG (draw.js)."""
    return page_png(cat_png(canvas))


def api_body(canvas: int = 400, model: str | None = None) -> bytes:
    """The JSON body of a typical ``POST /api/predict``, as the app's page sends it (to the
    served model named ``model``, else the default)."""
    body = {"image": data_url(sent_png(canvas))}
    if model is not None:
        body["model"] = model
    return json.dumps(body).encode()


def percentiles(seconds) -> tuple[float, float, float]:
    """p50, p95, p99 in milliseconds."""
    values = np.percentile(np.asarray(seconds) * 1000.0, [50, 95, 99])
    return tuple(round(float(v), 3) for v in values)


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


class MemorySampler(threading.Thread):
    """The highest ``field`` of ``proc_memory`` (VmRSS, RssAnon...) of each process, in MB,
    sampled every ``interval`` seconds."""

    def __init__(self, pids: list[int], interval: float = 0.05, field: str = "VmRSS"):
        super().__init__(daemon=True)
        self.pids, self.interval, self.field = pids, interval, field
        self.peaks = dict.fromkeys(pids, 0.0)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            for pid in self.pids:
                self.peaks[pid] = max(self.peaks[pid], proc_memory(pid).get(self.field, 0.0))
            self.stopped.wait(self.interval)

    def stop(self) -> dict[int, float]:
        self.stopped.set()
        self.join()
        return self.peaks


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a live process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# --- talking to the server -----------------------------------------------------------

def post_predict(connection: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
    """One ``POST /api/predict`` on ``connection`` (reopened if the server closed it): status
    and body."""
    connection.request("POST", "/api/predict", body=body,
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, response.read()


def is_prediction(status: int, body: bytes) -> bool:
    """A 200 carrying the JSON answer of ARCHITECTURE.md (label and ranking at least)."""
    if status != 200:
        return False
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return isinstance(answer, dict) and "label" in answer and "ranking" in answer
