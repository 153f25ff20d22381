"""How long one guess takes inside the server process: decode, preprocess, model.

    python -m benchmarks.inprocess [--runs 2000] [--canvas 400] [--profile]

Times ``to_bitmap`` + ``Classifier.classify`` on a typical drawing (a cat drawn with an 8 px
pen on a 400x400 canvas) as the app's page sends it (8-bit grey PNG) and as a canvas exports
it (RGBA PNG, what other clients may send), split into its stages, with the model the way the
app serves it
(its LiteRT export, int8). Beside it, the same model in TensorFlow: the ``.keras`` file through a
compiled function of fixed signature, and through ``model.predict`` (same input: the drawing and
its mirror image, averaged, as ``classify`` does), to show what each step saves. Before timing,
it checks that the staged path gives the bitmap ``to_bitmap`` gives, that both TensorFlow calls
give the same probabilities, and that the export gives the same answer with probabilities within
``sketch_model.training.litert.TOLERANCE``. ``--profile`` adds a cProfile of the public path: the
functions that cost the most, and the time per library.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time

import numpy as np

from benchmarks.common import percentiles, print_table, quiet_tensorflow, sent_png
from sketch_model.facts import as_batch, mirrored
from sketch_model.imaging.png import read_ink
from sketch_model.imaging.restroke import restroke, to_bitmap
from sketch_model.training.litert import TOLERANCE
from testkit.drawings import cat_png

WARMUP = 50
STAGES = ("decode PNG", "preprocess", "model (classify)")
CANVAS = " as a canvas exports it (RGBA)"  # the stages' names for that picture end with this


def staged(classifier, png: bytes):
    """The public path cut at its stage boundaries; returns (seconds per stage, bitmap)."""
    t0 = time.perf_counter()
    ink = read_ink(png)
    t1 = time.perf_counter()
    bitmap = restroke(ink)
    t2 = time.perf_counter()
    classifier.classify(bitmap)
    t3 = time.perf_counter()
    return (t1 - t0, t2 - t1, t3 - t2), bitmap


def predict_same_input(model, bitmap: np.ndarray) -> np.ndarray:
    """What ``classify`` computes, through ``model.predict``: the drawing and its mirror."""
    x = as_batch(bitmap)
    batch = np.concatenate([x, mirrored(x)])
    return model.predict(batch, verbose=0).mean(axis=0)


def direct_call(runtime, bitmap: np.ndarray) -> np.ndarray:
    """The model alone, through a runtime's single-drawing call."""
    return runtime.single(as_batch(bitmap))


def profile(classifier, png: bytes, runs: int, top: int = 15) -> dict:
    """cProfile of ``classify(to_bitmap(png))``: top functions by own time, time per library."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        classifier.classify(to_bitmap(png))
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(entry[2] for entry in stats.stats.values())  # own ("tottime") seconds
    buckets: dict[str, float] = {}
    functions = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
        bucket = _library(filename, name)
        buckets[bucket] = buckets.get(bucket, 0.0) + own
        functions.append((own, cumulative, calls, _short(filename, line, name)))
    functions.sort(reverse=True)
    print(f"\ncProfile of to_bitmap + classify, {runs} runs "
          f"({total / runs * 1000:.2f} ms a run with the profiler's own overhead)")
    print_table(["where (own time)", "ms/run", "share"],
                [(name, seconds / runs * 1000, f"{seconds / total:.0%}")
                 for name, seconds in sorted(buckets.items(), key=lambda kv: -kv[1])])
    print()
    print_table(["function", "calls/run", "own ms/run", "cum ms/run"],
                [(name, round(calls / runs, 1), own / runs * 1000, cumulative / runs * 1000)
                 for own, cumulative, calls, name in functions[:top]])
    return {"runs": runs, "ms_per_run": round(total / runs * 1000, 3),
            "own_ms_per_run_by_library": {k: round(v / runs * 1000, 3)
                                          for k, v in buckets.items()},
            "top_functions": [{"function": name, "calls_per_run": round(calls / runs, 2),
                               "own_ms": round(own / runs * 1000, 3),
                               "cumulative_ms": round(cumulative / runs * 1000, 3)}
                              for own, cumulative, calls, name in functions[:top]]}


def _library(filename: str, name: str) -> str:
    if "TFE_Py_Execute" in name:
        return "TensorFlow graph execution (C++)"
    if "spng_decode" in name:
        return "PNG decode (libspng C)"
    if "ImagingDecoder" in name:
        return "PNG decode (Pillow C)"
    if "ImagingCore" in name:
        return "Pillow C (resize, channels)"
    if "distanceTransform" in name or "dilate" in name:
        return "OpenCV C++ (distance transform, max filter)"
    for marker, label in (("/tensorflow/", "TensorFlow Python (tf.function call overhead)"),
                          ("/keras/", "Keras Python"), ("/PIL/", "Pillow Python"),
                          ("/numpy/", "numpy Python"),
                          ("sketch_model/imaging/", "sketch_model.imaging"),
                          ("sketch_model/inference/", "sketch_model.inference")):
        if marker in filename:
            return label
    if filename == "~":
        return "numpy/builtin C calls" if "numpy" in name or "method" in name else \
            "other built-ins"
    return "other Python"


def _short(filename: str, line: int, name: str) -> str:
    if filename == "~":
        return name
    parts = filename.replace("\\", "/").split("/")
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1:]
    return f"{'/'.join(parts[-2:])}:{line}({name})"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000, help="timed runs (default 2000)")
    parser.add_argument("--predict-runs", type=int, default=300,
                        help="timed runs of the TensorFlow calls (default 300)")
    parser.add_argument("--canvas", type=int, default=400)
    parser.add_argument("--model", default=None)
    parser.add_argument("--profile", action="store_true", help="add a cProfile breakdown")
    parser.add_argument("--profile-runs", type=int, default=500)
    args = parser.parse_args(argv)

    quiet_tensorflow()
    from sketch_model.inference.classifier import load_classifier

    started = time.perf_counter()
    classifier = load_classifier(args.model)  # as the app loads it
    load_seconds = time.perf_counter() - started
    keras = load_classifier(args.model, runtime="keras").runtime
    pictures = {"": sent_png(args.canvas), CANVAS: cat_png(args.canvas)}
    png = pictures[""]

    # Correctness first: the staged path is the public path, both pictures are the same
    # drawing, and all model calls agree.
    _, bitmap = staged(classifier, png)
    if not all(np.array_equal(bitmap, to_bitmap(p)) for p in pictures.values()):
        raise AssertionError("staged preprocessing differs from to_bitmap(): fix the benchmark")
    served = direct_call(classifier.runtime, bitmap)
    compiled = direct_call(keras, bitmap)
    if float(np.abs(predict_same_input(keras.model, bitmap) - compiled).max()) > 1e-4:
        raise AssertionError("model.predict and the compiled function disagree")
    difference = float(np.abs(compiled - served).max())  # the export may be int8
    if difference > TOLERANCE or compiled.argmax() != served.argmax():
        raise AssertionError(f"the served export strays from the Keras model by {difference}")

    stages = {name + suffix: [] for suffix in pictures
              for name in (*STAGES, "total (sum of stages)", "to_bitmap + classify")}
    for run in range(args.runs + WARMUP):  # staged and public runs take turns: same conditions
        for suffix, picture in pictures.items():
            seconds, _ = staged(classifier, picture)
            t0 = time.perf_counter()
            classifier.classify(to_bitmap(picture))  # the public API, as the app calls it
            t1 = time.perf_counter()
            if run >= WARMUP:
                for name, value in zip((*STAGES, "total (sum of stages)",
                                        "to_bitmap + classify"),
                                       (*seconds, sum(seconds), t1 - t0)):
                    stages[name + suffix].append(value)
    calls = {f"model only: {classifier.runtime.name} (served)":
             lambda: direct_call(classifier.runtime, bitmap),
             "model only: keras compiled function": lambda: direct_call(keras, bitmap),
             "model only: keras model.predict": lambda: predict_same_input(keras.model, bitmap)}
    timings = {name: [] for name in calls}
    for run in range(min(args.runs, args.predict_runs) + 10):  # interleaved: same conditions
        for name, call in calls.items():
            t0 = time.perf_counter()
            call()
            if run >= 10:
                timings[name].append(time.perf_counter() - t0)
    stages.update(timings)
    served, compiled, predict = timings.values()

    rows = [(name, len(times), *percentiles(times), round(float(np.mean(times)) * 1000, 3))
            for name, times in stages.items()]
    print(f"In-process, a {args.canvas}x{args.canvas} drawing as the page sends it (8-bit grey "
          f"PNG, {len(png)} bytes) and{CANVAS} ({len(pictures[CANVAS])} bytes), {args.runs} "
          f"runs after {WARMUP} warm-up runs (model loaded in {load_seconds:.1f} s)")
    print_table(["stage", "runs", "p50 ms", "p95 ms", "p99 ms", "mean ms"], rows)
    saved = percentiles(predict)[0] - percentiles(served)[0]
    print(f"model.predict vs the served call: {saved:.2f} ms more at p50 "
          f"({percentiles(predict)[0] / max(percentiles(served)[0], 1e-9):.0f}x); the Keras "
          f"compiled function: {percentiles(compiled)[0] - percentiles(served)[0]:.2f} ms more; "
          f"same answer ({classifier.metadata.get('litert', {}).get('quantization', 'float32')} "
          f"export: probabilities {difference:.1e} apart at most)")
    result = {
        "canvas": args.canvas, "png_bytes": len(png), "canvas_png_bytes": len(pictures[CANVAS]),
        "runs": args.runs, "warmup": WARMUP,
        "model": str(classifier.path), "runtime": classifier.runtime.name,
        "model_load_seconds": round(load_seconds, 2),
        "runtimes_max_difference": difference,
        "stages": {name: {"runs": len(times),
                          **dict(zip(("p50", "p95", "p99"), percentiles(times))),
                          "mean": round(float(np.mean(times)) * 1000, 3)}
                   for name, times in stages.items()},
        "predict_minus_served_p50_ms": round(saved, 3),
    }
    if args.profile:
        result["profile"] = profile(classifier, png, args.profile_runs)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
