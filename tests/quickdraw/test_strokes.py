"""quickdraw's simplified stroke files: a local folder, a loopback HTTP server, the cache, and
every way a stroke file can be wrong.

The real stroke mirror (``../shared/quickdraw-strokes``) is used where present; the same
tests also run on files written here, so something always runs.
"""

import json
from pathlib import Path

import pytest

import quickdraw
from quickdraw.__main__ import main as cli
from quickdraw.errors import (
    EmptyDrawing,
    MalformedDrawing,
    MissingFile,
    NotStrokeFile,
    QuickDrawError,
    TruncatedData,
    WrongCategory,
)
from testkit.bucket import FakeQuickDraw
from testkit.paths import SHARED_STROKES

pytestmark = pytest.mark.timeout(60)


def drawing_line(word: str, number: int, **change) -> str:
    """One line of a simplified file: a zigzag whose shape depends on ``number``."""
    xs = [0, 60 + number % 90, 120, 255]
    ys = [10, 200, 30 + number % 50, 120]
    record = {"word": word, "countrycode": "FR", "timestamp": "2017-03-01 10:00:00.0 UTC",
              "recognized": number % 3 != 0, "key_id": str(4000000000000000 + number),
              "drawing": [[xs, ys], [[5, 9], [250, 255]]]}
    record.update(change)
    return json.dumps(record, separators=(",", ":"))


def stroke_file(word: str, count: int) -> bytes:
    return "".join(drawing_line(word, n) + "\n" for n in range(count)).encode()


ANT = stroke_file("ant", 400)  # ~64 kB: several chunks, so early hang-ups can be seen
SEA = stroke_file("sea turtle", 30)



@pytest.fixture
def server():
    with FakeQuickDraw({"ant": ANT, "sea turtle": SEA}) as fake:
        yield fake


@pytest.fixture(params=["shared-mirror", "written-here"])
def folder(request, tmp_path):
    """The real stroke mirror when present, and always a folder written by the test."""
    if request.param == "shared-mirror" and (SHARED_STROKES / "ant.ndjson").is_file():
        return SHARED_STROKES
    written = tmp_path / "strokes"
    written.mkdir()
    (written / "ant.ndjson").write_bytes(stroke_file("ant", 25))
    return written


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- a local folder ---------------------------------------------------------------------------

def test_first_n_drawings_of_a_local_file_then_more_then_all(folder, tmp_path):
    expected = lines_of(folder / "ant.ndjson")
    first = quickdraw.load_strokes("ant", 10, source=folder, cache=tmp_path / "c")
    assert [d.key_id for d in first] == [line["key_id"] for line in expected[:10]]
    assert [[list(map(list, s)) for s in d.strokes] for d in first] == \
        [line["drawing"] for line in expected[:10]]
    assert all(d.word == "ant" for d in first)
    assert first[0].countrycode == expected[0]["countrycode"]
    assert first[0].recognized == expected[0]["recognized"]
    cached = tmp_path / "c" / "simplified" / "ant.ndjson"
    assert cached.read_text().count("\n") == 10
    more = quickdraw.load_strokes("ant", 20, source=folder, cache=tmp_path / "c")
    assert [d.key_id for d in more] == [line["key_id"] for line in expected[:20]]
    everything = quickdraw.load_strokes("ant", source=folder, cache=tmp_path / "c")
    assert len(everything) == len(expected)
    assert cached.read_bytes() == (folder / "ant.ndjson").read_bytes()
    sidecar = json.loads(cached.with_suffix(".json").read_text())
    assert sidecar["complete"] is True and sidecar["lines"] == len(expected)


def test_relative_folder_file_url_and_environment(folder, tmp_path, monkeypatch):
    monkeypatch.chdir(folder.parent)
    relative = quickdraw.load_strokes("ant", 3, source=folder.name, cache=tmp_path / "a")
    by_url = quickdraw.load_strokes("ant", 3, source=folder.as_uri(), cache=tmp_path / "b")
    monkeypatch.setenv("QUICKDRAW_STROKES_SOURCE", str(folder))
    monkeypatch.setenv("QUICKDRAW_CACHE", str(tmp_path / "env"))
    from_env = quickdraw.load_strokes("ant", 3)
    assert relative == by_url == from_env
    assert (tmp_path / "env" / "simplified" / "ant.ndjson").is_file()


def test_a_cached_file_is_used_without_the_source(folder, tmp_path):
    quickdraw.load_strokes("ant", 5, source=folder, cache=tmp_path)
    again = quickdraw.fetch_strokes("ant", 5, source=tmp_path / "gone", cache=tmp_path)
    assert again.from_cache and again.rows == 5


def test_missing_folder_and_file(tmp_path):
    with pytest.raises(MissingFile, match="does not exist"):
        quickdraw.load_strokes("ant", 3, source=tmp_path / "nowhere", cache=tmp_path / "c")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFile, match=r"ant\.ndjson"):
        quickdraw.load_strokes("ant", 3, source=tmp_path / "empty", cache=tmp_path / "c")


# -- over HTTP ---------------------------------------------------------------------------------

def test_streams_the_first_lines_and_hangs_up(tmp_path):
    big = stroke_file("ant", 200_000)  # 36 MB: far more than socket buffers can hide
    with FakeQuickDraw({"ant": big}) as server:
        drawings = quickdraw.load_strokes("ant", 5, source=server.url, cache=tmp_path)
        (request,) = server.wait_for(1)
    assert [d.key_id for d in drawings] == [str(4000000000000000 + n) for n in range(5)]
    assert request.path == "/ant.ndjson" and request.range is None
    assert not request.complete and request.error is not None, "the client should hang up"
    assert request.sent < len(big) // 2, f"{request.sent} of {len(big)} bytes went out"


def test_a_larger_request_continues_where_the_cache_ends(server, tmp_path):
    quickdraw.load_strokes("ant", 5, source=server.url, cache=tmp_path)
    drawings = quickdraw.load_strokes("ant", 300, source=server.url, cache=tmp_path)
    assert [d.key_id for d in drawings] == [str(4000000000000000 + n) for n in range(300)]
    first, second = server.wait_for(2)
    start = int(second.range.removeprefix("bytes=").rstrip("-"))
    assert ANT[start:start + 1] == b"\n" and ANT[:start + 1].count(b"\n") == 5
    assert quickdraw.load_strokes("ant", source=server.url, cache=tmp_path)[-1].key_id == \
        str(4000000000000000 + 399)
    assert quickdraw.fetch_strokes("ant", source=server.url, cache=tmp_path).from_cache


def test_a_server_ignoring_range_still_extends_correctly(tmp_path):
    with FakeQuickDraw({"ant": ANT}, mode="ignore-range") as server:
        quickdraw.load_strokes("ant", 7, source=server.url, cache=tmp_path)
        drawings = quickdraw.load_strokes("ant", 12, source=server.url, cache=tmp_path)
    assert [d.key_id for d in drawings] == [str(4000000000000000 + n) for n in range(12)]


def test_a_changed_source_is_fetched_again(tmp_path, capsys):
    with FakeQuickDraw({"ant": ANT}) as server:
        quickdraw.load_strokes("ant", 5, source=server.url, cache=tmp_path)
        server.files["ant"] = stroke_file("ant", 3) + ANT  # other lines, other size
        drawings = quickdraw.load_strokes("ant", 8, source=server.url, cache=tmp_path)
    assert "has changed since it was cached" in capsys.readouterr().err
    assert [d.key_id for d in drawings] == \
        [str(4000000000000000 + n) for n in (0, 1, 2, 0, 1, 2, 3, 4)]


def test_a_download_cut_short_is_not_taken_for_the_whole_file(tmp_path):
    short = stroke_file("ant", 10)
    with FakeQuickDraw({"ant": short}, mode="truncated") as server:  # half, then hangs up
        with pytest.raises(TruncatedData, match="cut short"):
            quickdraw.load_strokes("ant", source=server.url, cache=tmp_path)
    assert not (tmp_path / "simplified" / "ant.ndjson").exists()


def test_a_file_that_shrank_is_fetched_again(tmp_path, capsys):
    with FakeQuickDraw({"ant": ANT}) as server:
        quickdraw.load_strokes("ant", 50, source=server.url, cache=tmp_path)
        server.files["ant"] = stroke_file("ant", 20)  # shorter than the cached lines reach
        drawings = quickdraw.load_strokes("ant", 60, source=server.url, cache=tmp_path)
    assert len(drawings) == 20 and "has changed" in capsys.readouterr().err


def test_all_the_lines_asked_for_are_known_to_be_all_there_is(tmp_path):
    with FakeQuickDraw({"sea turtle": SEA}) as server:
        quickdraw.load_strokes("sea turtle", 30, source=server.url, cache=tmp_path)
        assert quickdraw.fetch_strokes("sea turtle", source=server.url, cache=tmp_path).from_cache
        assert len(server.wait_for(1)) == 1


def test_blank_lines_byte_order_mark_and_windows_line_breaks_are_read(tmp_path):
    lines = [drawing_line("ant", n) for n in range(4)]
    body = ("\ufeff" + lines[0] + "\r\n" + lines[1] + "\r\n\r\n" + lines[2] + "\n" + lines[3]
            + "\n\n").encode()
    with FakeQuickDraw({"ant": body}) as server:
        drawings = quickdraw.load_strokes("ant", source=server.url, cache=tmp_path)
    assert [d.key_id for d in drawings] == [str(4000000000000000 + n) for n in range(4)]
    assert (tmp_path / "simplified" / "ant.ndjson").read_text().count("\n") == 4


def test_names_with_spaces_are_url_encoded(server, tmp_path):
    drawings = quickdraw.load_strokes("Sea Turtle", 4, source=server.url, cache=tmp_path)
    assert len(drawings) == 4 and drawings[0].word == "sea turtle"
    assert server.wait_for(1)[0].path == "/sea%20turtle.ndjson"


def test_a_damaged_cached_file_is_fetched_again(server, tmp_path, capsys):
    quickdraw.load_strokes("ant", 5, source=server.url, cache=tmp_path)
    cached = tmp_path / "simplified" / "ant.ndjson"
    cached.write_bytes(cached.read_bytes()[:-10])  # the last line cut short
    assert len(quickdraw.load_strokes("ant", 5, source=server.url, cache=tmp_path)) == 5
    assert "is damaged" in capsys.readouterr().err
    cached.write_bytes(b"{not json}\n" * 5)  # whole lines, but not drawings
    assert len(quickdraw.load_strokes("ant", 5, source=server.url, cache=tmp_path)) == 5
    assert "is damaged" in capsys.readouterr().err


# -- what a stroke file must be -----------------------------------------------------------------

def bad_file(line: str) -> bytes:
    return (drawing_line("ant", 0) + "\n" + drawing_line("ant", 1) + "\n" + line + "\n"
            + drawing_line("ant", 3) + "\n").encode()


@pytest.mark.parametrize("line, error, words", [
    ('{"word": "ant", "drawing": [[[1, 2], [3', MalformedDrawing,
     ["line 3", "not valid JSON"]),
    ("[1, 2, 3]", MalformedDrawing, ["line 3", "\"word\" and \"drawing\""]),
    (drawing_line("dog", 2), WrongCategory, ["line 3", "'dog'", "not of 'ant'"]),
    (drawing_line("ant", 2, drawing=[]), EmptyDrawing, ["line 3", "no strokes"]),
    (drawing_line("ant", 2, drawing=[[[], []]]), EmptyDrawing, ["stroke 1 has no points"]),
    (drawing_line("ant", 2, drawing=[[[1, 2], [3]]]), MalformedDrawing, ["1 y coordinates"]),
    (drawing_line("ant", 2, drawing=[[[1, 2, 3]]]), MalformedDrawing, ["not [[x...], [y...]]"]),
    (drawing_line("ant", 2, drawing=[[[1, 900], [3, 4]]]), MalformedDrawing,
     ["from 0 to 255", "simplified format"]),
    (drawing_line("ant", 2, drawing=[[[1, "2"], [3, 4]]]), MalformedDrawing, ["from 0 to 255"]),
    (drawing_line("ant", 2, drawing="ant"), MalformedDrawing, ["list of strokes"]),
    ("[]", MalformedDrawing, ["line 3", "\"word\" and \"drawing\""]),
])
def test_a_bad_line_stops_the_fetch_with_its_number(line, error, words, tmp_path):
    with FakeQuickDraw({"ant": bad_file(line)}) as server:
        assert len(quickdraw.load_strokes("ant", 2, source=server.url, cache=tmp_path)) == 2
        with pytest.raises(error) as excinfo:
            quickdraw.load_strokes("ant", 4, source=server.url, cache=tmp_path)
    message = str(excinfo.value)
    assert isinstance(excinfo.value, QuickDrawError) and "\n" not in message
    for word in words:
        assert word in message, message
    # the two good lines stay cached; nothing half-checked was added
    assert (tmp_path / "simplified" / "ant.ndjson").read_text().count("\n") == 2


@pytest.mark.parametrize("body, words", [
    (b"<!DOCTYPE html><html><body>Not here</body></html>\n", ["HTML page"]),
    (b"\x93NUMPY\x01\x00v\x00{'descr': '|u1'}\n", ["not a simplified stroke file"]),
    (b"", ["is empty"]),
    (b"\n\n", ["is empty"]),
    (b"{" + b"x" * (1 << 21), ["longer than 1 MB"]),
])
def test_a_file_that_is_no_stroke_file(body, words, tmp_path):
    with FakeQuickDraw({"ant": body}) as server:
        with pytest.raises(NotStrokeFile) as excinfo:
            quickdraw.load_strokes("ant", 5, source=server.url, cache=tmp_path)
    for word in words:
        assert word in str(excinfo.value)
    assert not (tmp_path / "simplified" / "ant.ndjson").exists()


def test_missing_on_the_server_and_unknown_names(server, tmp_path):
    with pytest.raises(MissingFile, match="HTTP 404"):
        quickdraw.load_strokes("dog", 5, source=server.url, cache=tmp_path)
    with pytest.raises(quickdraw.UnknownCategory, match="'ant'"):
        quickdraw.load_strokes("antt", 5, source=server.url, cache=tmp_path)
    assert server.requests[0].name == "dog" and len(server.requests) == 1


def test_the_command_line_fetches_strokes(server, tmp_path, capsys):
    assert cli(["fetch", "ant", "sea turtle", "--strokes", "--limit", "6", "--source",
                server.url, "--cache", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"ant: 6 drawings in {tmp_path / 'simplified' / 'ant.ndjson'}" in out
    assert "sea turtle: 6 drawings" in out
    assert cli(["info", "--cache", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ant" in out and "strokes" in out and "2 cached files" in out
