"""``Store.export``: the taught drawings as a QuickDraw source folder, read back through the
project's own loader (``quickdraw.load`` and ``quickdraw.load_strokes``) as the same bitmaps
and strokes, in the official files' layout."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import numpy as np
import pytest

import quickdraw
from feedback import Store, parse_drawing, simplify
from feedback import store as store_module
from feedback.export import timestamp
from sketch_model.facts import PIXELS
from sketch_model.imaging.render import as_points, render_quickdraw

pytestmark = pytest.mark.timeout(120)
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})? UTC$")


def drawings(count: int, seed: int) -> list:
    """Simplified drawings of random canvas strokes."""
    rng = np.random.default_rng(seed)
    made = []
    for _ in range(count):
        strokes = []
        for _ in range(rng.integers(1, 5)):
            walk = np.cumsum(rng.normal(0, 8, (rng.integers(2, 40), 2)), axis=0) + 200
            strokes.append([walk[:, 0].round(1).tolist(), walk[:, 1].round(1).tolist()])
        made.append(simplify(parse_drawing(strokes)))
    return made


def test_quickdraw_timestamps():
    at = datetime(2017, 3, 8, 21, 12, 7, 266040, tzinfo=timezone.utc)
    assert timestamp(at) == "2017-03-08 21:12:07.26604 UTC"  # as in the official files
    assert timestamp(at.replace(microsecond=0)) == "2017-03-08 21:12:07 UTC"
    assert timestamp(at.replace(microsecond=5)) == "2017-03-08 21:12:07.000005 UTC"


def test_export_reads_back_through_the_loader_as_the_same_bitmaps_and_strokes(
        db_url, tmp_path, monkeypatch):
    clock = [1_488_000_000.0]

    def now():
        clock[0] += 1.25
        return clock[0]

    monkeypatch.setattr(store_module, "_now", now)
    plan = [("giraffe", "camel"), ("sea turtle", "fish"), ("giraffe", "giraffe"),
            ("cat", "cat"), ("giraffe", "dog"), ("sea turtle", "unsure")]
    saved = {}
    with Store.open(db_url, rate=100) as store:
        for (label, guess), drawing in zip(plan, drawings(len(plan), seed=4)):
            taught = store.save(drawing=drawing, label=label, guess=guess, confidence=0.5,
                                model="animals", model_sha256="f" * 64, client="192.0.2.1")
            saved.setdefault(label, []).append(taught)
        out = tmp_path / "taught"
        assert store.export(out) == {"cat": 1, "giraffe": 3, "sea turtle": 2}

    assert sorted(p.name for p in out.iterdir()) == [
        "cat.ndjson", "cat.npy", "giraffe.ndjson", "giraffe.npy", "sea turtle.ndjson",
        "sea turtle.npy"]
    cache = tmp_path / "cache"
    for label, rows in saved.items():
        expected = np.stack([render_quickdraw(as_points(t.drawing)).reshape(-1) for t in rows])
        bitmaps = quickdraw.load(label, source=out, cache=cache)
        assert bitmaps.dtype == np.uint8 and bitmaps.shape == (len(rows), PIXELS)
        assert np.array_equal(bitmaps, expected)
        assert np.array_equal(np.load(out / f"{label}.npy", allow_pickle=False), expected)

        read = quickdraw.load_strokes(label, source=out, cache=cache)
        assert [d.word for d in read] == [label] * len(rows)
        assert [[list(map(list, s)) for s in d.strokes] for d in read] == \
            [t.drawing for t in rows]
        assert [d.key_id for d in read] == [t.id for t in rows]
        assert [d.recognized for d in read] == [t.recognized for t in rows]
        assert {d.countrycode for d in read} == {"ZZ"}
        assert all(TIMESTAMP.match(d.timestamp) for d in read)
        assert [datetime.fromisoformat(d.timestamp.removesuffix(" UTC")).replace(
            tzinfo=timezone.utc) for d in read] == [t.created for t in rows]

    first = (out / "giraffe.ndjson").read_text().splitlines()[0]
    assert first.startswith('{"word":"giraffe","countrycode":"ZZ","timestamp":"2017-')
    assert list(json.loads(first)) == ["word", "countrycode", "timestamp", "recognized",
                                       "key_id", "drawing"]
    assert " " not in first.split('"drawing":')[1]


def test_export_again_after_a_delete_and_of_nothing(sqlite_url, tmp_path):
    with Store.open(sqlite_url) as store:
        assert store.export(tmp_path / "empty") == {}
        assert list((tmp_path / "empty").iterdir()) == []
        kept = [store.save(drawing=d, label="cat", guess="dog", confidence=None, model="m",
                           model_sha256="0" * 64, client=f"192.0.2.{n}")
                for n, d in enumerate(drawings(3, seed=9))]
        assert store.export(tmp_path / "out") == {"cat": 3}
        store.delete(kept[1].id)
        assert store.export(tmp_path / "out") == {"cat": 2}
    assert np.load(tmp_path / "out" / "cat.npy").shape == (2, PIXELS)
    lines = (tmp_path / "out" / "cat.ndjson").read_text().splitlines()
    assert [json.loads(line)["key_id"] for line in lines] == [kept[0].id, kept[2].id]
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []
