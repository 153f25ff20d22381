"""Cold start: from starting the production server to its first successful prediction.

    python -m benchmarks.coldstart [--runs 3]

Each run starts ``python app.py`` (gunicorn, as ``make serve``) on a free port and polls
``POST /api/predict`` (the typical drawing) every 20 ms until a 200 with a prediction comes
back; it reports when the port first accepted a connection and when the first prediction came,
median over the runs (the OS file cache is warm after the first run, as on a restart). One more
subprocess then splits start-up into its parts (import TensorFlow, import the app, create_app
with the model load and trace, first guess) with the RSS after each, to show where the seconds
and the megabytes go.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys

from benchmarks.common import api_body, is_prediction, post_predict, print_table
from testkit.paths import REPO
from testkit.server import HOST, ProductionServer

TIMEOUT = 120.0

# Run in a fresh interpreter: where start-up time and memory go, step by step.
_BREAKDOWN = r"""
import json, os, time
t0 = time.perf_counter()
def rss():
    found = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            found[key] = round(int(value.split()[0]) / 1024, 1)
    return [found.get("VmRSS"), found.get("RssAnon")]
steps = [("interpreter", 0.0, rss())]
def step(name, since):
    steps.append((name, time.perf_counter() - since, rss()))
    return time.perf_counter()
t = time.perf_counter()
import numpy, PIL.Image, cv2
t = step("import numpy, Pillow, OpenCV", t)
import tensorflow
t = step("import tensorflow", t)
import keras
t = step("import keras", t)
import app
t = step("import app (Flask, sketch_model)", t)
flask_app = app.create_app()
t = step("create_app (load the models)", t)
from sketch_model.imaging.restroke import to_bitmap
from testkit.drawings import cat_png
png = cat_png(400)
t = time.perf_counter()
for served in flask_app.extensions["models"].values():
    served.classifier.classify(to_bitmap(png))
t = step("first to_bitmap + classify", t)
print("BREAKDOWN " + json.dumps(steps))
"""


def first_prediction(body: bytes) -> dict:
    """Start a server; seconds until it listens and until its first good prediction."""
    server = ProductionServer(workers=None, start_timeout=TIMEOUT)
    try:
        server.launch()
        listening = server.wait_listening()
        answered = server.wait_for(lambda: predicts(server.port, body), "answer a prediction")
    finally:
        server.stop()
    return {"listening_s": round(listening, 3), "first_prediction_s": round(answered, 3)}


def predicts(port: int, body: bytes) -> bool:
    """Whether one ``POST /api/predict`` of ``body`` gets a prediction."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        return is_prediction(*post_predict(connection, body))
    finally:
        connection.close()


def breakdown() -> list:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", _BREAKDOWN], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=TIMEOUT)
    for line in result.stdout.splitlines():
        if line.startswith("BREAKDOWN "):
            return json.loads(line[len("BREAKDOWN "):])
    raise RuntimeError("start-up breakdown failed:\n" + result.stderr[-2000:])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-breakdown", action="store_true")
    args = parser.parse_args(argv)

    body = api_body()
    runs = [first_prediction(body) for _ in range(args.runs)]
    median = {key: round(statistics.median(run[key] for run in runs), 3)
              for key in ("listening_s", "first_prediction_s")}
    print(f"Cold start of python app.py (gunicorn), {args.runs} runs")
    print_table(["run", "port open s", "first prediction s"],
                [(i + 1, run["listening_s"], run["first_prediction_s"])
                 for i, run in enumerate(runs)]
                + [("median", median["listening_s"], median["first_prediction_s"])])
    result = {"runs": runs, "median": median}
    if not args.no_breakdown:
        steps = breakdown()
        print("\nWhere start-up goes (one fresh interpreter, same steps as the server)")
        print_table(["step", "seconds", "RSS after, MB", "of which anon, MB"],
                    [(name, round(seconds, 3), *mb) for name, seconds, mb in steps])
        result["breakdown"] = [{"step": name, "seconds": round(seconds, 3), "rss_mb": mb[0],
                                "rss_anon_mb": mb[1]} for name, seconds, mb in steps]
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
