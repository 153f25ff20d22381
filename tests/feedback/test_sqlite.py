"""The SQLite store: where it lives by default, WAL mode, and a database that cannot write
(read-only for real, even as root; full; locked too long; not a database) giving a sentence.
The client address is nowhere in the files."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import threading

import pytest
from sqlalchemy import event

from feedback import ConfigError, Store, Unavailable, database
from feedback import config as feedback_config
from testkit.postgres import DRAWING

pytestmark = pytest.mark.timeout(120)
ADDRESS = "203.0.113.77"


def save(store, client=ADDRESS, label="cat"):
    return store.save(drawing=DRAWING, label=label, guess="dog", confidence=0.3, model="tiny",
                      model_sha256="0" * 64, client=client)


def test_the_default_is_a_file_in_the_instance_folder_made_on_first_use(tmp_path):
    instance = tmp_path / "not" / "yet" / "instance"
    with Store.open(instance=instance) as store:
        save(store)
        assert (instance / "feedback.sqlite3").is_file()
        with sqlite3.connect(instance / "feedback.sqlite3") as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    key = instance / "feedback.secret"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    with Store.open(instance=instance) as store:  # the same key, kept
        save(store, client="192.0.2.1")
    assert len(key.read_bytes()) == 32


def test_the_default_folder_is_the_apps_instance_folder():
    url = feedback_config.database_url(None, None)
    assert url.database == str(feedback_config.REPO / "instance" / "feedback.sqlite3")


def test_sketchbook_db_a_path_or_a_url(tmp_path, monkeypatch):
    monkeypatch.setenv("SKETCHBOOK_DB", str(tmp_path / "by-env.sqlite3"))
    with Store.open(instance=tmp_path / "unused") as store:
        save(store)
    assert (tmp_path / "by-env.sqlite3").is_file()
    assert not (tmp_path / "unused" / "feedback.sqlite3").exists()  # (only the key is there)
    with Store.open(f"sqlite:///{tmp_path / 'by-env.sqlite3'}") as store:  # the argument wins
        assert store.stats() == {"cat": 1}


@pytest.mark.parametrize("url, words", [
    ("mysql://user@host/db", "of a kind I cannot use"),
    ("sqlite+nosuchdriver:///x", "of a kind I cannot use"),
    ("postgresql+psycopg2://user@host/db", "of a kind I cannot use"),
    ("://nothing", "cannot be read"),
])
def test_a_database_url_of_the_wrong_kind_is_a_config_error(url, words):
    with pytest.raises(ConfigError, match=words):
        Store.open(url)


@pytest.mark.parametrize("variable, value", [
    ("SKETCHBOOK_FEEDBACK_RATE", "five"), ("SKETCHBOOK_FEEDBACK_RATE", "0"),
    ("SKETCHBOOK_FEEDBACK_CAP", "-3"), ("SKETCHBOOK_FEEDBACK_CAP", "1e5"),
])
def test_a_rate_or_cap_that_is_no_whole_number_is_a_config_error(variable, value, sqlite_url,
                                                                  monkeypatch):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"{variable} must be a whole number"):
        Store.open(sqlite_url)


def test_rate_and_cap_from_the_environment(sqlite_url, monkeypatch):
    monkeypatch.setenv("SKETCHBOOK_FEEDBACK_RATE", "2")
    monkeypatch.setenv("SKETCHBOOK_FEEDBACK_CAP", "7")
    with Store.open(sqlite_url) as store:
        assert (store.rate, store.cap) == (2, 7)
    with Store.open(sqlite_url, rate=9, cap=11) as store:
        assert (store.rate, store.cap) == (9, 11)


def test_the_address_is_nowhere_in_the_files(tmp_path):
    instance = tmp_path / "instance"

    def everything() -> bytes:
        return b"".join(path.read_bytes() for path in instance.iterdir() if path.is_file())

    store = Store.open(instance=instance)
    for number in range(3):
        save(store, client=ADDRESS)
    data = everything()  # the database, its write-ahead log and shared memory, the key
    assert len(data) > 4096 and b"cat" in data
    for form in (ADDRESS.encode(), ADDRESS.encode("utf-16-le"), bytes([203, 0, 113, 77])):
        assert form not in data
    store.close()
    assert ADDRESS.encode() not in everything()


@pytest.fixture
def filled(tmp_path):
    """A SQLite file with one drawing, closed."""
    path = tmp_path / "filled.sqlite3"
    with Store.open(f"sqlite:///{path}") as store:
        save(store)
    return path


def _assert_read_only(url):
    with Store.open(url) as store:
        assert store.stats() == {"cat": 1}  # reading still works
        with pytest.raises(Unavailable) as refused:
            save(store, client="192.0.2.1")
        assert refused.value.status == 503
        assert str(refused.value) == "Your drawing was not kept: the database is read-only."
        assert "readonly" in refused.value.detail
        with pytest.raises(Unavailable, match="The database is read-only."):
            store.delete("1")


def test_a_read_only_database_uri_gives_a_sentence(filled):
    _assert_read_only(f"sqlite:///file:{filled}?mode=ro&uri=true")


def test_a_read_only_database_file_gives_a_sentence(filled):
    """A file nobody may write, root included: as root file modes do not stop a write, so the
    file is made immutable (``chattr +i``, which binds root too); otherwise it is chmod 444."""
    as_root = os.geteuid() == 0
    if as_root:
        made = subprocess.run(["chattr", "+i", str(filled)], capture_output=True, text=True)
        if made.returncode != 0:
            pytest.skip(f"this file system cannot make a file immutable: {made.stderr.strip()}")
    else:
        filled.chmod(0o444)
    try:
        with pytest.raises(PermissionError), open(filled, "r+b"):  # really, for this user too
            pass
        _assert_read_only(f"sqlite:///{filled}")
    finally:
        if as_root:
            subprocess.run(["chattr", "-i", str(filled)], check=True)
        filled.chmod(0o644)


def test_a_full_database_gives_a_sentence(filled, monkeypatch):
    """SQLite's own limit on the file's pages: what it says on a full disk (SQLITE_FULL)."""
    pages = sqlite3.connect(filled).execute("PRAGMA page_count").fetchone()[0]
    create = database._sqlite

    def limited(url):
        engine = create(url)

        @event.listens_for(engine, "connect")
        def _limit(dbapi_connection, _record):
            dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

        return engine

    monkeypatch.setattr(database, "_sqlite", limited)
    with Store.open(f"sqlite:///{filled}") as store:
        with pytest.raises(Unavailable) as refused:
            for number in range(200):
                save(store, client=f"192.0.2.{number}")
        assert str(refused.value) == "Your drawing was not kept: the database is full."
        assert "full" in refused.value.detail
        assert store.stats()["cat"] >= 1


def test_a_database_locked_too_long_gives_a_sentence(filled, monkeypatch):
    monkeypatch.setattr(database, "BUSY_SECONDS", 0.3)
    with Store.open(f"sqlite:///{filled}") as store:
        other = sqlite3.connect(filled, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer that does not let go
        try:
            with pytest.raises(Unavailable) as refused:
                save(store)
            assert str(refused.value) == ("Your drawing was not kept: the database was busy "
                                          "for too long; please try again in a moment.")
            assert store.stats() == {"cat": 1}  # readers are not held up in WAL mode
        finally:
            other.execute("ROLLBACK")
            other.close()
        save(store, client="192.0.2.1")  # once the lock is gone, saving works again


def test_a_writer_waits_its_turn_instead_of_failing(filled):
    with Store.open(f"sqlite:///{filled}") as store:
        other = sqlite3.connect(filled, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.5, lambda: other.execute("COMMIT"))
        release.start()
        try:
            save(store, client="192.0.2.1")
        finally:
            release.join()
            other.close()
        assert store.stats() == {"cat": 2}


def test_a_file_that_is_no_database_or_no_folder_gives_a_sentence(tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database file, " * 200)
    with pytest.raises(Unavailable) as refused:
        Store.open(f"sqlite:///{junk}")
    assert str(refused.value) == "The database file cannot be opened or read."
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(Unavailable, match="The database's folder cannot be created."):
        Store.open(instance=blocker / "instance")


def test_a_database_of_another_version_is_a_sentence(filled):
    with sqlite3.connect(filled) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'f00d'")
    with pytest.raises(Unavailable) as refused:
        Store.open(f"sqlite:///{filled}")
    assert str(refused.value) == ("The database was made by another version of this app: its "
                                  "schema cannot be brought up to date.")
