"""The PostgreSQL store on a real server: the rows outlive a restart, a server that is down is a
sentence (and the store recovers when it is back), and app servers that share the database
share the key of the client hash, so the rate limit holds across them."""

from __future__ import annotations

import pytest

from feedback import Rejected, Store, Unavailable
from feedback.config import database_url
from testkit import postgres as testkit_postgres
from testkit.postgres import DRAWING, PostgresMissing, write_at_once
from testkit.server import free_port

pytestmark = pytest.mark.timeout(300)


def save(store, client="192.0.2.1"):
    return store.save(drawing=DRAWING, label="giraffe", guess="camel", confidence=0.4,
                      model="tiny", model_sha256="0" * 64, client=client)


def test_postgresql_urls_use_psycopg_3():
    for text in ("postgresql://u@h/d", "postgres://u@h/d", "postgresql+psycopg://u@h/d"):
        assert database_url(text, None).drivername == "postgresql+psycopg"


def test_restart_the_server_and_the_rows_are_there(postgres):
    url = postgres.create_database()
    outcomes = write_at_once(url, processes=4, saves=50, rate=1000)
    saved = sorted(row_id for outcome in outcomes for row_id in outcome.saved)
    assert len(saved) == 200
    store = Store.open(url)  # open before the restart, used after it
    postgres.restart()
    with Store.open(url) as again:
        assert again.stats() == {"cat": 200}
        assert sorted(t.id for t in again.list(limit=1000)) == saved
    assert store.stats() == {"cat": 200}  # its old connections are replaced, not an error
    save(store)
    assert store.stats() == {"cat": 200, "giraffe": 1}
    store.close()


def test_a_server_that_is_down_is_a_sentence_and_the_store_recovers(postgres):
    url = postgres.create_database()
    store = Store.open(url)
    save(store)
    with postgres.down():
        with pytest.raises(Unavailable) as refused:
            save(store, client="192.0.2.2")
        assert refused.value.status == 503
        assert str(refused.value) == ("Your drawing was not kept: the database cannot be "
                                      "reached right now; please try again later.")
        with pytest.raises(Unavailable, match="The database cannot be reached right now"):
            store.stats()
        with pytest.raises(Unavailable, match="The database cannot be reached right now"):
            Store.open(url)
    save(store, client="192.0.2.3")
    assert store.stats() == {"giraffe": 2}
    store.close()


def test_no_server_at_all_and_no_such_database(postgres):
    with pytest.raises(Unavailable, match="The database cannot be reached right now"):
        Store.open(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    with pytest.raises(Unavailable) as refused:
        Store.open(postgres.url("no_such_database"))
    assert str(refused.value) == "The database named in its URL does not exist."


def test_app_servers_sharing_the_database_share_the_key(postgres):
    """No key configured: the first store makes one in the database, and every other store
    (another app server) uses it, so one address is one client for all of them."""
    url = postgres.create_database()
    first, second = Store.open(url, rate=2), Store.open(url, rate=2)
    save(first, client="198.51.100.1")
    save(second, client="198.51.100.1")
    with pytest.raises(Rejected) as refused:
        save(first, client="198.51.100.1")
    assert refused.value.status == 429
    save(second, client="198.51.100.2")
    first.close()
    second.close()


def test_without_postgresql_installed_the_tests_say_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(testkit_postgres, "BINARIES", str(tmp_path / "nothing" / "*" / "bin"))
    with pytest.raises(PostgresMissing) as missing:
        testkit_postgres.Cluster()
    assert "run `make test`, which installs Debian's postgresql package" in str(missing.value)
