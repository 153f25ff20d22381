"""A category read from several sources: local folders and a loopback HTTP server, bitmaps and
strokes. Its drawings are the rows of every source that has it, in the order given; the first N
overall; a source without it is skipped; none having it is the usual MissingFile. The cache
keeps one file a category and remembers which source gave what, so later requests read only
what is missing, with Range requests, from the source that has it."""

import json

import numpy as np
import pytest

import quickdraw
from quickdraw.__main__ import main as cli
from quickdraw.errors import DownloadError, MissingFile, NotNpyFile, TruncatedData
from sketch_model.facts import PIXELS
from testkit.bucket import FakeQuickDraw, npy_bytes
from testkit.bucket import random_rows as rows
from testkit.server import free_port

pytestmark = pytest.mark.timeout(60)


def stroke_lines(word: str, count: int, start: int) -> bytes:
    return "".join(json.dumps({"word": word, "countrycode": "FR",
                               "drawing": [[[0, 20 + (n % 200), 255], [0, 255, n % 250]]]})
                   + "\n" for n in range(start, start + count)).encode()


CAT_A, CAT_B = rows(50, 1), rows(30, 2)  # the two halves of one category
DOG_A = rows(20, 3)  # only in the first source
LION_B = rows(40, 4)  # only in the second
HEADER = 128  # bytes before the rows of a .npy file this small


@pytest.fixture
def folders(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, files in ((first, {"cat": CAT_A, "dog": DOG_A}),
                          (second, {"cat": CAT_B, "lion": LION_B})):
        folder.mkdir()
        for name, array in files.items():
            np.save(folder / f"{name}.npy", array)
    return [str(first), str(second)]


def test_rows_of_every_source_in_order(folders, tmp_path):
    cache = tmp_path / "cache"
    both = np.concatenate([CAT_A, CAT_B])
    assert np.array_equal(quickdraw.load("cat", source=folders, cache=cache), both)
    assert np.array_equal(quickdraw.load("cat", 60, source=folders, cache=cache), both[:60])
    assert np.array_equal(quickdraw.load("dog", source=folders, cache=cache), DOG_A)
    assert np.array_equal(quickdraw.load("lion", source=folders, cache=cache), LION_B)
    reverse = np.concatenate([CAT_B, CAT_A])
    assert np.array_equal(quickdraw.load("cat", source=folders[::-1], cache=tmp_path / "c2"),
                          reverse), "the order the sources are given in is the rows' order"


def test_first_n_across_the_boundary_reads_only_what_is_missing(folders, tmp_path):
    cache = tmp_path / "cache"
    assert np.array_equal(quickdraw.load("cat", 20, source=folders, cache=cache), CAT_A[:20])
    sidecar = json.loads((cache / "cat.json").read_text())
    assert sidecar["rows"] == 20, "one source read: the second is not even opened"
    grown = quickdraw.fetch_file("cat", 65, source=folders, cache=cache)
    assert grown.rows == 65 and grown.downloaded == 45 * PIXELS + HEADER, \
        "only rows 20..65 were read: 30 of the first source, the second's header and 15 rows"
    assert np.array_equal(quickdraw.load("cat", 65, source=folders, cache=cache),
                          np.concatenate([CAT_A, CAT_B[:15]]))
    entry = next(e for e in quickdraw.cached(cache) if e.name == "cat")
    assert entry.parts == ((folders[0], 50), (folders[1], 15)) and not entry.complete
    whole = quickdraw.fetch_file("cat", source=folders, cache=cache)
    assert whole.rows == 80 and whole.downloaded == 15 * PIXELS
    again = quickdraw.fetch_file("cat", source=folders, cache=cache)
    assert again.from_cache, "every row of both sources is cached: nothing is read again"


def test_a_source_without_the_category_is_skipped_and_remembered(folders, tmp_path):
    cache = tmp_path / "cache"
    assert quickdraw.fetch_file("lion", source=folders, cache=cache).rows == 40
    entry = next(e for e in quickdraw.cached(cache) if e.name == "lion")
    assert entry.complete and entry.parts == ((folders[0], 0), (folders[1], 40))
    assert quickdraw.fetch_file("lion", source=folders, cache=cache).from_cache


def test_a_category_no_source_has_is_missing(folders, tmp_path):
    with pytest.raises(MissingFile, match="no source has a file for 'bear'") as error:
        quickdraw.load("bear", source=folders, cache=tmp_path / "cache")
    assert folders[0] in str(error.value) and folders[1] in str(error.value)
    assert "\n" not in str(error.value)
    with pytest.raises(MissingFile, match="has no file for 'bear'"):  # one source: as before
        quickdraw.load("bear", source=folders[0], cache=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("bear*")), "nothing is left in the cache"


def test_another_list_of_sources_starts_again_or_extends(folders, tmp_path):
    cache = tmp_path / "cache"
    quickdraw.load("cat", source=folders[:1], cache=cache)  # all of the first alone
    grown = quickdraw.fetch_file("cat", source=folders, cache=cache)
    assert grown.rows == 80 and grown.downloaded == 30 * PIXELS + HEADER, \
        "the first's rows are kept"
    other = quickdraw.fetch_file("cat", source=folders[::-1], cache=cache)
    assert other.downloaded == 80 * PIXELS + 2 * HEADER, "another first source: read anew"
    assert np.array_equal(quickdraw.load("cat", source=folders[::-1], cache=cache),
                          np.concatenate([CAT_B, CAT_A]))


def test_environment_lists_sources(folders, tmp_path, monkeypatch):
    monkeypatch.setenv("QUICKDRAW_SOURCE", " ".join(folders))
    monkeypatch.setenv("QUICKDRAW_CACHE", str(tmp_path / "cache"))
    assert quickdraw.load("cat").shape == (80, PIXELS)


def test_folder_and_http_server_with_range_requests(folders, tmp_path):
    """The official bucket after a local folder: only the second source's missing rows go
    over the wire, as Range requests, and a cached file needs no request at all."""
    cache = tmp_path / "cache"
    with FakeQuickDraw({"cat": npy_bytes(CAT_B), "lion": npy_bytes(LION_B)}) as server:
        sources = [folders[0], server.url]
        assert np.array_equal(quickdraw.load("cat", 60, source=sources, cache=cache),
                              np.concatenate([CAT_A, CAT_B[:10]]))
        first = server.wait_for(1)
        assert len(first) == 1 and first[0].range == f"bytes=0-{HEADER + 10 * PIXELS - 1}"
        assert np.array_equal(quickdraw.load("cat", source=sources, cache=cache),
                              np.concatenate([CAT_A, CAT_B]))
        second = server.wait_for(2)
        assert second[1].range == f"bytes={HEADER + 10 * PIXELS}-{HEADER + 30 * PIXELS - 1}", \
            "only the rows missing"
        assert quickdraw.fetch_file("cat", source=sources, cache=cache).from_cache
        assert np.array_equal(quickdraw.load("dog", source=sources, cache=cache), DOG_A)
        assert [r.status for r in server.wait_for(3)][2] == 404, "dog: asked, absent, skipped"
        quickdraw.load("dog", source=sources, cache=cache)
        assert len(server.requests) == 3, "the absence is remembered: no request again"


def test_strokes_from_several_sources(tmp_path):
    first, second = tmp_path / "s1", tmp_path / "s2"
    first.mkdir(), second.mkdir()
    (first / "ant.ndjson").write_bytes(stroke_lines("ant", 30, 0))
    (second / "ant.ndjson").write_bytes(stroke_lines("ant", 20, 100))
    (second / "bee.ndjson").write_bytes(stroke_lines("bee", 5, 0))
    sources, cache = [str(first), str(second)], tmp_path / "cache"
    ants = quickdraw.load_strokes("ant", 40, source=sources, cache=cache)
    assert [d.strokes[0][1][2] for d in ants] == [n % 250 for n in [*range(30), *range(100, 110)]]
    grown = quickdraw.fetch_strokes("ant", source=sources, cache=cache)
    assert grown.rows == 50 and not grown.from_cache
    assert quickdraw.fetch_strokes("ant", source=sources, cache=cache).from_cache
    assert len(quickdraw.load_strokes("bee", source=sources, cache=cache)) == 5
    with pytest.raises(MissingFile, match="no source has a file for 'cow'"):
        quickdraw.load_strokes("cow", source=sources, cache=cache)


def test_strokes_over_http_after_a_folder(tmp_path):
    folder = tmp_path / "s1"
    folder.mkdir()
    (folder / "ant.ndjson").write_bytes(stroke_lines("ant", 10, 0))
    big = stroke_lines("ant", 200_000, 500)  # 17 MB: far more than socket buffers can hide
    with FakeQuickDraw({"ant": big}) as server:
        sources, cache = [str(folder), server.url], tmp_path / "cache"
        assert len(quickdraw.load_strokes("ant", 25, source=sources, cache=cache)) == 25
        first = server.wait_for(1)[0]
        assert first.sent < len(big) // 2, "15 lines were enough: the client hung up early"
        more = quickdraw.load_strokes("ant", 60, source=sources, cache=cache)
        assert [d.strokes[0][1][2] for d in more][10:] == [n % 250 for n in range(500, 550)]
        assert server.wait_for(2)[1].range.startswith("bytes="), "continued with a Range read"


def test_info_says_which_source_gave_what(folders, tmp_path, capsys):
    cache = tmp_path / "cache"
    quickdraw.fetch("cat", source=folders, cache=cache)
    quickdraw.fetch("lion", source=folders, cache=cache)
    assert cli(["info", "--cache", str(cache)]) == 0
    out = capsys.readouterr().out
    cat = next(line for line in out.splitlines() if line.startswith("cat "))
    assert f"all drawings of {folders[0]} (50) + {folders[1]} (30)" in cat
    lion = next(line for line in out.splitlines() if line.startswith("lion "))
    assert f"{folders[0]} (none) + {folders[1]} (40)" in lion


def test_cli_fetch_takes_several_sources(folders, tmp_path, capsys):
    args = ["fetch", "cat", "lion", "--source", folders[0], "--source", folders[1],
            "--cache", str(tmp_path / "cache"), "--quiet"]
    assert cli(args) == 0
    out = capsys.readouterr().out
    assert "cat: 80 drawings" in out and "lion: 40 drawings" in out


def test_the_mirror_folders_together(mirror_sources, tmp_path):
    """The real mirror: dog's rows are those of both folders, the first folder's first."""
    bitmaps, _ = mirror_sources
    folders = [str(folder) for folder in bitmaps]
    first = np.load(bitmaps[0] / "dog.npy", mmap_mode="r")
    second = np.load(bitmaps[1] / "dog.npy", mmap_mode="r")
    dogs = quickdraw.load("dog", source=folders, cache=tmp_path)
    assert len(dogs) == len(first) + len(second)
    assert np.array_equal(dogs[:len(first)], first) and np.array_equal(dogs[len(first):], second)
    assert len(quickdraw.load("lion", source=folders, cache=tmp_path)) == 975


@pytest.mark.parametrize("mode, error", [("html", NotNpyFile), ("error", DownloadError),
                                         ("truncated", TruncatedData)])
def test_a_broken_second_source_is_an_error_not_a_skip(folders, tmp_path, mode, error):
    """Only a source without the category is skipped: one that answers wrongly stops the
    fetch with its own sentence, and the cache keeps what it had."""
    cache = tmp_path / "cache"
    quickdraw.load("cat", 10, source=folders[:1], cache=cache)
    with FakeQuickDraw({"cat": npy_bytes(CAT_B)}, mode=mode) as server:
        with pytest.raises(error) as raised:
            quickdraw.load("cat", source=[folders[0], server.url], cache=cache)
    assert "\n" not in str(raised.value) and "127.0.0.1" in str(raised.value)
    kept = quickdraw.fetch_file("cat", 10, source=folders[:1], cache=cache)
    assert kept.from_cache and kept.rows == 10, "the cache holds what it held"
    assert np.array_equal(quickdraw.load("cat", 10, source=folders[:1], cache=cache),
                          CAT_A[:10])
    assert not list(cache.glob(".*.part")), "no half-written file is left"


def test_an_unreachable_second_source_is_an_error(folders, tmp_path):
    with pytest.raises(DownloadError, match="connection refused"):
        quickdraw.load("cat", source=[folders[0], f"http://127.0.0.1:{free_port()}/qd"],
                       cache=tmp_path / "cache")


def test_a_folder_that_is_not_there_is_an_error_not_a_skip(folders, tmp_path):
    """A source folder missing altogether (a mirror not mounted, a typo) is a mistake: it is
    never taken for a source that lacks the category, nor remembered as one."""
    cache = tmp_path / "cache"
    with pytest.raises(MissingFile, match="does not exist"):
        quickdraw.load("cat", source=[str(tmp_path / "unmounted"), folders[1]], cache=cache)
    assert not list(cache.glob("cat*")), "nothing was cached"


def test_one_source_named_twice_is_read_once(folders, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sources = ["first", "./first/", folders[0], folders[1]]
    assert np.array_equal(quickdraw.load("cat", source=sources, cache=tmp_path / "cache"),
                          np.concatenate([CAT_A, CAT_B]))


def test_a_cached_source_file_that_is_gone_is_read_anew(folders, tmp_path):
    cache = tmp_path / "cache"
    quickdraw.load("cat", 20, source=folders, cache=cache)  # 20 of the first source's 50
    (tmp_path / "first" / "cat.npy").unlink()
    assert np.array_equal(quickdraw.load("cat", source=folders, cache=cache), CAT_B), \
        "the first source has no cat any more: the second's rows, from the start"
