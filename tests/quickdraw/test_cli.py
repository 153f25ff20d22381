"""`python -m quickdraw`: fetch, list, info, and how errors reach the person at the terminal."""

import importlib
import io
import socket
import subprocess
import sys

import numpy as np
import pytest

import quickdraw
from quickdraw.__main__ import main
from sketch_model.facts import PIXELS
from testkit.bucket import FakeQuickDraw
from testkit.commands import assert_one_error_line, run_module
from testkit.paths import REPO, SHARED_QUICKDRAW

pytestmark = pytest.mark.timeout(60)


def npy_bytes(array):
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


RNG = np.random.default_rng(11)
FILES = {name: RNG.integers(0, 256, (rows, PIXELS), dtype=np.uint8)
         for name, rows in [("cat", 90), ("dog", 60), ("sea turtle", 40)]}


@pytest.fixture
def server():
    with FakeQuickDraw({name: npy_bytes(a) for name, a in FILES.items()}) as fake:
        yield fake



def run(*args, env=None, timeout=30):
    """The real command in a child process, as a person would run it."""
    return run_module("quickdraw", *args, unset="QUICKDRAW_", env=env, timeout=timeout)


def test_fetch_prints_one_line_per_category(server, tmp_path):
    result = run("fetch", "cat", "dog", "Sea Turtle", "--limit", "50",
                 "--source", server.url, "--cache", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bar: stderr is not a terminal
    lines = result.stdout.strip().splitlines()
    expected = {"cat": 50, "dog": 50, "sea turtle": 40}
    assert len(lines) == 3
    for line, (name, rows) in zip(lines, expected.items()):
        path = tmp_path / f"{name}.npy"
        assert line.startswith(f"{name}: {rows} drawings in {path}")
        assert np.array_equal(np.load(path), FILES[name][:rows])
    again = run("fetch", "cat", "--limit", "20", "--source", server.url, "--cache", str(tmp_path))
    assert again.returncode == 0 and "already cached" in again.stdout
    assert "cat: 50 drawings" in again.stdout
    assert len(server.requests) == 3


def test_fetch_uses_environment_variables(server, tmp_path):
    result = run("fetch", "dog", "--limit", "7",
                 env={"QUICKDRAW_SOURCE": server.url, "QUICKDRAW_CACHE": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert np.array_equal(np.load(tmp_path / "dog.npy"), FILES["dog"][:7])


def test_list_prints_the_345_names():
    result = run("list")
    assert result.returncode == 0
    assert result.stdout.splitlines() == quickdraw.categories()
    assert len(result.stdout.splitlines()) == 345


def test_info_shows_cached_files(server, tmp_path, capsys):
    assert main(["info", "--cache", str(tmp_path / "none")]) == 0
    assert "not created yet" in capsys.readouterr().out
    quickdraw.fetch("cat", 30, source=server.url, cache=tmp_path)
    quickdraw.fetch("dog", source=server.url, cache=tmp_path)
    (tmp_path / "bird.npy").write_bytes(b"broken")
    assert main(["info", "--cache", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"cache folder: {tmp_path}" in out
    cat_line = next(line for line in out.splitlines() if line.startswith("cat "))
    assert "30 drawings" in cat_line and str(tmp_path / "cat.npy") in cat_line
    dog_line = next(line for line in out.splitlines() if line.startswith("dog "))
    assert "60 drawings" in dog_line and "all drawings of" in dog_line
    assert f"damaged: {tmp_path / 'bird.npy'}" in out
    assert "2 cached files" in out


def test_info_in_a_child_process_uses_quickdraw_cache(server, tmp_path):
    quickdraw.fetch("cat", 5, source=server.url, cache=tmp_path)
    result = run("info", env={"QUICKDRAW_CACHE": str(tmp_path)})
    assert result.returncode == 0
    assert "cat" in result.stdout and "5 drawings" in result.stdout
    assert str(tmp_path / "cat.npy") in result.stdout


def test_unknown_category_suggests_and_downloads_nothing(server, tmp_path):
    result = run("fetch", "dog", "cta", "--source", server.url, "--cache", str(tmp_path))
    assert_one_error_line(result, "'cta'", "'cat'")
    assert server.requests == [] and result.stdout == ""


def test_network_failure_is_one_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run("fetch", "cat", "--limit", "5", "--source", f"http://127.0.0.1:{port}",
                 "--cache", str(tmp_path))
    assert_one_error_line(result, "refused")


def test_timeout_option(server, tmp_path):
    server.mode = "slow"
    result = run("fetch", "cat", "--limit", "5", "--timeout", "0.3",
                 "--source", server.url, "--cache", str(tmp_path))
    assert_one_error_line(result, "0.3 s")


def test_a_missing_file_does_not_stop_the_others(server, tmp_path):
    result = run("fetch", "cat", "giraffe", "dog", "--limit", "5",
                 "--source", server.url, "--cache", str(tmp_path))
    assert_one_error_line(result, "QuickDraw has no file for 'giraffe'")
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == ["cat", "dog"]


@pytest.mark.parametrize("args", [[], ["fetch"], ["fetch", "cat", "--limit", "0"],
                                  ["fetch", "cat", "--limit", "many"], ["frobnicate"]])
def test_usage_errors_exit_2(args):
    result = run(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "usage:" in result.stderr


def test_keyboard_interrupt_exits_130(monkeypatch, capsys, tmp_path):
    cli = importlib.import_module("quickdraw.__main__")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "fetch_file", interrupted)
    assert main(["fetch", "cat", "--cache", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "interrupted" in err


def test_no_tensorflow_is_loaded():
    """quickdraw imports no framework and nothing else of the project; the fake bucket the
    tests serve it from needs no framework either. Run from REPO, so both are importable."""
    code = ("import sys\n"
            "def loaded(*tops): return sorted(m for m in sys.modules if m.split('.')[0] in tops)\n"
            "heavy = ('tensorflow', 'keras', 'torch', 'requests')\n"
            "import quickdraw, quickdraw.__main__\n"
            "print(loaded(*heavy, 'sketch_model', 'app', 'tests', 'testkit'))\n"
            "import testkit.bucket\n"
            "print(loaded(*heavy))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0 and result.stdout.splitlines() == ["[]", "[]"], result


def mirror_folder(tmp_path):
    if (SHARED_QUICKDRAW / "cat.npy").is_file():
        return SHARED_QUICKDRAW
    folder = tmp_path / "mirror"  # stand-in so the test still runs without the mirror
    folder.mkdir()
    rows = np.random.default_rng(5).integers(0, 256, (700, PIXELS), np.uint8)
    np.save(folder / "cat.npy", rows)
    return folder


def test_fetch_from_a_local_mirror(tmp_path):
    mirror = mirror_folder(tmp_path)
    result = run("fetch", "cat", "--limit", "500", "--source", str(mirror),
                 "--cache", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"cat: 500 drawings in {tmp_path / 'cache' / 'cat.npy'}")
    assert np.array_equal(np.load(tmp_path / "cache" / "cat.npy"),
                          np.load(mirror / "cat.npy", mmap_mode="r")[:500])
