"""Settings of the feedback store: the ONE place its environment variables are read.

``SKETCHBOOK_DB``             where taught drawings are kept: a ``sqlite:///`` or
                              ``postgresql://`` URL, or the path of a SQLite file. Default: the
                              SQLite file ``feedback.sqlite3`` in the app's instance folder
                              (``<repository>/instance``, where Flask keeps it), created on
                              first use: ``make run`` needs no database server.
``SKETCHBOOK_FEEDBACK_RATE``  saves a minute from one client address (default 5).
``SKETCHBOOK_FEEDBACK_CAP``   rows in total (default 100,000).
``SKETCHBOOK_SECRET``         the key of the client addresses' keyed hash (the web app signs
                              with it too). Default: a random key made once and kept in the
                              instance folder (SQLite) or in the database (PostgreSQL, so that
                              every app server hashes an address alike).

An explicit argument (``Store.open(url, rate=..., cap=..., secret=...)``, ``--db``) always
wins over the environment, which wins over the default.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = REPO / "instance"  # Flask's instance folder for the app in ``web``
DB_FILE = "feedback.sqlite3"
SECRET_FILE = "feedback.secret"
DEFAULT_RATE = 5
DEFAULT_CAP = 100_000


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def database_url(explicit: str | None, instance: Path | None) -> URL:
    """The SQLAlchemy URL of the database: ``explicit``, else $SKETCHBOOK_DB, else the SQLite
    file in ``instance`` (else the default instance folder). ``postgresql://`` (and
    ``postgres://``) use the psycopg 3 driver; a text without ``://`` is a SQLite file path."""
    text = (explicit or "").strip() or _env("SKETCHBOOK_DB")
    if text is None:
        folder = Path(instance) if instance is not None else DEFAULT_INSTANCE
        return URL.create("sqlite", database=str(folder.absolute() / DB_FILE))
    if "://" not in text:
        return URL.create("sqlite", database=os.path.abspath(os.path.expanduser(text)))
    try:
        url = make_url(text)
    except ArgumentError:
        raise ConfigError(f"The database URL {_hidden(text)!r} cannot be read: use "
                          "sqlite:///path/to/file or postgresql://user@host/name.") from None
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return url.set(drivername="postgresql+psycopg")
    if url.drivername == "sqlite":
        return url
    raise ConfigError(f"The database URL {url.render_as_string(hide_password=True)!r} is of "
                      "a kind I cannot use: use sqlite:///path/to/file or "
                      "postgresql://user@host/name.")


def _hidden(text: str) -> str:
    """A URL that could not be parsed, shown without what may be a password."""
    scheme, _, rest = text.partition("://")
    return f"{scheme}://…" if "@" in rest else text


def is_default(explicit: str | None) -> bool:
    """Whether no database was named (so the SQLite file in the instance folder is used)."""
    return not (explicit or "").strip() and _env("SKETCHBOOK_DB") is None


def rate(explicit: int | None) -> int:
    """Saves a minute allowed from one client."""
    return _count(explicit, "SKETCHBOOK_FEEDBACK_RATE", DEFAULT_RATE, "saves a minute")


def cap(explicit: int | None) -> int:
    """Rows the store may hold in total."""
    return _count(explicit, "SKETCHBOOK_FEEDBACK_CAP", DEFAULT_CAP, "drawings")


def _count(explicit: int | None, name: str, default: int, unit: str) -> int:
    if explicit is not None:
        value, origin = explicit, name.removeprefix("SKETCHBOOK_FEEDBACK_").lower()
    elif _env(name) is not None:
        value, origin = _env(name), name
    else:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or number < 1 or str(number) != str(value).strip():
        raise ConfigError(f"{origin} must be a whole number of {unit}, 1 or more, "
                          f"not {str(value)[:40]!r}.")
    return number


def secret(explicit: bytes | None) -> bytes | None:
    """The key for hashing client addresses, if one is given (else the store makes one)."""
    if explicit is not None:
        if not isinstance(explicit, bytes) or not explicit:
            raise ConfigError("The secret for hashing client addresses must be non-empty bytes.")
        return explicit
    value = _env("SKETCHBOOK_SECRET")
    return value.encode("utf-8") if value is not None else None
