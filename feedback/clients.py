"""Telling clients apart without keeping their addresses: a keyed hash, and where its key lives.

The rate limit needs to know that two saves came from the same address, never which address
it was. So the store keeps only HMAC-SHA256(key, address), in hex, and only for a minute
(``rate_hits``). Without the key the hash cannot be turned back into an address, not even by
trying all four billion IPv4 addresses.

The key: the one given (``Store.open(secret=...)``, else $SKETCHBOOK_SECRET), else a random
key made once and kept beside the SQLite database in the instance folder (``feedback.secret``,
readable by its owner only), else (PostgreSQL, shared by several app servers, which must all
hash an address alike) a random key kept in the database's ``secrets`` table.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as random
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from .config import SECRET_FILE
from .errors import Unavailable
from .schema import keys

KEY_BYTES = 32
_NAME = "client-address-hmac"  # the key's row in the ``secrets`` table
_DOMAIN = b"sketchbook feedback client address\0"  # so the key signs nothing else alike


def client_hash(key: bytes, address: str) -> str:
    """The keyed hash of a client address, 64 hex digits."""
    data = _DOMAIN + str(address).encode("utf-8", "surrogatepass")
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def file_key(folder: Path) -> bytes:
    """The key kept in ``folder/feedback.secret``, made now if there is none. Processes that
    start together agree: the file appears whole (written aside, then linked) or not at all."""
    path = Path(folder) / SECRET_FILE
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    try:
        folder.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{random.token_hex(4)}")
        handle = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(handle, random.token_bytes(KEY_BYTES))
            os.fsync(handle)
        finally:
            os.close(handle)
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process was first: its key is the key
        finally:
            os.unlink(aside)
        return _read(path)
    except OSError as error:
        raise Unavailable("Your drawing was not kept: the key for client addresses cannot "
                          "be stored.", f"{path}: {error.strerror or error}") from None


def _read(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) < 16:
        raise Unavailable("Your drawing was not kept: the key for client addresses is "
                          "damaged.", f"{path} holds {len(key)} bytes")
    return key


def table_key(connection: Connection) -> bytes:
    """The key kept in the database, made now if there is none. Call it in a write
    transaction that holds the writers' lock, so two processes cannot both make one."""
    found = connection.execute(select(keys.c.value).where(keys.c.name == _NAME)).scalar()
    if found is None:
        found = random.token_bytes(KEY_BYTES)
        connection.execute(insert(keys).values(name=_NAME, value=found))
    return bytes(found)
