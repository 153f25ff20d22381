"""Schema versions: Alembic brings the database to the newest revision when a store opens.

The revisions live in the package (``migrations/``), and Alembic's configuration is built here
in code, so a fresh clone needs no ``alembic.ini`` and no command before the first run. Several
processes may open the same new database at once (the server's workers): the version is read
first without taking a turn, and only a database that is behind is upgraded, inside one write
transaction that holds the writers' lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on
PostgreSQL). The first process upgrades; the others wait, then find it done. DDL is
transactional in both, so an upgrade that fails leaves nothing half made.

A new revision, for whoever changes ``schema.py``:
``alembic.command.revision(feedback.migrate.config(), "what changed")`` writes its file in
``migrations/versions``, to be filled in (and ``test_schema_matches_the_migrations`` to pass).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from . import database
from .errors import Unavailable

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
# Alembic is imported when a store opens, not with the package: the web app imports
# ``feedback`` at start and may never open a store.


def config(connection: Connection | None = None):
    """Alembic's configuration for the package's revisions; ``connection``: the one to
    migrate (``migrations/env.py`` runs on it, inside the caller's transaction)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest revision."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config()).get_current_head()


def current(connection: Connection) -> str | None:
    """The database's revision (None: a database without our tables)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision, if it is behind (see the module)."""
    from alembic import command
    from alembic.util.exc import CommandError

    newest = head()
    with engine.connect() as connection:
        if current(connection) == newest:
            return
    with database.write(database.writer(engine), "migrate") as connection:
        try:
            command.upgrade(config(connection), "head")
        except CommandError as error:  # e.g. a revision this code does not know
            raise Unavailable("The database was made by another version of this app: its "
                              "schema cannot be brought up to date.", str(error)) from None
