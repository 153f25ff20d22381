"""quickdraw with a local folder as the source, plus categories and configuration.

The real mirror (``../shared/quickdraw`` beside the repository, as in CI) is used
when present; the same tests then run on small files written here, so that
something always runs whether or not the mirror is there.
"""

import ast
import importlib
from pathlib import Path

import numpy as np
import pytest

import quickdraw
from quickdraw import config, npy
from quickdraw.errors import MissingFile, NotNpyFile, QuickDrawError, TruncatedData, UnknownCategory
from sketch_model.facts import PIXELS
from testkit.paths import SHARED_QUICKDRAW

pytestmark = pytest.mark.timeout(60)
PACKAGE_LIST = Path(quickdraw.__file__).with_name("categories.txt")



def write_mirror(folder: Path) -> Path:
    """A small stand-in for the mirror: cat (1200 rows) and dog (300 rows)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    np.save(folder / "cat.npy", rng.integers(0, 256, (1200, PIXELS), dtype=np.uint8))
    np.save(folder / "dog.npy", rng.integers(0, 256, (300, PIXELS), dtype=np.uint8))
    return folder


@pytest.fixture(params=["shared-mirror", "written-here"])
def mirror(request, tmp_path_factory):
    """The real mirror when present, and always a folder written by the test."""
    if request.param == "shared-mirror":
        if not (SHARED_QUICKDRAW / "cat.npy").is_file():
            # not a skip: fall back to a written folder so the test still runs
            return write_mirror(tmp_path_factory.mktemp("mirror-stand-in"))
        return SHARED_QUICKDRAW
    return write_mirror(tmp_path_factory.mktemp("mirror"))


def test_cat_500_equals_the_first_500_rows(mirror, tmp_path):
    source_rows = np.load(mirror / "cat.npy", mmap_mode="r", allow_pickle=False)
    assert source_rows.shape[0] >= 800
    rows = quickdraw.load("cat", 500, source=mirror, cache=tmp_path)
    assert rows.dtype == np.uint8 and rows.shape == (500, PIXELS)
    assert np.array_equal(rows, source_rows[:500])
    assert np.load(tmp_path / "cat.npy").shape == (500, PIXELS)
    # extending copies only what is missing, and stays equal to the source
    rows = quickdraw.load("cat", 800, source=mirror, cache=tmp_path)
    assert np.array_equal(rows, source_rows[:800])
    assert (tmp_path / "cat.npy").stat().st_size == 128 + 800 * PIXELS


def test_whole_file_and_relative_and_file_url_sources(mirror, tmp_path, monkeypatch):
    expected = np.load(mirror / "dog.npy", allow_pickle=False)
    monkeypatch.chdir(mirror.parent)
    rows = quickdraw.load("dog", source=mirror.name, cache=tmp_path / "a")  # relative path
    assert np.array_equal(rows, expected)
    rows = quickdraw.load("dog", 25, source=mirror.as_uri(), cache=tmp_path / "b")  # file://
    assert np.array_equal(rows, expected[:25])
    (entry,) = quickdraw.cached(tmp_path / "a")
    assert entry.complete and entry.source == str(mirror) and entry.rows == len(expected)


def test_source_and_cache_from_environment(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("QUICKDRAW_SOURCE", str(mirror))
    monkeypatch.setenv("QUICKDRAW_CACHE", str(tmp_path / "env-cache"))
    rows = quickdraw.load("cat", 40)
    assert np.array_equal(rows, np.load(mirror / "cat.npy", mmap_mode="r")[:40])
    assert [(c.name, c.rows) for c in quickdraw.cached()] == [("cat", 40)]
    assert quickdraw.cache_folder() == tmp_path / "env-cache"


def test_missing_folder_and_missing_file(tmp_path):
    with pytest.raises(MissingFile) as caught:
        quickdraw.load("cat", 5, source=tmp_path / "nowhere", cache=tmp_path / "c")
    assert "does not exist" in str(caught.value) and str(tmp_path / "nowhere") in str(caught.value)
    folder = write_mirror(tmp_path / "m")
    with pytest.raises(MissingFile) as caught:
        quickdraw.load("giraffe", 5, source=folder, cache=tmp_path / "c")
    assert "has no file for 'giraffe'" in str(caught.value)
    assert not [p for p in (tmp_path / "c").glob("*") if p.suffix != ".lock"]


def test_damaged_local_files(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    half_missing = npy.build_header(100) + bytes(50 * PIXELS)
    (folder / "cat.npy").write_bytes(half_missing)
    (folder / "dog.npy").write_text("<html><body>404</body></html>")
    with pytest.raises(TruncatedData, match="promises 100 drawings"):
        quickdraw.load("cat", 10, source=folder, cache=tmp_path / "c")
    with pytest.raises(NotNpyFile, match="HTML"):
        quickdraw.load("dog", 10, source=folder, cache=tmp_path / "c")
    assert not [p for p in (tmp_path / "c").glob("*") if p.suffix != ".lock"]


# -- categories ---------------------------------------------------------------------------
def test_categories_are_the_345_official_names():
    names = quickdraw.categories()
    lines = [line for line in PACKAGE_LIST.read_text().split("\n") if line]
    assert names == lines and len(names) == 345 == len(set(names))
    assert {"cat", "dog", "sea turtle", "The Eiffel Tower"} <= set(names)
    if (SHARED_QUICKDRAW / "categories.txt").is_file():
        shared = (SHARED_QUICKDRAW / "categories.txt").read_text().split("\n")
        assert names == [line for line in shared if line]


@pytest.mark.parametrize("typed, official", [
    ("cat", "cat"), ("Sea Turtle", "sea turtle"), ("  sea   turtle ", "sea turtle"),
    ("sea_turtle", "sea turtle"), ("the eiffel tower", "The Eiffel Tower"), ("T-Shirt", "t-shirt")])
def test_validate_is_case_and_space_tolerant(typed, official):
    assert quickdraw.validate(typed) == official


@pytest.mark.parametrize("typed, close", [("cta", "cat"), ("sea turtel", "sea turtle"),
                                           ("girafe", "giraffe"), ("aple", "apple")])
def test_unknown_names_suggest_close_ones(typed, close):
    with pytest.raises(UnknownCategory) as caught:
        quickdraw.validate(typed)
    message = str(caught.value)
    assert f"'{typed}' is not a QuickDraw category" in message
    assert f"'{close}'" in message and "\n" not in message


def test_nothing_close_points_to_the_list():
    with pytest.raises(UnknownCategory, match="python -m quickdraw list"):
        quickdraw.validate("xqzzv")
    with pytest.raises(UnknownCategory):
        quickdraw.validate("   ")
    names = importlib.import_module("quickdraw.categories")  # not the categories() function
    assert names.suggestions("xqzzv") == []
    assert names.suggestions("cta")[0] == "cat"


# -- configuration --------------------------------------------------------------------------
def test_default_source_and_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config.source() == [config.DEFAULT_SOURCE]
    assert config.DEFAULT_SOURCE.endswith("/quickdraw_dataset/full/numpy_bitmap")
    assert config.cache_dir() == tmp_path / "home" / ".cache" / "quickdraw"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert config.cache_dir() == tmp_path / "xdg" / "quickdraw"
    monkeypatch.setenv("QUICKDRAW_CACHE", "rel/cache")
    monkeypatch.chdir(tmp_path)
    assert config.cache_dir() == tmp_path / "rel" / "cache"
    assert config.cache_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv("QUICKDRAW_SOURCE", "  http://127.0.0.1:9/qd  ")
    assert config.source() == ["http://127.0.0.1:9/qd"]
    assert config.source("elsewhere") == ["elsewhere"]
    monkeypatch.setenv("QUICKDRAW_SOURCE", "")
    assert config.source() == [config.DEFAULT_SOURCE]


def test_several_sources_setting(monkeypatch, tmp_path):
    """A list in the variable, separated by spaces and quoted as in a shell; an explicit list
    wins; a folder whose name holds a space still works unquoted; repeats count once."""
    monkeypatch.setenv("QUICKDRAW_STROKES_SOURCE", "a  'my folder' http://127.0.0.1:9/s a")
    assert config.strokes_source() == ["a", "my folder", "http://127.0.0.1:9/s"]
    assert config.strokes_source(["x", " ", "y"]) == ["x", "y"]
    assert config.strokes_source([]) == ["a", "my folder", "http://127.0.0.1:9/s"]
    spaced = tmp_path / "a mirror"
    spaced.mkdir()
    monkeypatch.setenv("QUICKDRAW_SOURCE", str(spaced))
    assert config.source() == [str(spaced)]
    monkeypatch.setenv("QUICKDRAW_SOURCE", "'unclosed")
    with pytest.raises(QuickDrawError, match="QUICKDRAW_SOURCE.*quote"):
        config.source()


def test_timeout_setting(monkeypatch):
    assert config.timeout() == config.DEFAULT_TIMEOUT
    monkeypatch.setenv("QUICKDRAW_TIMEOUT", "2.5")
    assert config.timeout() == 2.5 and config.timeout(1) == 1
    for bad in ("soon", "0", "-1", "nan"):
        monkeypatch.setenv("QUICKDRAW_TIMEOUT", bad)
        with pytest.raises(QuickDrawError, match="QUICKDRAW_TIMEOUT"):
            config.timeout()


def test_no_tensorflow_import():
    imported = set()
    for path in Path(quickdraw.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    assert "numpy" in imported  # the walk does see imports
    assert not imported & {"tensorflow", "keras", "torch", "requests"}
