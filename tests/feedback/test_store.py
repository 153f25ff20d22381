"""``feedback.Store`` on a real SQLite file and a real PostgreSQL server, the same tests on
both: saving, listing, counting, deleting; four processes writing at once; the rate limit and
the cap across processes; the schema Alembic builds is the one the code uses."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, func, select

import quickdraw
from feedback import Rejected, Store, Unavailable, parse_drawing, simplify
from feedback import store as store_module
from feedback.config import database_url
from feedback.migrate import head
from feedback.schema import metadata, rate_hits, taught
from sketch_model.facts import PIXELS
from sketch_model.imaging.render import as_points, render_quickdraw
from testkit.postgres import DRAWING, write_at_once

pytestmark = pytest.mark.timeout(300)
MODEL = dict(model="animals", model_sha256="ab" * 32)


def save(store, drawing=DRAWING, label="giraffe", guess="camel", confidence=0.61,
         client="192.0.2.1", **model):
    return store.save(drawing=drawing, label=label, guess=guess, confidence=confidence,
                      client=client, **{**MODEL, **model})


def rows(url: str) -> int:
    engine = create_engine(database_url(url, None))
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(taught)).scalar()
    finally:
        engine.dispose()


def test_save_list_stats_delete(db_url):
    with Store.open(db_url) as store:
        assert store.stats() == {} and store.list() == []
        drawing = simplify(parse_drawing([[[10, 200, 390], [300, 20, 300]], [[90], [200]]]))
        before = datetime.now(timezone.utc)
        first = save(store, drawing=drawing)
        assert first.id.isdigit() and len(first.id) == 16
        assert (first.label, first.guess, first.confidence, first.recognized) == \
            ("giraffe", "camel", 0.61, False)
        assert (first.model, first.model_sha256, first.drawing) == \
            ("animals", "ab" * 32, drawing)
        assert first.created.tzinfo == timezone.utc
        assert before - timedelta(seconds=1) <= first.created <= datetime.now(timezone.utc)
        right = save(store, label="camel", guess="camel", confidence=None, client="192.0.2.2")
        assert right.recognized and right.confidence is None
        third = save(store, label="sea turtle", guess="fish", client="192.0.2.3")

        assert store.stats() == {"camel": 1, "giraffe": 1, "sea turtle": 1}
        assert [t.id for t in store.list()] == [third.id, right.id, first.id]
        assert [t.id for t in store.list(limit=2)] == [third.id, right.id]
        assert store.list()[2] == first  # read back exactly as saved
        with pytest.raises(ValueError):
            store.list(0)

        assert store.delete(right.id) is True
        assert store.delete(right.id) is False
        assert store.delete("no such id") is False
        assert store.stats() == {"giraffe": 1, "sea turtle": 1}
    with Store.open(db_url) as again:  # reopening finds the rows
        assert [t.id for t in again.list()] == [third.id, first.id]


def test_the_bitmap_beside_the_strokes_is_the_datasets_rendering(db_url):
    with Store.open(db_url) as store:
        taught_ = save(store)
    engine = create_engine(database_url(db_url, None))
    with engine.connect() as connection:
        strokes, bitmap = connection.execute(select(taught.c.strokes, taught.c.bitmap)).one()
    engine.dispose()
    assert json.loads(strokes) == taught_.drawing == DRAWING
    assert len(bitmap) == PIXELS
    expected = render_quickdraw(as_points(DRAWING)).reshape(-1)
    assert np.array_equal(np.frombuffer(bitmap, dtype=np.uint8), expected)
    assert 0 < expected.mean() < 255


def test_save_takes_only_simplified_drawings(db_url):
    with Store.open(db_url) as store:
        for bad in ([], [[[0, 300], [0, 1]]], [[[0.5, 1], [0, 1]]], [[[0, 1], [0]]], "x"):
            with pytest.raises(ValueError):
                save(store, drawing=bad)
        assert store.stats() == {}


def test_four_processes_fifty_saves_each_lose_nothing(db_url):
    """Four processes open the same new database at once (its schema made by one of them)
    and save 50 drawings each as fast as they can: 200 rows, none lost, none twice."""
    outcomes = write_at_once(db_url, processes=4, saves=50, rate=1000)
    saved = [row_id for outcome in outcomes for row_id in outcome.saved]
    assert [o.refused for o in outcomes] == [[]] * 4
    assert len(saved) == len(set(saved)) == 200
    assert rows(db_url) == 200
    with Store.open(db_url) as store:
        assert store.stats() == {"cat": 200}
        assert sorted(t.id for t in store.list(limit=500)) == sorted(saved)


def test_the_rate_limit_holds_across_processes(db_url):
    """Two processes, one client address, 5 saves a minute: 5 saved in all, the rest 429."""
    outcomes = write_at_once(db_url, processes=2, saves=10, same_client=True, rate=5)
    assert sum(len(o.saved) for o in outcomes) == 5
    assert sorted(s for o in outcomes for s in o.refused) == [429] * 15
    assert rows(db_url) == 5


def test_the_cap_holds_across_processes(db_url):
    """Four processes, different addresses, a cap of 30 rows: 30 saved, the rest 503."""
    outcomes = write_at_once(db_url, processes=4, saves=15, rate=1000, cap=30)
    assert sum(len(o.saved) for o in outcomes) == 30
    assert sorted(s for o in outcomes for s in o.refused) == [503] * 30
    assert rows(db_url) == 30


def test_rate_limit_and_cap_say_so_in_a_sentence(db_url, monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr(store_module, "_now", lambda: clock[0])
    with Store.open(db_url, rate=2, cap=4, secret=b"k") as store:
        save(store, client="192.0.2.9")
        clock[0] += 20
        save(store, client="192.0.2.9")
        clock[0] += 10
        with pytest.raises(Rejected) as refused:
            save(store, client="192.0.2.9")
        assert refused.value.status == 429 and refused.value.retry_after == 30
        assert str(refused.value) == ("You have taught me 2 drawings in the last minute, as "
                                      "many as I take: please wait 30 seconds before teaching "
                                      "me another.")
        save(store, client="192.0.2.10")  # another address is not held back
        clock[0] += 31  # the first save is a minute old
        save(store, client="192.0.2.9")
        with pytest.raises(Unavailable) as full:
            save(store, client="192.0.2.11")
        assert full.value.status == 503
        assert str(full.value) == ("Your drawing was not kept: I already hold 4 taught "
                                   "drawings, as many as I may.")
        assert store.stats() == {"giraffe": 4}


def test_rate_rows_hold_a_keyed_hash_for_a_minute_only(db_url, monkeypatch):
    clock = [2_000_000.0]
    monkeypatch.setattr(store_module, "_now", lambda: clock[0])
    engine = create_engine(database_url(db_url, None))

    def hits():
        with engine.connect() as connection:
            return connection.execute(select(rate_hits.c.client, rate_hits.c.at)).all()

    with Store.open(db_url, secret=b"one key") as store:
        save(store, client="203.0.113.77")
        clock[0] += 30
        save(store, client="203.0.113.78")
        (first, _), (second, _) = hits()
        assert len(first) == 64 and int(first, 16) >= 0 and first != second
        assert "203.0.113" not in first + second
        clock[0] += 31  # the first is older than a minute: the next save deletes it
        save(store, client="203.0.113.79")
        assert [client for client, _ in hits()][0] == second and len(hits()) == 2
        clock[0] += 61
    assert hits() == []  # closing deleted the rest
    # The same address hashes alike with the same key, and differently with another.
    with Store.open(db_url, secret=b"one key") as store:
        save(store, client="203.0.113.77")
        assert hits()[0][0] == first
    clock[0] += 61
    with Store.open(db_url, secret=b"another key") as store:
        save(store, client="203.0.113.77")
        assert hits()[0][0] != first
    engine.dispose()


def test_the_schema_is_the_one_the_migrations_build(db_url):
    Store.open(db_url).close()
    engine = create_engine(database_url(db_url, None))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == head()
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_a_label_as_long_as_the_longest_name_and_unicode_survive(db_url):
    with Store.open(db_url) as store:
        long_name = max(quickdraw.categories(), key=len)
        taught_ = save(store, label=long_name, guess="unsure", model="mödel ✏", confidence=1.0)
        assert store.list()[0] == taught_
        assert Counter(store.stats()) == Counter({long_name: 1})
