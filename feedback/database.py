"""The connection to the database: one SQLAlchemy engine for SQLite or PostgreSQL, how writers
take their turn, and what a database error means for a person.

SQLite: the file's folder is created on first use; WAL mode (readers never wait for the
writer); a busy timeout; and every write transaction starts with ``BEGIN IMMEDIATE``, so it
holds the file's write lock from its first statement and the worker processes' writes take
turns instead of failing halfway. PostgreSQL: a write takes a transaction-scoped advisory
lock, so saves from every process of every app server take turns the same way; a lock waited
for too long, a connection that takes too long or a server that went away is an error, not a
hang, and connections are checked before use (a restarted server is reconnected to).

Either way the store's checks (the rate per client, the cap on rows) run inside the writer's
turn, in the database: correct across processes and machines, never kept in memory.
"""

from __future__ import annotations

import os
import sqlite3
import weakref
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from .errors import ConfigError, Unavailable

BUSY_SECONDS = 10.0  # how long a write waits for the others' turn before giving up
CONNECT_SECONDS = 5  # how long reaching a PostgreSQL server may take
WRITE = "feedback_write"  # the execution option that marks a write transaction


def create(url: URL) -> Engine:
    """An engine for ``url``; nothing is connected yet (except to create a SQLite folder)."""
    try:
        if url.get_backend_name() == "sqlite":
            engine = _sqlite(url)
        else:
            engine = create_engine(url, pool_pre_ping=True, connect_args={
                "connect_timeout": CONNECT_SECONDS,
                "options": f"-c lock_timeout={int(BUSY_SECONDS * 1000)}"})
    except (ArgumentError, NoSuchModuleError, TypeError) as error:
        raise ConfigError(f"The database URL {url.render_as_string(hide_password=True)!r} "
                          f"cannot be used: {error}") from None
    # A forked worker must not share its parent's connections: it opens its own.
    ref = weakref.ref(engine)
    os.register_at_fork(after_in_child=lambda: (e := ref()) is not None and e.dispose(close=False))
    return engine


def writer(engine: Engine) -> Engine:
    """``engine`` for write transactions (``BEGIN IMMEDIATE`` on SQLite)."""
    return engine.execution_options(**{WRITE: True})


def _sqlite(url: URL) -> Engine:
    path = url.database or ""
    in_memory = path in ("", ":memory:") or url.query.get("mode") == "memory"
    if not in_memory and not path.startswith("file:"):
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        except OSError as error:
            raise Unavailable("The database's folder cannot be created.",
                              f"{os.path.dirname(path)}: {error.strerror or error}") from None
    engine = create_engine(url, connect_args={"timeout": BUSY_SECONDS})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        # The driver's own transaction handling is off: SQLAlchemy's "begin" below starts them.
        dbapi_connection.isolation_level = None
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error:  # a read-only file: reads still work, a write says why it cannot
            pass

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection):
        immediate = connection.get_execution_options().get(WRITE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write(writer: Engine, turn: str) -> Iterator[Connection]:
    """A write transaction on ``writer`` (an engine of ``writer()``) that holds the turn named
    ``turn`` until it ends, so that writers of every process take turns."""
    with writer.begin() as connection:
        _lock(connection, turn)
        yield connection


def _lock(connection: Connection, name: str) -> None:
    """Wait for the turn named ``name`` in a write transaction, until it ends. SQLite's
    ``BEGIN IMMEDIATE`` has already taken the one write lock; PostgreSQL takes an advisory
    lock."""
    if connection.dialect.name == "postgresql":
        key = zlib.crc32(f"sketchbook.feedback.{name}".encode())
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def unavailable(error: Exception, *, saving: bool = False) -> Unavailable:
    """What a database error (wrapped by SQLAlchemy or not) means, as an ``Unavailable``."""
    cause = getattr(error, "orig", None) or error
    name = getattr(cause, "sqlite_errorname", "") or ""
    state = getattr(cause, "sqlstate", None) or ""
    detail = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    lowered = detail.lower()
    if name.startswith("SQLITE_FULL") or state == "53100" or "disk is full" in lowered:
        why = "the database is full"
    elif name.startswith("SQLITE_READONLY") or state == "25006" or "readonly" in lowered:
        why = "the database is read-only"
    elif name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or state in (
            "55P03", "57014", "40P01", "40001") or "is locked" in lowered:
        why = "the database was busy for too long; please try again in a moment"
    elif state.startswith("28") or "authentication failed" in lowered or (
            "role" in lowered and "does not exist" in lowered) or "pg_hba.conf" in lowered:
        why = "the database refused the connection (a wrong user or password?)"
    elif state == "3D000" or ("database" in lowered and "does not exist" in lowered):
        why = "the database named in its URL does not exist"
    elif name.startswith(("SQLITE_CANTOPEN", "SQLITE_NOTADB", "SQLITE_CORRUPT", "SQLITE_PERM",
                          "SQLITE_IOERR")):
        why = "the database file cannot be opened or read"
    elif not name and (state.startswith(("08", "57P")) or "connection" in lowered
                       or "server" in lowered or "timeout" in lowered):
        why = "the database cannot be reached right now; please try again later"
    else:
        why = "the database is not working right now"
    sentence = f"Your drawing was not kept: {why}." if saving else f"{why[0].upper()}{why[1:]}."
    return Unavailable(sentence, detail)
