"""Training: wall time and peak memory to train the default model, per epoch and in total.

    python -m benchmarks.training [--quick]

Runs ``python -m sketch_model.train`` as a subprocess: the README's command for the shipped
model (``--recipe animals``), with ``--out`` and ``--cache`` in a temporary folder (the shipped
model is never touched); ``--quick`` trains the same recipe on a few drawings of each category
for two epochs instead. Data come from ``$QUICKDRAW_SOURCE`` and ``$QUICKDRAW_STROKES_SOURCE``,
else the four folders of ``../shared`` (``quickdraw`` and ``quickdraw-more``, and their strokes) beside the repository.

Per epoch: the seconds Keras reports, the wall time between the lines it prints (epoch start to
its summary line, validation included) and the trainer's peak RSS so far (VmHWM). In total:
wall time from start to exit, split into set-up and data, fitting, and evaluation and saving,
and the peak RSS of the process from ``os.wait4`` (its own ru_maxrss, not that of other
children of this process).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.common import print_table, proc_memory
from testkit.paths import REPO

# The shipped model, as the README trains it (minus --out and the sources, added below).
DEFAULT_MODEL = ["--recipe", "animals"]
QUICK = ["--limit", "400", "--other-limit", "20", "--stroke-limit", "5", "--scribbles", "100",
         "--epochs", "2"]
TIMEOUT = 3 * 3600

_EPOCH = re.compile(r"^Epoch (\d+)/(\d+)")
_SUMMARY = re.compile(r"^\s*\d+/\d+ - (\d+(?:\.\d+)?)s - ")


def command(quick: bool, out: Path, cache: Path) -> list[str]:
    arguments = DEFAULT_MODEL + QUICK if quick else DEFAULT_MODEL
    sources = [] if os.environ.get("QUICKDRAW_SOURCE") else [
        "--source", "../shared/quickdraw", "--source", "../shared/quickdraw-more"]
    if not os.environ.get("QUICKDRAW_STROKES_SOURCE"):
        sources += ["--strokes-source", "../shared/quickdraw-strokes",
                    "--strokes-source", "../shared/quickdraw-strokes-more"]
    return [sys.executable, "-m", "sketch_model.train", *arguments, "--out", str(out),
            *sources, "--cache", str(cache)]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=" ".join(QUICK) + " (about two minutes)")
    parser.add_argument("--show-output", action="store_true", help="echo the trainer's output")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sketchbook-train-bench-") as scratch:
        cmd = command(args.quick, Path(scratch) / "model" / "animals", Path(scratch) / "cache")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        started = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   bufsize=1)
        watchdog = threading.Timer(TIMEOUT, process.kill)
        watchdog.start()
        epochs, lines, current = [], [], None
        try:
            for line in process.stdout:
                now = time.perf_counter() - started
                lines.append(line.rstrip("\n"))
                if args.show_output:
                    print("    | " + lines[-1])
                if match := _EPOCH.match(line):
                    current = {"epoch": int(match[1]), "of": int(match[2]), "start": now}
                elif current and (match := _SUMMARY.match(line)):
                    peak = proc_memory(process.pid)
                    epochs.append({"epoch": current["epoch"],
                                   "keras_seconds": float(match[1]),
                                   "wall_seconds": round(now - current["start"], 2),
                                   "start_s": round(current["start"], 2), "end_s": round(now, 2),
                                   "peak_rss_so_far_mb": peak.get("VmHWM"),
                                   "rss_mb": peak.get("VmRSS")})
                    current = None
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        finally:
            watchdog.cancel()
            if process.returncode is None:
                process.kill()
                process.wait()
        total = time.perf_counter() - started

    if process.returncode != 0:
        raise RuntimeError(f"training failed with exit code {process.returncode}:\n"
                           + "\n".join(lines[-20:]))
    peak_mb = round(usage.ru_maxrss / 1024, 1)  # kB on Linux
    fit_start = epochs[0]["start_s"] if epochs else None
    fit_end = epochs[-1]["end_s"] if epochs else None
    reported = next((line.split(";")[0] for line in reversed(lines)
                     if line.startswith("trained in ")), "")
    print(f"Training {'(quick) ' if args.quick else ''}the default model: "
          + " ".join(cmd[1:]).replace(scratch, "$TMP"))
    print_table(["epoch", "Keras s", "wall s", "peak RSS so far MB"],
                [(e["epoch"], e["keras_seconds"], e["wall_seconds"], e["peak_rss_so_far_mb"])
                 for e in epochs])
    phases = [("set-up, data, model build", fit_start),
              ("fit (all epochs)", fit_end - fit_start if epochs else None),
              ("evaluate, tune threshold, save", total - fit_end if epochs else None),
              ("total wall", round(total, 2))]
    print()
    print_table(["phase", "seconds"], [(name, round(v, 2) if v is not None else "-")
                                       for name, v in phases])
    print(f"peak RSS of the trainer (wait4 ru_maxrss): {peak_mb} MB; it said: {reported}")
    return {"quick": args.quick, "command": " ".join(cmd[1:]).replace(scratch, "$TMP"),
            "epochs": epochs, "total_seconds": round(total, 2),
            "phases": {name: (round(v, 2) if v is not None else None) for name, v in phases},
            "mean_epoch_seconds": round(sum(e["wall_seconds"] for e in epochs) / len(epochs), 2)
            if epochs else None,
            "peak_rss_mb": peak_mb, "trainer_said": reported}


if __name__ == "__main__":
    main(sys.argv[1:])
