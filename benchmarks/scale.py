"""Training at scale: drawings per second trained, streamed against in memory, in one run; and
a streamed training whose data are larger than the memory it is allowed.

    python -m benchmarks.scale [--quick] [--skip-memory]

Throughput: the shipped recipe's bitmap categories (its classes and its bitmap "other"
categories, at its limits; the stroke categories are left out, since streaming is for bitmap
files), loaded once in memory and once streamed (``sketch_model.training.stream``). Each
pipeline feeds the same fresh network for ``STEPS`` batches after ``WARM`` warm-up batches
(the trainer's own batch size, augmentation and optimizer), and is also read alone, without
training, to show which of the two bounds the rate.

Memory: three data files built in a temporary folder from the mirror's real cat, dog and fish
drawings, repeated until they are larger than the memory limit; ``python -m sketch_model.train
--stream`` trains on them for one epoch of ``--steps-per-epoch`` steps inside a memory cgroup
with that limit (cgroup v1 or v2, needs root), then the same command without ``--stream``
under the same limit. Its peak RSS is the process's own (``wait4`` ru_maxrss). These
repeated drawings measure memory only; no accuracy is read from them.

The figures go to ``benchmarks/results/scale.json`` and are printed; the README's scaling
section projects from them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import RESULTS, MemorySampler, machine_info, print_table, quiet_tensorflow
from sketch_model.facts import PIXELS
from testkit.paths import REPO, SHARED_QUICKDRAW, SHARED_QUICKDRAW_MORE

WARM, STEPS = 20, 150  # batches before timing, and timed
QUICK_WARM, QUICK_STEPS = 5, 30
BIG_CLASSES = ("cat", "dog", "fish")
LIMIT_MB = 1536  # the memory the streamed run may use
DATA_MB = 2 * LIMIT_MB  # the data it trains on, in all


def throughput(warm: int, steps: int) -> dict:
    """Drawings per second trained and read, in memory and streamed, on the same data."""
    quiet_tensorflow()
    import keras

    from sketch_model.training import network
    from sketch_model.training.augment import augmenter
    from sketch_model.training.dataset import in_memory_batches, load_dataset, split_ids
    from sketch_model.training.recipe import Recipe, load_recipe
    from sketch_model.training.stream import load_streamed, training_batches

    shipped = load_recipe("animals")
    recipe = Recipe(classes=shipped.classes, other_bitmaps=shipped.other_bitmaps,
                    limit=shipped.limit, other_limit=shipped.other_limit, seed=shipped.seed,
                    batch_size=shipped.batch_size, name="scale-bench")
    cache = Path(tempfile.mkdtemp(prefix="sketchbook-scale-cache-"))
    try:
        sources = {"source": [str(SHARED_QUICKDRAW), str(SHARED_QUICKDRAW_MORE)],
                   "cache": cache}
        started = time.perf_counter()
        memory = load_dataset(recipe, **sources)
        load_memory = time.perf_counter() - started
        started = time.perf_counter()
        streamed = load_streamed(recipe, **sources)
        load_streamed_s = time.perf_counter() - started
        drawings = len(memory.y["train"])
        pipelines = {
            "in memory": lambda: in_memory_batches(memory, recipe, augmenter(1))[0].repeat(),
            "streamed": lambda: training_batches(streamed, batch_size=recipe.batch_size,
                                                 seed=1, augment=augmenter(1)),
        }
        results = {}
        for name, pipeline in pipelines.items():
            read = _read_rate(pipeline(), warm, steps, recipe.batch_size)
            keras.utils.set_random_seed(1)
            model = network.build(recipe.arch, len(memory.classes))
            model.compile(optimizer=keras.optimizers.Adam(1e-3),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            clock = _clock(warm)
            model.fit(pipeline(), steps_per_epoch=warm + steps, epochs=1, verbose=0,
                      callbacks=[clock])
            results[name] = {"trained_drawings_per_s": round(clock.rate(recipe.batch_size), 1),
                             "read_drawings_per_s": round(read, 1)}
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    ratio = results["streamed"]["trained_drawings_per_s"] / \
        results["in memory"]["trained_drawings_per_s"]
    rows = memory.x["train"].reshape(len(memory.y["train"]), -1)
    started = time.perf_counter()
    split_ids(rows, 1)
    hashing = len(rows) / (time.perf_counter() - started)
    return {"recipe": "animals, bitmap categories only", "training_drawings": drawings,
            "categories": len(memory.categories), "batch_size": recipe.batch_size,
            "warm_steps": warm, "timed_steps": steps,
            "load_seconds": {"in memory": round(load_memory, 1),
                             "streamed": round(load_streamed_s, 1)},
            "pipelines": results, "streamed_to_in_memory": round(ratio, 3),
            "split_ids_rows_per_s": round(hashing),
            "parameters": int(model.count_params()),
            "forward_flops_per_drawing": _forward_flops(model)}


def _read_rate(dataset, warm: int, steps: int, batch: int) -> float:
    iterator = iter(dataset)
    for _ in range(warm):
        next(iterator)
    started = time.perf_counter()
    for _ in range(steps):
        next(iterator)
    return steps * batch / (time.perf_counter() - started)


def _clock(warm: int):
    """A Keras callback that times the batches after the first ``warm``: ``rate(batch)``."""
    import keras

    class Clock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter())

        def rate(self, batch_size):
            timed = self.times[warm - 1:]
            return (len(timed) - 1) * batch_size / (timed[-1] - timed[0])

    return Clock()


def _forward_flops(model) -> int:
    """Multiply-adds x 2 of one drawing's forward pass through the convolutions and dense
    layers (what dominates; batch norm and pooling are left out)."""
    import keras

    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, out = layer.output.shape
            kernel = np.prod(layer.kernel_size) * layer.input.shape[-1]
            flops += 2 * height * width * out * kernel
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.input.shape[-1] * layer.units
    return int(flops)


def memory_bound(steps: int) -> dict:
    """A streamed run on data twice its memory limit, and the same run in memory."""
    folder = Path(tempfile.mkdtemp(prefix="sketchbook-scale-data-"))
    try:
        rows = _big_files(folder / "source", DATA_MB * 2**20 // len(BIG_CLASSES))
        runs = {}
        for name, extra in (("streamed", ["--stream", "--steps-per-epoch", str(steps)]),
                            ("in memory", [])):
            command = [sys.executable, "-m", "sketch_model.train", "--classes", *BIG_CLASSES,
                       "--limit", str(rows), "--measure-limit", "300", "--epochs", "1",
                       "--source", str(folder / "source"), "--cache", str(folder / "cache"),
                       "--out", str(folder / "model" / name.replace(" ", "-")), *extra]
            runs[name] = _limited(command, LIMIT_MB)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"data_mb": round(rows * len(BIG_CLASSES) * PIXELS / 2**20),
            "drawings": rows * len(BIG_CLASSES), "limit_mb": LIMIT_MB, "runs": runs}


def _big_files(folder: Path, size: int) -> int:
    """Write each of BIG_CLASSES as a .npy file of about ``size`` bytes of its real drawings
    repeated; return the rows of each."""
    from quickdraw.npy import build_header

    folder.mkdir(parents=True)
    rows = size // PIXELS
    for name in BIG_CLASSES:
        real = np.load(SHARED_QUICKDRAW / f"{name}.npy", mmap_mode="r")
        with open(folder / f"{name}.npy", "wb") as out:
            out.write(build_header(rows))
            left = rows
            while left:
                chunk = np.asarray(real[:min(left, len(real))])
                out.write(chunk.tobytes())
                left -= len(chunk)
    return rows


def _limited(command: list[str], limit_mb: int) -> dict:
    """Run ``command`` in a fresh memory cgroup of ``limit_mb`` (none if cgroups cannot be
    made here); its exit status, wall time, peak RSS and last line."""
    group = _memory_cgroup(limit_mb)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}

    def join():
        if group:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, preexec_fn=join)
    anonymous = MemorySampler([process.pid], 0.1, "RssAnon")  # what cannot be given back:
    anonymous.start()  # its RSS also counts the data file's pages, reclaimed under a limit
    output = process.stdout.read()
    peak = anonymous.stop()[process.pid]
    _, status, usage = os.wait4(process.pid, 0)  # its own peak, not other children's
    process.returncode = code = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if group:
        group.rmdir()
    lines = [line for line in output.splitlines() if line.strip()]
    return {"exit": code, "killed": code < 0, "seconds": round(seconds, 1),
            "limit_applied": bool(group), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "peak_anonymous_mb": round(peak),
            "said": next((line for line in reversed(lines)
                          if line.startswith(("trained in", "error"))),
                         lines[-1] if lines else "")}


def _memory_cgroup(limit_mb: int) -> Path | None:
    name = f"sketchbook-scale-{os.getpid()}-{time.monotonic_ns()}"
    limit = str(limit_mb * 2**20)
    for base, files in ((Path("/sys/fs/cgroup/memory"), ("memory.limit_in_bytes",
                                                         "memory.memsw.limit_in_bytes")),
                        (Path("/sys/fs/cgroup"), ("memory.max", "memory.swap.max"))):
        if not (base / files[0]).exists() and not (base / "cgroup.controllers").exists():
            continue
        try:
            group = base / name
            group.mkdir()
            (group / files[0]).write_text(limit)
            if (group / files[1]).exists():
                (group / files[1]).write_text(limit if files[1].startswith("memory.memsw")
                                              else "0")
            return group
        except OSError:
            continue
    print("note: no memory cgroup could be made here (needs root and cgroups); the runs are "
          "not limited, only measured", file=sys.stderr)
    return None


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_STEPS} timed steps instead of {STEPS}, no memory run")
    parser.add_argument("--skip-memory", action="store_true", help="throughput only")
    parser.add_argument("--only-memory", action="store_true",
                        help="the memory runs only (the throughput of results/scale.json kept)")
    args = parser.parse_args(argv)
    warm, steps = (QUICK_WARM, QUICK_STEPS) if args.quick else (WARM, STEPS)
    kept = RESULTS / "scale.json"
    if args.only_memory and kept.is_file():
        figures = {**json.loads(kept.read_text()), "machine": machine_info()}
    else:
        figures = {"machine": machine_info(), "throughput": throughput(warm, steps)}
    rates = figures["throughput"]["pipelines"]
    print(f"Training throughput, {figures['throughput']['training_drawings']} training "
          f"drawings of {figures['throughput']['categories']} bitmap categories, batch "
          f"{figures['throughput']['batch_size']}, {steps} timed steps:")
    print_table(["pipeline", "trained drawings/s", "read alone drawings/s"],
                [(name, r["trained_drawings_per_s"], r["read_drawings_per_s"])
                 for name, r in rates.items()])
    print(f"streamed / in memory: {figures['throughput']['streamed_to_in_memory']:.3f}; "
          f"forward pass {figures['throughput']['forward_flops_per_drawing'] / 1e6:.1f} "
          "MFLOP a drawing; split ids hashed at "
          f"{figures['throughput']['split_ids_rows_per_s']} drawings/s (once per file)")
    if not (args.quick or args.skip_memory):
        bound = figures["memory"] = memory_bound(steps)
        print(f"\nMemory: {bound['drawings']} drawings ({bound['data_mb']} MB) under a "
              f"{bound['limit_mb']} MB limit:")
        print_table(["run", "exit", "seconds", "peak anonymous MB", "peak RSS MB",
                     "limit applied"],
                    [(name, r["exit"], r["seconds"], r["peak_anonymous_mb"], r["peak_rss_mb"],
                      r["limit_applied"]) for name, r in bound["runs"].items()])
        for name, run in bound["runs"].items():
            print(f"  {name}: {run['said'][:100]}")
    if not args.quick:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "scale.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
