"""What "why a dog?" costs inside the server process, for each served model.

    python -m benchmarks.explain [--runs 300]

For each model the app serves (both shipped ones by default): ``explain`` (the occlusion heat
map through the LiteRT export, and the gallery's nearest drawings of every class) on the
typical drawing (a cat drawn with an 8 px pen on a 400x400 canvas, as the page sends it) and on
50 real drawings (the gallery's, mirrored and shifted a pixel: the cost is measured here, not
the answer); then the server time of a whole results page
(``POST /predict`` through Flask's test client: decode, preprocess, answer, explanation,
pictures, template) and of ``POST /api/predict`` without ``explain``, interleaved so that both
run under the same conditions.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.common import percentiles, print_table, quiet_tensorflow, sent_png

WARMUP = 20


def timed(call, runs: int) -> list[float]:
    for _ in range(WARMUP):
        call()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def real_drawings(gallery, count: int) -> list[np.ndarray]:
    """``count`` of the gallery's drawings, mirrored and shifted a pixel."""
    if gallery is None:
        return []
    rows = np.random.default_rng(0).choice(len(gallery.bitmaps), count, replace=False)
    return [np.roll(gallery.bitmaps[row][:, ::-1], 1, axis=1) for row in rows]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args(argv)

    quiet_tensorflow()
    from sketch_model.imaging.restroke import to_bitmap
    from sketch_model.inference.explain import explain
    from testkit.drawings import data_url
    from web import create_app

    app = create_app({"TESTING": True})
    client = app.test_client()
    png = sent_png(400)
    form = {"url": data_url(png)}
    figures = {}
    rows = []
    for name, served in app.extensions["models"].items():
        classifier, gallery = served.classifier, served.gallery
        bitmap = to_bitmap(png)
        typical = timed(lambda: explain(classifier, gallery, bitmap,
                                        classifier.classify(bitmap)), args.runs)
        drawings = real_drawings(gallery, 50)
        real = []
        for index in range(args.runs):
            drawing = drawings[index % len(drawings)] if drawings else bitmap
            started = time.perf_counter()
            explain(classifier, gallery, drawing, classifier.classify(drawing))
            real.append(time.perf_counter() - started)
        page, api = [], []
        for index in range(args.runs + WARMUP):  # interleaved: the same conditions
            started = time.perf_counter()
            answer = client.post(f"/predict?model={name}", data=form)
            middle = time.perf_counter()
            plain = client.post("/api/predict", json={"image": form["url"], "model": name})
            ended = time.perf_counter()
            if answer.status_code != 200 or plain.status_code != 200:
                raise RuntimeError(f"{name}: the app answered {answer.status_code}, "
                                   f"{plain.status_code}")
            if index >= WARMUP:
                page.append(middle - started)
                api.append(ended - middle)
        figures[name] = {"explain_typical": percentiles(typical),
                         "explain_real": percentiles(real),
                         "results_page": percentiles(page), "api_predict": percentiles(api),
                         "gallery": gallery is not None}
        for label, times in (("explain, typical drawing", typical),
                             ("explain, real drawings", real),
                             ("results page (POST /predict)", page),
                             ("POST /api/predict, no explain", api)):
            rows.append((name, label, len(times), *percentiles(times)))
    print(f"In-process cost of the explanation and of the results page, {args.runs} runs each")
    print_table(["model", "what", "runs", "p50 ms", "p95 ms", "p99 ms"], rows)
    return {"runs": args.runs, "models": figures}


if __name__ == "__main__":
    main()
