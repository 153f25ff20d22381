"""quickdraw over HTTP, against a real loopback server (testkit.bucket.FakeQuickDraw).

What is checked: the rows are exactly the served rows; only the bytes needed go
over the wire (Range, and early hang-up when the server ignores Range); the
cache is reused, extended with only the missing rows, and repaired when
damaged; every failure is a QuickDrawError with a one-line message and leaves
nothing behind in the cache.
"""

import importlib
import io
import socket
import struct
import time

import numpy as np
import pytest

import quickdraw
from quickdraw import npy
from quickdraw.errors import (
    DownloadError,
    DownloadTimeout,
    MissingFile,
    NotNpyFile,
    QuickDrawError,
    TruncatedData,
    UnknownCategory,
)
from sketch_model.facts import PIXELS
from testkit.bucket import FakeQuickDraw, npy_bytes
from testkit.bucket import random_rows as drawings

pytestmark = pytest.mark.timeout(60)


def header_len(blob: bytes, array: np.ndarray) -> int:
    return len(blob) - array.nbytes


CAT = drawings(1000, seed=1)
DOG = drawings(400, seed=2)
CAT_NPY, DOG_NPY = npy_bytes(CAT), npy_bytes(DOG)
H = header_len(CAT_NPY, CAT)


@pytest.fixture
def server():
    with FakeQuickDraw({"cat": CAT_NPY, "dog": DOG_NPY}) as fake:
        yield fake


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"



def leftovers(cache):
    """Files in the cache folder other than complete, valid .npy + .json pairs (and the lock
    files that keep two processes from fetching one category at once)."""
    if not cache.exists():
        return []
    return sorted(p.name for p in cache.iterdir()
                  if not p.name.endswith((".npy", ".json", ".lock")))


# -- getting exactly the right bytes ------------------------------------------------
def test_range_fetch_transfers_header_plus_limit_rows(server, cache):
    rows = quickdraw.load("cat", 100, source=server.url, cache=cache)
    assert rows.dtype == np.uint8 and rows.shape == (100, PIXELS)
    assert np.array_equal(rows, CAT[:100])
    (req,) = server.wait_for(1)
    assert req.range == f"bytes=0-{H + 100 * PIXELS - 1}"
    assert req.status == 206 and req.complete
    assert req.sent == H + 100 * PIXELS
    assert req.user_agent and "python" in req.user_agent.lower()
    path = cache / "cat.npy"
    assert path.stat().st_size == 128 + 100 * PIXELS
    assert np.array_equal(np.load(path, allow_pickle=False), CAT[:100])


def test_fetch_returns_the_cache_path_and_load_reuses_it(server, cache):
    path = quickdraw.fetch("cat", 50, source=server.url, cache=cache)
    assert path == cache / "cat.npy" and path.is_file()
    assert len(server.requests) == 1
    assert np.array_equal(quickdraw.load("cat", 50, source=server.url, cache=cache), CAT[:50])
    assert np.array_equal(quickdraw.load("cat", 20, source=server.url, cache=cache), CAT[:20])
    assert quickdraw.fetch("cat", 50, source=server.url, cache=cache) == path
    assert len(server.requests) == 1, "the cache should have answered"


def test_larger_limit_fetches_only_the_missing_rows(server, cache):
    quickdraw.load("cat", 100, source=server.url, cache=cache)
    rows = quickdraw.load("cat", 300, source=server.url, cache=cache)
    assert np.array_equal(rows, CAT[:300])
    first, second = server.wait_for(2)
    assert second.range == f"bytes={H + 100 * PIXELS}-{H + 300 * PIXELS - 1}"
    assert second.sent == 200 * PIXELS
    on_disk = np.load(cache / "cat.npy", allow_pickle=False)
    assert on_disk.shape == (300, PIXELS) and np.array_equal(on_disk, CAT[:300])
    assert npy.inspect_file(cache / "cat.npy").length == 128
    assert leftovers(cache) == []


def test_limit_beyond_the_file_takes_all_rows_and_remembers_it(server, cache):
    rows = quickdraw.load("dog", 5000, source=server.url, cache=cache)
    assert np.array_equal(rows, DOG)
    assert np.array_equal(quickdraw.load("dog", 5000, source=server.url, cache=cache), DOG)
    assert np.array_equal(quickdraw.load("dog", source=server.url, cache=cache), DOG)
    assert len(server.requests) == 1, "a complete file needs no second look at the server"


def test_no_limit_fetches_the_whole_file_once(server, cache):
    assert np.array_equal(quickdraw.load("cat", source=server.url, cache=cache), CAT)
    (req,) = server.wait_for(1)
    assert req.range is None and req.sent == len(CAT_NPY)
    assert np.array_equal(quickdraw.load("cat", None, source=server.url, cache=cache), CAT)
    assert len(server.requests) == 1


def test_no_limit_after_a_sample_extends_to_the_end(server, cache):
    quickdraw.load("cat", 10, source=server.url, cache=cache)
    assert np.array_equal(quickdraw.load("cat", source=server.url, cache=cache), CAT)
    second = server.wait_for(2)[1]
    assert second.range == f"bytes={H + 10 * PIXELS}-{len(CAT_NPY) - 1}"


def test_rows_from_another_source_are_used_but_not_extended(server, cache):
    other = drawings(1000, seed=9)
    with FakeQuickDraw({"cat": npy_bytes(other)}) as mirror:
        quickdraw.load("cat", 100, source=mirror.url, cache=cache)
    # enough rows: served from the cache, whichever source they came from
    assert np.array_equal(quickdraw.load("cat", 50, source=server.url, cache=cache), other[:50])
    assert server.requests == []
    # more rows: appending rows of another file would mix two files: start over
    assert np.array_equal(quickdraw.load("cat", 200, source=server.url, cache=cache), CAT[:200])
    assert server.wait_for(1)[0].range == f"bytes=0-{H + 200 * PIXELS - 1}"


def test_server_ignoring_range_is_cut_off_early(cache):
    big = drawings(40_000, seed=3)  # 31 MB: far more than socket buffers can hide
    blob = npy_bytes(big)
    with FakeQuickDraw({"cat": blob}, mode="ignore-range") as fake:
        rows = quickdraw.load("cat", 50, source=fake.url, cache=cache)
        (req,) = fake.wait_for(1)
    assert np.array_equal(rows, big[:50])
    assert req.status == 200
    assert not req.complete and req.error is not None, "the client should hang up"
    assert req.sent < len(blob) // 2, f"{req.sent} of {len(blob)} bytes went out"
    assert (cache / "cat.npy").stat().st_size == 128 + 50 * PIXELS


def test_server_ignoring_range_still_extends_correctly(cache):
    with FakeQuickDraw({"cat": CAT_NPY}, mode="ignore-range") as fake:
        quickdraw.load("cat", 100, source=fake.url, cache=cache)
        rows = quickdraw.load("cat", 300, source=fake.url, cache=cache)
        assert len(fake.requests) == 2
    assert np.array_equal(rows, CAT[:300])
    assert np.array_equal(np.load(cache / "cat.npy"), CAT[:300])


def custom_npy(array, header_total: int, version=(1, 0)) -> bytes:
    """The same rows behind a header padded to ``header_total`` bytes."""
    text = f"{{'descr': '|u1', 'fortran_order': False, 'shape': {array.shape}, }}"
    fmt = "<H" if version == (1, 0) else "<I"
    prefix = 8 + struct.calcsize(fmt)
    body = text.encode() + b" " * (header_total - prefix - len(text) - 1) + b"\n"
    return npy.MAGIC + bytes(version) + struct.pack(fmt, len(body)) + body + array.tobytes()


@pytest.mark.parametrize("header_total, version", [
    (80, (1, 0)), (128, (2, 0)), (256, (1, 0)), (2000, (3, 0))])
def test_headers_of_other_lengths(cache, header_total, version):
    blob = custom_npy(CAT[:20], header_total, version)
    assert np.array_equal(np.load(io.BytesIO(blob)), CAT[:20])  # numpy agrees it is valid
    with FakeQuickDraw({"cat": blob}) as fake:
        assert np.array_equal(quickdraw.load("cat", 1, source=fake.url, cache=cache), CAT[:1])
        assert np.array_equal(quickdraw.load("cat", 7, source=fake.url, cache=cache), CAT[:7])
        reqs = fake.wait_for(len(fake.requests))
    total = sum(r.sent for r in reqs)
    # never more than the guessed 128-byte header costs, and no row fetched twice
    assert header_total + 7 * PIXELS <= total <= max(header_total, 128) + 7 * PIXELS
    assert reqs[-1].range == f"bytes={header_total + PIXELS}-{header_total + 7 * PIXELS - 1}"
    assert (cache / "cat.npy").stat().st_size == 128 + 7 * PIXELS


def test_names_with_spaces_are_url_encoded(cache):
    turtle = drawings(30, seed=4)
    with FakeQuickDraw({"sea turtle": npy_bytes(turtle)}) as fake:
        rows = quickdraw.load("Sea  Turtle", 10, source=fake.url + "/", cache=cache)
        (req,) = fake.wait_for(1)
    assert np.array_equal(rows, turtle[:10])
    assert req.path == "/sea%20turtle.npy"
    assert (cache / "sea turtle.npy").is_file()


# -- a damaged cache is noticed and repaired ------------------------------------------
@pytest.mark.parametrize("damage", ["garbage", "cut", "header-lies", "html"])
def test_damaged_cache_file_is_reported_and_fetched_again(server, cache, capsys, damage):
    quickdraw.load("cat", 100, source=server.url, cache=cache)
    path = cache / "cat.npy"
    blob = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(bytes(range(256)) * 10)
    elif damage == "cut":
        path.write_bytes(blob[:-500])
    elif damage == "header-lies":
        path.write_bytes(npy.build_header(101) + blob[128:])
    else:
        path.write_bytes(b"<html>oops</html>")
    capsys.readouterr()
    rows = quickdraw.load("cat", 100, source=server.url, cache=cache)
    err = capsys.readouterr().err
    assert "warning" in err and str(path) in err and "Traceback" not in err
    assert np.array_equal(rows, CAT[:100])
    assert len(server.requests) == 2
    assert np.array_equal(np.load(path), CAT[:100])


def test_interrupted_download_leaves_no_file(server, cache, monkeypatch):
    fetch_module = importlib.import_module("quickdraw.fetch")  # not the fetch() function
    real_write, calls = fetch_module.write, []

    def write_then_interrupt(out, data):
        calls.append(len(data))
        if len(calls) == 3:
            raise KeyboardInterrupt
        real_write(out, data)

    monkeypatch.setattr(fetch_module, "write", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        quickdraw.load("cat", 900, source=server.url, cache=cache)
    assert leftovers(cache) == [] and not list(cache.glob("*.npy"))


# -- failures: QuickDrawError, one line, nothing left behind -----------------------------
def check_error(excinfo, cls, *words):
    error = excinfo.value
    assert isinstance(error, cls) and isinstance(error, QuickDrawError)
    message = str(error)
    assert "\n" not in message and message.strip() == message and len(message) < 300
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    return message


@pytest.mark.parametrize("mode, cls, words", [
    ("missing", MissingFile, ["QuickDraw has no file for 'cat' at", "/cat.npy"]),
    ("error", DownloadError, ["HTTP 500", "/cat.npy"]),
    ("html", NotNpyFile, ["not a .npy file", "HTML"]),
    ("truncated", TruncatedData, ["cut short", "/cat.npy"]),
    ("bad-range", DownloadError, ["wrong part", "bytes 0-"]),
])
def test_bad_server_replies(server, cache, mode, cls, words):
    server.mode = mode
    with pytest.raises(QuickDrawError) as caught:
        quickdraw.load("cat", None if mode == "truncated" else 100, source=server.url,
                       cache=cache)
    check_error(caught, cls, *words)
    assert not (cache / "cat.npy").exists() and leftovers(cache) == []


def test_missing_file_message_names_the_url(server, cache):
    with pytest.raises(MissingFile) as caught:
        quickdraw.load("apple", 5, source=server.url, cache=cache)
    assert str(caught.value) == (f"QuickDraw has no file for 'apple' at {server.url}/apple.npy "
                                 "(HTTP 404)")


@pytest.mark.parametrize("mode", ["range", "ignore-range"])
@pytest.mark.parametrize("limit", [None, 300])
def test_file_shorter_than_its_header_says(cache, mode, limit):
    blob = npy.build_header(1000) + CAT[:250].tobytes()  # promises 1000 drawings, holds 250
    with FakeQuickDraw({"cat": blob}, mode=mode) as fake:
        with pytest.raises(TruncatedData) as caught:
            quickdraw.load("cat", limit, source=fake.url, cache=cache)
    check_error(caught, TruncatedData, "/cat.npy")
    assert "1000 drawings" in str(caught.value) or "cut short" in str(caught.value)
    assert not (cache / "cat.npy").exists()


@pytest.mark.parametrize("array, words", [
    (np.zeros((10, PIXELS), np.float32), ["'<f4'", "not the uint8"]),
    (np.zeros((10, 100), np.uint8), ["shape (10, 100)"]),
    (np.zeros((10, 28, 28), np.uint8), ["shape (10, 28, 28)"]),
])
def test_npy_files_that_are_not_quickdraw_bitmaps(cache, array, words):
    with FakeQuickDraw({"cat": npy_bytes(array)}) as fake:
        with pytest.raises(NotNpyFile) as caught:
            quickdraw.load("cat", 5, source=fake.url, cache=cache)
    check_error(caught, NotNpyFile, *words)


def test_connection_refused(cache):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError) as caught:
        quickdraw.load("cat", 5, source=f"http://127.0.0.1:{port}", cache=cache)
    check_error(caught, DownloadError, "refused", f"127.0.0.1:{port}")


def test_dns_failure(cache, monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(DownloadError) as caught:
        quickdraw.load("cat", 5, source="https://quickdraw.example.invalid/bitmaps", cache=cache)
    check_error(caught, DownloadError, "cannot find the host 'quickdraw.example.invalid'")


@pytest.mark.parametrize("mode, words", [("slow", "no answer"), ("stall", "sent nothing")])
def test_timeout_is_configurable_and_reported(server, cache, mode, words):
    server.mode = mode
    began = time.monotonic()
    with pytest.raises(DownloadTimeout) as caught:
        quickdraw.load("cat", 100, source=server.url, cache=cache, timeout=0.3)
    assert time.monotonic() - began < 2
    check_error(caught, DownloadTimeout, words, "0.3 s")
    assert leftovers(cache) == [] and not (cache / "cat.npy").exists()


def test_timeout_from_the_environment(server, cache, monkeypatch):
    server.mode = "slow"
    monkeypatch.setenv("QUICKDRAW_TIMEOUT", "0.2")
    began = time.monotonic()
    with pytest.raises(DownloadTimeout, match="0.2 s"):
        quickdraw.load("cat", 1, source=server.url, cache=cache)
    assert time.monotonic() - began < 2


def test_unknown_category_fails_before_any_request(server, cache):
    with pytest.raises(UnknownCategory) as caught:
        quickdraw.load("cta", 5, source=server.url, cache=cache)
    check_error(caught, UnknownCategory, "'cta'", "'cat'")
    assert server.requests == [] and not cache.exists()


@pytest.mark.parametrize("limit", [0, -3, 2.5, "10", True])
def test_bad_limits(server, cache, limit):
    with pytest.raises(QuickDrawError, match="limit"):
        quickdraw.load("cat", limit, source=server.url, cache=cache)
    assert server.requests == []


def test_unsupported_source_scheme(cache):
    with pytest.raises(QuickDrawError, match="ftp://"):
        quickdraw.load("cat", 5, source="ftp://example.org/quickdraw", cache=cache)


def test_unwritable_cache_folder(server, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(QuickDrawError) as caught:
        quickdraw.load("cat", 5, source=server.url, cache=blocker / "cache")
    check_error(caught, quickdraw.CacheError, "cache folder", str(blocker / "cache"))


# -- environment, progress, listing -----------------------------------------------------
def test_environment_variables_are_honoured(server, tmp_path, monkeypatch):
    monkeypatch.setenv("QUICKDRAW_SOURCE", server.url)
    monkeypatch.setenv("QUICKDRAW_CACHE", str(tmp_path / "from-env"))
    rows = quickdraw.load("dog", 12)
    assert np.array_equal(rows, DOG[:12])
    assert (tmp_path / "from-env" / "dog.npy").is_file()
    assert len(server.requests) == 1
    # explicit arguments win over the environment
    monkeypatch.setenv("QUICKDRAW_SOURCE", str(tmp_path / "no-such-folder"))
    explicit = tmp_path / "explicit"
    assert quickdraw.fetch("cat", 3, source=server.url, cache=explicit) == explicit / "cat.npy"
    assert [c.name for c in quickdraw.cached()] == ["dog"]


@pytest.mark.parametrize("progress, shown", [(True, True), (False, False), (None, False)])
def test_progress_bar(server, cache, capsys, progress, shown):
    quickdraw.load("cat", 200, source=server.url, cache=cache, progress=progress)
    err = capsys.readouterr().err
    assert ("cat" in err) is shown  # None: stderr is not a terminal under capsys
    if not shown:
        assert err == ""


def test_cached_lists_valid_files(server, cache):
    assert quickdraw.cached(cache) == []
    quickdraw.fetch("cat", 30, source=server.url, cache=cache)
    quickdraw.fetch("dog", source=server.url, cache=cache)
    (cache / "bird.npy").write_bytes(b"junk")  # damaged: not listed
    entries = quickdraw.cached(cache)
    assert [(e.name, e.rows, e.complete) for e in entries] == [
        ("cat", 30, False), ("dog", 400, True)]
    name, rows, size, path = entries[0]
    assert (name, rows, path) == ("cat", 30, cache / "cat.npy")
    assert size == path.stat().st_size == 128 + 30 * PIXELS
    assert entries[1].source == server.url
