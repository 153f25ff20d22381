"""The store of taught drawings: saving one, counting, listing, deleting, exporting.

One code path for SQLite and PostgreSQL (SQLAlchemy Core; ``database`` holds the few
differences, ``migrate`` the schema's versions). A save is one transaction, taken in turn
with every other writer of every process (``database.write``), which checks in the database
that the client has saved fewer than ``rate`` drawings in the last minute (else ``Rejected``
429) and that the store holds fewer than ``cap`` rows (else ``Unavailable``, 503: a full
store is a state of the service, like a full disk, not something the person did), then writes
the drawing. A database error of any kind (full disk, read-only file, lock waited for too long,
server down) is an ``Unavailable`` with a sentence.

What a row holds: the simplified strokes and their 28x28 bitmap, the label, the model's answer
(``guess``) and confidence, whether the answer was right, the model's name and file hash, and
the time. The client's address is never stored: the rate limit sees only its keyed hash
(``clients``), kept for a minute and deleted by the next save, open or close.
"""

from __future__ import annotations

import json
import math
import secrets as random
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from sketch_model.imaging.render import as_points, render_quickdraw

from . import clients, config, database, migrate
from . import export as files
from .drawing import as_simplified
from .errors import Rejected, Unavailable
from .schema import rate_hits, taught

WINDOW_SECONDS = 60  # the rate is counted over the last minute
_ID_DIGITS = 16  # as QuickDraw's key_id
_ID_ATTEMPTS = 3  # a new id that is already taken (one chance in 10^11 at the cap) is redrawn


@dataclass(frozen=True)
class Taught:
    """One taught drawing, as stored."""

    id: str  # decimal digits, QuickDraw's key_id in an export
    label: str  # what the person said it is
    guess: str  # what the model answered (a class, or "unsure")
    confidence: float | None  # the model's confidence in its answer, 0..1, if known
    recognized: bool  # guess == label
    model: str  # the model's name
    model_sha256: str  # the hash of the model's file
    drawing: list  # the simplified strokes, [[xs], [ys]] per stroke
    created: datetime  # when, in UTC


class Store:
    """Taught drawings in a database. Open one per process with ``Store.open``."""

    def __init__(self, engine, *, rate: int, cap: int, key: bytes | None,
                 key_folder: Path | None) -> None:
        self._engine = engine
        self._writer = database.writer(engine)
        self.rate = rate
        self.cap = cap
        self._key = key
        self._key_folder = key_folder

    @classmethod
    def open(cls, url: str | None = None, *, instance: Path | None = None,
             rate: int | None = None, cap: int | None = None,
             secret: bytes | None = None) -> "Store":
        """The store at ``url`` (else $SKETCHBOOK_DB, else ``<instance>/feedback.sqlite3``,
        created on first use), its schema brought up to date. ``rate``: saves a minute per
        client (else $SKETCHBOOK_FEEDBACK_RATE, else 5); ``cap``: rows in total (else
        $SKETCHBOOK_FEEDBACK_CAP, else 100,000); ``secret``: the key of the client hash (else
        $SKETCHBOOK_SECRET, else one made and kept, see ``clients``).

        ``ConfigError`` for a setting that cannot work; ``Unavailable`` for a database that
        cannot be reached or upgraded."""
        location = config.database_url(url, instance)
        rate, cap, key = config.rate(rate), config.cap(cap), config.secret(secret)
        folder = None
        if location.get_backend_name() == "sqlite" and (instance is not None
                                                    or config.is_default(url)):
            folder = Path(instance) if instance is not None else config.DEFAULT_INSTANCE
        engine = database.create(location)
        try:
            migrate.upgrade(engine)
        except SQLAlchemyError as error:
            engine.dispose()
            raise database.unavailable(error) from None
        except BaseException:
            engine.dispose()
            raise
        store = cls(engine, rate=rate, cap=cap, key=key, key_folder=folder)
        store._purge()
        return store

    # -- writing ---------------------------------------------------------------------------

    def save(self, *, drawing, label: str, guess: str, confidence: float | None, model: str,
             model_sha256: str, client: str) -> Taught:
        """Keep one drawing (already simplified: ``feedback.simplify``) with what it is
        (``label``, checked by ``feedback.check_label``) and the model's answer. ``client``:
        the address it came from, for the rate limit only (hashed, never stored).

        ``Rejected`` (429) past the rate; ``Unavailable`` (503) when the store is full or the
        database cannot write."""
        strokes = as_simplified(drawing)
        bitmap = render_quickdraw(as_points(strokes)).astype(np.uint8).reshape(-1).tobytes()
        if confidence is not None:
            confidence = float(confidence)
            if not math.isfinite(confidence):
                raise ValueError("confidence must be a finite number or None")
        row = {"label": str(label), "guess": str(guess), "confidence": confidence,
               "recognized": guess == label, "model": str(model),
               "model_sha256": str(model_sha256),
               "strokes": json.dumps(strokes, separators=(",", ":")), "bitmap": bitmap}
        for attempt in range(_ID_ATTEMPTS):
            try:
                return self._save(row, client)
            except IntegrityError as error:
                if attempt == _ID_ATTEMPTS - 1:
                    raise database.unavailable(error, saving=True) from None
            except SQLAlchemyError as error:
                raise database.unavailable(error, saving=True) from None
        raise AssertionError("unreachable")

    def _save(self, row: dict, client: str) -> Taught:
        refusal: Exception | None = None
        with database.write(self._writer, "save") as connection:
            now = _now()
            _expire(connection, now)
            key = clients.client_hash(self._client_key(connection), client)
            recent, oldest = connection.execute(
                select(func.count(), func.min(rate_hits.c.at)).where(
                    rate_hits.c.client == key)).one()
            if recent >= self.rate:
                wait = max(1, math.ceil(oldest + WINDOW_SECONDS - now))
                refusal = Rejected(429, f"You have taught me {recent} drawings in the last "
                                        f"minute, as many as I take: please wait {wait} seconds "
                                        "before teaching me another.", retry_after=wait)
            elif connection.execute(select(func.count()).select_from(taught)).scalar() >= \
                    self.cap:
                refusal = Unavailable(f"Your drawing was not kept: I already hold "
                                      f"{self.cap:,} taught drawings, as many as I may.",
                                      f"the cap of {self.cap} rows is reached")
            else:
                created = datetime.fromtimestamp(now, timezone.utc)
                row_id = str(10 ** (_ID_DIGITS - 1)
                             + random.randbelow(9 * 10 ** (_ID_DIGITS - 1)))
                connection.execute(insert(rate_hits).values(client=key, at=now))
                connection.execute(insert(taught).values(id=row_id, created=created, **row))
        if refusal is not None:  # raised after the commit: the purge above is kept
            raise refusal
        return _taught({**row, "id": row_id, "created": created})

    def _client_key(self, connection) -> bytes:
        if self._key is None:
            self._key = (clients.file_key(self._key_folder) if self._key_folder is not None
                         else clients.table_key(connection))
        return self._key

    def _purge(self) -> None:
        """Delete the rate rows older than a minute; a database that cannot write now keeps
        them until one that can (the next save, open or close)."""
        try:
            with database.write(self._writer, "save") as connection:
                _expire(connection, _now())
        except SQLAlchemyError:
            pass

    def delete(self, id: str) -> bool:
        """Delete the drawing ``id``; whether there was one."""
        try:
            with database.write(self._writer, "save") as connection:
                return connection.execute(delete(taught).where(taught.c.id == str(id))
                                          ).rowcount > 0
        except SQLAlchemyError as error:
            raise database.unavailable(error) from None

    # -- reading ---------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Drawings per label, labels in order (Python's, whatever the database's collation)."""
        query = select(taught.c.label, func.count()).group_by(taught.c.label)
        return dict(sorted((label, count) for label, count in self._read(query)))

    def list(self, limit: int = 50) -> list[Taught]:
        """The ``limit`` newest drawings, newest first."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError("limit must be a whole number, 1 or more")
        query = select(taught).order_by(taught.c.created.desc(), taught.c.id.desc()).limit(limit)
        return [_taught(row._mapping) for row in self._read(query)]

    def export(self, out: Path) -> dict[str, int]:
        """Write every label's drawings to ``out`` as ``<label>.ndjson`` and ``<label>.npy``
        (oldest first; see ``feedback.export``), so that ``out`` is a QuickDraw source folder.
        Returns the drawings per label. Files of other labels in ``out`` are left alone."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        counts = {}
        for label in self.stats():
            query = select(taught.c.id, taught.c.created, taught.c.recognized, taught.c.strokes,
                           taught.c.bitmap).where(taught.c.label == label).order_by(
                taught.c.created, taught.c.id)
            rows = [(key_id, _utc(created), recognized, strokes, bitmap)
                    for key_id, created, recognized, strokes, bitmap in self._read(query)]
            if rows:
                counts[label] = files.write_label(out, label, rows)
        return counts

    def _read(self, query) -> list:
        try:
            with self._engine.connect() as connection:
                return connection.execute(query).all()
        except SQLAlchemyError as error:
            raise database.unavailable(error) from None

    def close(self) -> None:
        """Purge the old rate rows and let go of the connections."""
        self._purge()
        self._engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _expire(connection, now: float) -> None:
    """Delete the rate rows older than a minute: they no longer count against anyone."""
    connection.execute(delete(rate_hits).where(rate_hits.c.at <= now - WINDOW_SECONDS))


def _now() -> float:
    """Seconds since the epoch: the time of a save and of its rate row."""
    return time.time()


def _utc(value: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite hands back naive UTC times)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else \
        value.astimezone(timezone.utc)


def _taught(row) -> Taught:
    return Taught(id=row["id"], label=row["label"], guess=row["guess"],
                  confidence=row["confidence"], recognized=bool(row["recognized"]),
                  model=row["model"], model_sha256=row["model_sha256"],
                  drawing=json.loads(row["strokes"]), created=_utc(row["created"]))
