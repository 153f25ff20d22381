"""The feedback store's tests run against a real SQLite file and a real PostgreSQL server.

``postgres`` is one throwaway server for the session (``testkit.postgres.Cluster``); when
PostgreSQL is not installed the tests that need it fail and say what to install (``make test``
installs it), they never skip. ``db_url`` runs a test on both: a new SQLite file, or a new
database on that server. No SKETCHBOOK_ setting of the developer's leaks in.
"""

import os

import pytest

from testkit.postgres import Cluster, PostgresMissing


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    for name in [name for name in os.environ if name.startswith("SKETCHBOOK_")]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server on 127.0.0.1 for the whole session, stopped and removed after."""
    try:
        cluster = Cluster()
    except PostgresMissing as missing:
        pytest.fail(str(missing), pytrace=False)
    with cluster:
        yield cluster


@pytest.fixture
def sqlite_url(tmp_path):
    """A SQLite file that does not exist yet, in a folder that does not exist yet."""
    return f"sqlite:///{tmp_path / 'instance' / 'feedback.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, sqlite_url):
    """A new, empty database of each kind."""
    if request.param == "sqlite":
        return sqlite_url
    return request.getfixturevalue("postgres").create_database()
