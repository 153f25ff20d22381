"""``python -m feedback``: stats, list, delete and export in a child process, as a person runs
them, and how errors reach the terminal (one line, exit 1; a wrong command line, exit 2)."""

from __future__ import annotations

import numpy as np
import pytest

import quickdraw
from feedback import Store
from testkit.commands import assert_one_error_line as assert_error_line
from testkit.commands import run_module
from testkit.postgres import DRAWING
from testkit.server import free_port

pytestmark = pytest.mark.timeout(120)


def run(*args, timeout=60):
    """The command in a child process, with no SKETCHBOOK_ setting of the developer's."""
    return run_module("feedback", *args, unset="SKETCHBOOK_", timeout=timeout)


def assert_one_error_line(result, *words):
    assert_error_line(result, *words, quiet=True)


@pytest.fixture
def filled(sqlite_url):
    with Store.open(sqlite_url) as store:
        rows = [store.save(drawing=DRAWING, label=label, guess=guess, confidence=confidence,
                           model="animals", model_sha256="a" * 64, client=f"192.0.2.{n}")
                for n, (label, guess, confidence) in enumerate([
                    ("giraffe", "camel", 0.62), ("cat", "cat", 0.9), ("giraffe", "unsure", None)])]
    return sqlite_url, rows


def test_stats_and_list(filled):
    url, rows = filled
    stats = run("--db", url, "stats")
    assert stats.returncode == 0 and stats.stderr == ""
    assert stats.stdout.splitlines() == ["cat: 1", "giraffe: 2"]

    listed = run("--db", url, "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [rows[2].id, rows[1].id, rows[0].id]
    assert lines[1].endswith("cat  (model animals said cat, 90% sure: right)")
    assert lines[2].endswith("giraffe  (model animals said camel, 62% sure: wrong)")
    assert lines[0].endswith("giraffe  (model animals said unsure: wrong)")
    assert f"{rows[0].created:%Y-%m-%d %H:%M:%S} UTC" in lines[2]
    assert run("--db", url, "list", "--limit", "1").stdout.splitlines() == lines[:1]


def test_delete(filled):
    url, rows = filled
    deleted = run("--db", url, "delete", rows[0].id)
    assert deleted.returncode == 0 and deleted.stdout == f"deleted {rows[0].id}\n"
    assert run("--db", url, "stats").stdout.splitlines() == ["cat: 1", "giraffe: 1"]
    assert_one_error_line(run("--db", url, "delete", rows[0].id),
                          f"There is no taught drawing with the id '{rows[0].id}'.")


def test_export_makes_a_folder_the_loader_reads(filled, tmp_path):
    url, rows = filled
    out = tmp_path / "export"
    result = run("--db", url, "export", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"cat: 1 drawings in {out / 'cat'}.ndjson and .npy",
        f"giraffe: 2 drawings in {out / 'giraffe'}.ndjson and .npy"]
    assert quickdraw.load("giraffe", source=out, cache=tmp_path / "cache").shape == (2, 784)
    assert [d.key_id for d in quickdraw.load_strokes("giraffe", source=out,
                                                     cache=tmp_path / "cache")] == \
        [rows[0].id, rows[2].id]
    assert np.load(out / "cat.npy").dtype == np.uint8


def test_a_path_is_a_sqlite_file(filled):
    url, _ = filled
    assert run("--db", url.removeprefix("sqlite:///"), "stats").stdout == "cat: 1\ngiraffe: 2\n"


@pytest.mark.parametrize("db, words", [
    (f"postgresql://postgres@127.0.0.1:{free_port()}/nothing",
     "The database cannot be reached right now"),
    ("mysql://someone@somewhere/db", "is of a kind I cannot use"),
])
def test_a_bad_database_is_one_error_line(db, words):
    assert_one_error_line(run("--db", db, "stats"), words)


def test_an_unwritable_export_folder_is_one_error_line(filled, tmp_path):
    url, _ = filled
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_one_error_line(run("--db", url, "export", "--out", str(blocker / "out")),
                          "cannot write", str(blocker / "out"))


@pytest.mark.parametrize("args", [[], ["nonsense"], ["list", "--limit", "0"],
                                  ["list", "--limit", "many"], ["delete"], ["export"]])
def test_a_wrong_command_line_exits_2(args, sqlite_url):
    result = run("--db", sqlite_url, *args)
    assert result.returncode == 2 and "usage: python -m feedback" in result.stderr
    assert "Traceback" not in result.stderr
