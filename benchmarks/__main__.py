"""Run every benchmark, print each section's table and a summary against the targets.

    python -m benchmarks            # full figures (~5 minutes plus ~25 minutes of training)
    python -m benchmarks --quick    # the same sections, small sizes: a few minutes
    python -m benchmarks --only inprocess http --skip training

Sections: inprocess (to_bitmap + classify, stage split, the served LiteRT model vs TensorFlow's
compiled call and model.predict, cProfile), explain (the explanation and the results page's
server time, per served model), http
(/api/predict on ``python app.py`` with 1, 8, 32 clients, and the server's memory), coldstart,
training, scale (streamed against in-memory training, and a run under a memory limit), soak
(``benchmarks/soak.py``, when present: called as ``main(["--quick"])`` or ``main([])``; an
int it returns is its exit status, 0 = met; a ``"summary"`` list of ``[figure, measured,
target, met]`` in a dict it returns joins the summary table).

Results go to ``benchmarks/results/latest.json`` (machine, versions, every figure) and
``benchmarks/results/latest.md`` (the table for the README, with the machine it was measured
on). These are figures, not tests: a missed speed or memory target is reported ("NO") but
the exit status is 1 only when something broke: a section failed, or a request failed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.common import (
    RESULTS,
    git_state,
    load_average,
    machine_info,
    print_table,
    quiet_tensorflow,
)

SECTIONS = ("inprocess", "explain", "http", "coldstart", "training", "scale", "soak")

# Targets of the issue on the 2-core machine.
TARGET_INPROCESS_P50_MS = 2.0
TARGET_RPS_8 = 300.0
TARGET_P95_8_MS = 30.0
TARGET_COLD_START_S = 3.0  # both shipped models (issue 28)
TARGET_SERVER_PEAK_MB = 200.0  # one server process, both models loaded (issue 28)
TARGET_EXPLAIN_P50_MS = 30.0  # issue 29
TARGET_RESULTS_PAGE_MS = 150.0  # server time of a results page with its explanation


def arguments(quick: bool) -> dict:
    """Each section's command-line arguments, full or quick."""
    if quick:
        return {"inprocess": ["--runs", "300", "--predict-runs", "50"],
                "explain": ["--runs", "50"],
                "http": ["--requests", "20"],
                "coldstart": ["--runs", "2", "--no-breakdown"],
                "training": ["--quick"],
                "scale": ["--quick"],
                "soak": ["--quick"]}
    return {"inprocess": ["--runs", "2000", "--predict-runs", "300", "--profile"],
            "explain": ["--runs", "300"],
            "http": ["--requests", "200"],
            "coldstart": ["--runs", "5"],
            "training": [],
            "scale": [],
            "soak": []}


MODULES = {"inprocess": "benchmarks.inprocess", "explain": "benchmarks.explain",
           "http": "benchmarks.http_load",
           "coldstart": "benchmarks.coldstart", "training": "benchmarks.training",
           "scale": "benchmarks.scale", "soak": "benchmarks.soak"}


def run_section(name: str, argv: list[str]) -> dict:
    module = importlib.import_module(MODULES[name])
    started = time.perf_counter()
    try:
        result = module.main(argv)
    except SystemExit as exit_:  # argparse refusing an option, say
        raise RuntimeError(f"{MODULES[name]}.main({argv}) exited with {exit_.code}") from None
    if isinstance(result, int) and not isinstance(result, bool):
        result = {"exit_status": result}  # a script's status (soak.py: 1 = a 5xx or failure)
    elif not isinstance(result, dict):
        result = {"returned": repr(result)}
    result["section_seconds"] = round(time.perf_counter() - started, 1)
    return result


def summary(sections: dict) -> list[list]:
    """Rows of figure, measured, target, met?"""
    rows = []

    def add(figure, measured, target, met):
        rows.append([figure, measured, target, "yes" if met else "NO" if met is not None
                     else "-"])

    inprocess = sections.get("inprocess")
    if inprocess and "stages" in inprocess:
        stages = inprocess["stages"]
        p50 = stages["to_bitmap + classify"]["p50"]
        add("in-process to_bitmap + classify p50", f"{p50:.2f} ms",
            f"<= {TARGET_INPROCESS_P50_MS:g} ms", p50 <= TARGET_INPROCESS_P50_MS)
        add("  p95 / p99", f"{stages['to_bitmap + classify']['p95']:.2f} / "
            f"{stages['to_bitmap + classify']['p99']:.2f} ms", "", None)
        add("  decode / preprocess / model p50",
            " / ".join(f"{stages[s]['p50']:.2f}" for s in
                       ("decode PNG", "preprocess", "model (classify)")) + " ms", "", None)
        canvas = "to_bitmap + classify as a canvas exports it (RGBA)"
        if canvas in stages:
            add("  the same drawing as a canvas's own RGBA PNG: p50; decode",
                f"{stages[canvas]['p50']:.2f} ms; "
                f"{stages['decode PNG as a canvas exports it (RGBA)']['p50']:.2f} ms", "", None)
        model_only = [name for name in stages if name.startswith("model only: ")]
        add("  model only p50: " + " / ".join(n[len("model only: "):] for n in model_only),
            " / ".join(f"{stages[n]['p50']:.2f}" for n in model_only) + " ms", "", None)
    explained = sections.get("explain")
    if explained and "models" in explained:
        for name, model in explained["models"].items():
            p50 = model["explain_typical"][0]
            add(f"explanation p50, {name} (typical / real drawings)",
                f"{p50:.1f} / {model['explain_real'][0]:.1f} ms",
                f"<= {TARGET_EXPLAIN_P50_MS:g} ms", p50 <= TARGET_EXPLAIN_P50_MS)
            page = model["results_page"][0]
            add(f"  results page server time p50, {name}; /api/predict without explain",
                f"{page:.1f} ms; {model['api_predict'][0]:.2f} ms",
                f"< {TARGET_RESULTS_PAGE_MS:g} ms", page < TARGET_RESULTS_PAGE_MS)
    http = sections.get("http")
    if http and "levels" in http:
        for level in http["levels"]:
            c = level["clients"]
            if c == 8:
                add("HTTP 8 clients req/s", f"{level['rps']:.0f}", f">= {TARGET_RPS_8:g}",
                    level["rps"] >= TARGET_RPS_8)
                add("HTTP 8 clients p95", f"{level['p95_ms']:.1f} ms", f"< {TARGET_P95_8_MS:g} ms",
                    level["p95_ms"] < TARGET_P95_8_MS)
            else:
                add(f"HTTP {c} client{'s' * (c > 1)} req/s, p95",
                    f"{level['rps']:.0f}, {level['p95_ms']:.1f} ms", "", None)
        errors = sum(level["errors"] for level in http["levels"])
        requests = sum(level["requests"] for level in http["levels"])
        add("HTTP errors", f"{errors} of {requests}", "0", errors == 0)
        peak = http["memory"].get("peak_one_process_mb")
        if peak:
            add("peak RSS (VmHWM) of one server process under load", f"{peak:.0f} MB",
                f"< {TARGET_SERVER_PEAK_MB:g} MB", peak < TARGET_SERVER_PEAK_MB)
            add(f"  all {len(http['memory']['processes'])} server processes together (Pss)",
                f"{http['memory']['final_pss_total_mb']:.0f} MB", "", None)
    cold = sections.get("coldstart")
    if cold and "median" in cold:
        seconds = cold["median"]["first_prediction_s"]
        add("cold start to first prediction (median)", f"{seconds:.2f} s",
            f"< {TARGET_COLD_START_S:g} s", seconds < TARGET_COLD_START_S)
    training = sections.get("training")
    if training and "total_seconds" in training:
        label = "training (quick)" if training.get("quick") else "training default model"
        add(f"{label}: total / per epoch", f"{training['total_seconds']:.0f} s / "
            f"{training['mean_epoch_seconds']} s x {len(training['epochs'])}", "", None)
        add(f"{label}: peak RSS", f"{training['peak_rss_mb']:.0f} MB", "", None)
    soak = sections.get("soak")
    if soak and "exit_status" in soak:
        add("soak (benchmarks/soak.py) exit status", str(soak["exit_status"]), "0",
            soak["exit_status"] == 0)
    if soak and isinstance(soak.get("summary"), list):
        for row in soak["summary"]:
            if isinstance(row, (list, tuple)) and len(row) == 4:
                add(*row[:3], {"yes": True, "no": False}.get(str(row[3]).lower(), row[3])
                    if not isinstance(row[3], bool) else row[3])
    for name, result in sections.items():
        if "error" in result:
            add(f"section {name}", "FAILED", "runs", False)
    return rows


def markdown(results: dict) -> str:
    machine = results["machine"]
    lines = [f"Measured {results['finished'][:10]} ({results['mode']} run) on "
             f"{machine['cpu']}, {machine['usable_cores']} cores, {machine['ram_gb']} GB RAM, "
             f"Python {machine['python']}, TensorFlow {machine['tensorflow']} "
             f"(load average at start {results['load_average_start']}); "
             "`make bench` to re-measure.", "",
             "| figure | measured | target | met? |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(str(cell).strip() for cell in row)} |"
              for row in results["summary"]]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, metavar="SECTION",
                        help=f"run only these sections ({', '.join(SECTIONS)})")
    parser.add_argument("--skip", nargs="+", choices=SECTIONS, default=[], metavar="SECTION")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)

    quiet_tensorflow()
    chosen = list(args.only or SECTIONS)
    if "soak" in chosen and not (Path(__file__).parent / "soak.py").exists():
        chosen.remove("soak")
    chosen = [name for name in chosen if name not in args.skip]

    machine = machine_info()
    started = datetime.now(timezone.utc)
    load_start = load_average()
    print(f"Sketchbook benchmarks ({'quick' if args.quick else 'full'}): {machine['cpu']}, "
          f"{machine['usable_cores']} cores, {machine['ram_gb']} GB RAM, Python "
          f"{machine['python']}, TensorFlow {machine['tensorflow']}; load average "
          f"{load_start}")
    if load_start and load_start[0] > 0.5 * (machine["usable_cores"] or 1):
        print("NOTE: the machine is busy (load average above half its cores): "
              "the figures will be slower and noisier than on a quiet machine.")
    sections = {}
    for name in chosen:
        print(f"\n=== {name} " + "=" * (60 - len(name)))
        sys.stdout.flush()
        try:
            sections[name] = run_section(name, arguments(args.quick)[name])
        except Exception as error:  # one broken section must not hide the others' figures
            traceback.print_exc()
            sections[name] = {"error": f"{type(error).__name__}: {error}"}

    results = {"mode": "quick" if args.quick else "full", "started": started.isoformat(),
               "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "load_average_start": load_start, "load_average_end": load_average(),
               "machine": machine, "git": git_state(), "sections": sections}
    results["summary"] = summary(sections)
    print("\n=== summary " + "=" * 53)
    print_table(["figure", "measured", "target", "met?"], results["summary"])
    print(f"load average at start {load_start}, at end {results['load_average_end']}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    table = args.out.with_suffix(".md")
    table.write_text(markdown(results))
    print(f"wrote {args.out} and {table} (the README table)")
    broken = any(row[3] == "NO" and (row[0].startswith(("section ", "soak ")) or
                                     row[0] == "HTTP errors") for row in results["summary"])
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
