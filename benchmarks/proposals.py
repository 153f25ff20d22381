"""Proposed speed-ups for the in-process path, measured here against the code as it is.

    python -m benchmarks.proposals [--runs 1000]           # in-process, interleaved
    python -m benchmarks.proposals --http [--rounds 6]     # servers side by side, 8 clients

Nothing in ``sketch_model`` is edited: each proposal is a scratch copy of one function,
swapped in by monkeypatching inside this process only, timed interleaved with the current code
(A, B, A, B, ... so background load hits both alike) and checked to give the same answer.

1. ``classifier``: call the traced graph through its ConcreteFunction. ``Classifier.__init__``
   builds ``tf.function(..., input_signature=[...])``; calling that polymorphic function binds
   the arguments to its FunctionType and looks the trace up on every call (about 0.5 ms of
   Python per guess here). With a fixed signature there is only one trace, so keep it:

       self._single = tf.function(..., input_signature=[...]).get_concrete_function()
       # classify():
       return self.decide(self._single(tf.constant(x)).numpy()[0])

2. ``preprocess``: run the two exact distance transforms on the drawing's window, not the whole
   128x128 work frame. Both only depend on pixels near the ink: the inside distance of an ink
   pixel is found within the ink's bounding box plus a background ring, and the outside
   distance matters only where it is below ``1 + grow`` (< 4 px, see ``_restroke``). The
   windowed results are identical (checked below on 48 drawings); see ``_strokes_windowed`` and
   ``_restroke_windowed`` for the code.

3. configuration: ``TF_NUM_INTRAOP_THREADS=1`` (TensorFlow reads it at start-up) so that each
   of waitress' 8 threads runs its small graph on one core instead of all 8 requests fanning out
   over a 2-core Eigen pool; likewise ``TF_ENABLE_ONEDNN_OPTS=0``, and ``MALLOC_ARENA_MAX=2``
   (glibc gives each of the 8 request threads its own malloc arena otherwise, which costs
   resident memory). Measured over HTTP only, with each server's peak RSS after the same load.

``--http`` starts one production server per variant (``waitress-serve --threads=8 --call
app:create_app``, or ``--call benchmarks.proposals:patched_app``: the same app with proposals
1 and 2 swapped in), then runs 8 clients against each in turn, round after round, so that
background load falls on all variants alike.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import contextmanager

import numpy as np
from scipy import ndimage

from benchmarks.common import canvas_png, percentiles, print_table, quiet_tensorflow

# Outside distances above 1 + grow are clipped to 0 coverage; grow <= (1.47*4 - 1.5) / 2 < 2.2
# because the measured width is at least 1.5 work px. Eight px of margin is far beyond that.
WINDOW_PAD = 8


def ink_window(mask: np.ndarray, pad: int = WINDOW_PAD) -> tuple[slice, slice]:
    """The bounding box of ``mask`` grown by ``pad`` px, clipped to the frame."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    height, width = mask.shape
    return (slice(max(rows[0] - pad, 0), min(rows[-1] + 1 + pad, height)),
            slice(max(cols[0] - pad, 0), min(cols[-1] + 1 + pad, width)))


def _strokes_windowed(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Proposed ``preprocess._strokes``: same results, distance transform on the ink window."""
    mask = frame >= 0.35 * frame.max()
    window = ink_window(mask)
    inside = np.zeros(mask.shape)
    part = ndimage.distance_transform_edt(mask[window])
    inside[window] = part
    ridge = mask[window] & (part >= ndimage.maximum_filter(part, size=3))
    width = 2.0 * float(np.median(part[ridge])) - 0.5
    return mask, inside, width


def _restroke_windowed(mask: np.ndarray, inside: np.ndarray, width: float) -> np.ndarray:
    """Proposed ``preprocess._restroke``: the outside distance only near the ink."""
    from sketch_model.preprocess import OVERSAMPLE, STROKE_WIDTH

    grow = (STROKE_WIDTH * OVERSAMPLE - width) / 2.0
    if grow >= 0:
        window = ink_window(mask)
        cover = np.zeros(mask.shape)
        outside = ndimage.distance_transform_edt(~mask[window])
        cover[window] = np.clip(1.0 + grow - outside, 0.0, 1.0)
        return cover
    return np.clip(inside + grow, 0.0, 1.0)


@contextmanager
def windowed_preprocess():
    """Swap the proposed preprocessing functions in, for this process only."""
    from sketch_model import preprocess

    saved = preprocess._strokes, preprocess._restroke
    preprocess._strokes, preprocess._restroke = _strokes_windowed, _restroke_windowed
    try:
        yield
    finally:
        preprocess._strokes, preprocess._restroke = saved


def concrete_classify(classifier):
    """Proposed ``Classifier.classify`` for one classifier (see ``_classify_concrete``)."""
    return lambda bitmap: _classify_concrete(classifier, bitmap)


def _classify_concrete(self, bitmap: np.ndarray):
    """``Classifier.classify`` as proposed (monkeypatched onto the class in ``patched_app``)."""
    import tensorflow as tf

    concrete = self.__dict__.get("_concrete_single")
    if concrete is None:
        concrete = self._concrete_single = self._single.get_concrete_function()
    x = np.asarray(bitmap, dtype=np.float32).reshape(1, 28, 28, 1)
    return self.decide(concrete(tf.constant(x)).numpy()[0])


def patched_app():
    """``app.create_app()`` with proposals 1 and 2 in place (for ``waitress-serve --call``)."""
    import app
    from sketch_model import classifier, preprocess

    preprocess._strokes, preprocess._restroke = _strokes_windowed, _restroke_windowed
    classifier.Classifier.classify = _classify_concrete
    return app.create_app()


HTTP_VARIANTS = {
    "current": ("app:create_app", {}),
    "TF_NUM_INTRAOP_THREADS=1": ("app:create_app", {"TF_NUM_INTRAOP_THREADS": "1"}),
    "TF_ENABLE_ONEDNN_OPTS=0": ("app:create_app", {"TF_ENABLE_ONEDNN_OPTS": "0"}),
    "MALLOC_ARENA_MAX=2": ("app:create_app", {"MALLOC_ARENA_MAX": "2"}),
    "code 1+2": ("benchmarks.proposals:patched_app", {}),
    "code 1+2, TF_NUM_INTRAOP_THREADS=1": ("benchmarks.proposals:patched_app",
                                           {"TF_NUM_INTRAOP_THREADS": "1"}),
}


def http_comparison(rounds: int, clients: int, requests: int, names: list[str]) -> dict:
    """Servers side by side, ``clients`` clients against each in turn, ``rounds`` times."""
    import http.client

    from benchmarks.common import Server, api_body, is_prediction, post_predict, proc_memory
    from benchmarks.http_load import run_level

    body = api_body()
    servers = {}
    try:
        for name in names:
            factory, env = HTTP_VARIANTS[name]
            servers[name] = Server(env=env, factory=factory).start()
        for name, server in servers.items():
            server.wait_listening(timeout=180)
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            for _ in range(30):
                status, answer = post_predict(connection, body)
                if not is_prediction(status, answer):
                    raise RuntimeError(f"{name}: warm-up failed: HTTP {status} {answer[:200]!r}")
            connection.close()
        levels = {name: [] for name in servers}
        for _ in range(rounds):
            for name, server in servers.items():
                levels[name].append(run_level(server.port, body, clients, requests, 1,
                                              server.pid))
        memory = {name: proc_memory(server.pid) for name, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
    rows, result = [], {}
    for name, runs in levels.items():
        rps = float(np.median([run["rps"] for run in runs]))
        p50 = float(np.median([run["p50_ms"] for run in runs]))
        p95 = float(np.median([run["p95_ms"] for run in runs]))
        cpu = float(np.median([run["server_cpu_ms_per_request"] for run in runs]))
        errors = sum(run["errors"] for run in runs)
        peak, anon = memory[name].get("VmHWM"), memory[name].get("RssAnon")
        rows.append((name, rounds * clients * requests, errors, rps, p50, p95, cpu, peak, anon))
        result[name] = {"rps": rps, "p50_ms": p50, "p95_ms": p95, "errors": errors,
                        "server_cpu_ms_per_request": cpu, "peak_vmhwm_mb": peak,
                        "rss_anon_mb": anon, "rounds": runs}
    print(f"HTTP, {clients} clients x {requests} requests, {rounds} alternating rounds per "
          "variant (medians over rounds)")
    print_table(["variant", "requests", "errors", "req/s", "p50 ms", "p95 ms",
                 "server CPU ms/req", "VmHWM MB", "RssAnon MB"], rows)
    return result


def sample_drawings() -> list[bytes]:
    """Drawings of every animal, thin to thick pens, small to large canvases."""
    from tests.drawing import ANIMALS, render_canvas

    return [render_canvas(draw(), canvas=canvas, pen=pen, size=size)
            for draw in ANIMALS.values()
            for canvas, pen, size in ((300, 2, 0.5), (400, 8, 0.7), (800, 16, 0.9),
                                      (400, 4, 0.3), (600, 12, 0.6), (500, 3, 0.95),
                                      (400, 24, 0.8), (800, 6, 0.4))]


def check_same_bitmaps() -> int:
    """How many sample drawings the windowed preprocessing renders differently (should be 0)."""
    from sketch_model.preprocess import to_bitmap

    drawings = sample_drawings()
    before = [to_bitmap(png) for png in drawings]
    with windowed_preprocess():
        after = [to_bitmap(png) for png in drawings]
    return sum(not np.array_equal(a, b) for a, b in zip(before, after)), len(drawings)


def interleaved(variants: dict, runs: int, warmup: int = 30) -> dict:
    """Time each variant ``runs`` times, taking turns, after ``warmup`` calls each."""
    for function in variants.values():
        for _ in range(warmup):
            function()
    times = {name: [] for name in variants}
    for _ in range(runs):
        for name, function in variants.items():
            started = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - started)
    return times


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--canvas", type=int, default=400)
    parser.add_argument("--http", action="store_true", help="compare servers over HTTP instead")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=25, help="per client per round")
    parser.add_argument("--variants", nargs="+", choices=list(HTTP_VARIANTS),
                        default=list(HTTP_VARIANTS), metavar="NAME")
    args = parser.parse_args(argv)
    if args.http:
        return {"http": http_comparison(args.rounds, 8, args.requests, args.variants)}

    quiet_tensorflow()
    from sketch_model import preprocess
    from sketch_model.classifier import load_classifier

    classifier = load_classifier()
    png = canvas_png(args.canvas)
    image = preprocess.open_png(png)
    ink = preprocess._ink_layer(image)
    bitmap = preprocess.to_bitmap(png)
    different, total = check_same_bitmaps()
    proposed = concrete_classify(classifier)
    same_answer = classifier.classify(bitmap) == proposed(bitmap)

    def render_windowed():
        with windowed_preprocess():
            preprocess._render_like_quickdraw(ink)

    def both_proposals():
        with windowed_preprocess():
            proposed(preprocess.to_bitmap(png))

    times = interleaved({
        "preprocess: current": lambda: preprocess._render_like_quickdraw(ink),
        "preprocess: windowed EDT": render_windowed,
        "model: current tf.function": lambda: classifier.classify(bitmap),
        "model: ConcreteFunction": lambda: proposed(bitmap),
        "to_bitmap + classify: current": lambda: classifier.classify(preprocess.to_bitmap(png)),
        "to_bitmap + classify: both": both_proposals,
    }, args.runs)
    rows = [(name, len(t), *percentiles(t)) for name, t in times.items()]
    print(f"Proposals, interleaved, {args.runs} runs each "
          f"(windowed EDT: {different} of {total} sample bitmaps differ; "
          f"ConcreteFunction gives the same prediction: {same_answer})")
    print_table(["variant", "runs", "p50 ms", "p95 ms", "p99 ms"], rows)
    return {"bitmaps_differing": different, "bitmaps_checked": total,
            "same_prediction": bool(same_answer),
            "timings": {name: dict(zip(("p50", "p95", "p99"), percentiles(t)))
                        for name, t in times.items()}}


if __name__ == "__main__":
    main(sys.argv[1:])
