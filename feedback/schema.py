"""The tables, as SQLAlchemy sees them: what the store reads and writes.

``taught``    one drawing a person taught: the simplified strokes (JSON text), the 28x28 bitmap
              the dataset's renderer makes of them (784 bytes), the label, the model's answer
              and confidence, whether that answer was right, the model's name and file hash,
              and when. Nothing about the person.
``rate_hits`` one row per save in the last minute: a keyed hash of the client address (never
              the address) and the time; older rows are deleted as new ones come.
``secrets``   (``keys`` here) a random key, for a database several app servers share
              (PostgreSQL), so that they all hash an address alike.

Alembic creates and upgrades them (``migrations/``); its first revision builds exactly these,
and a test holds the two to each other.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

taught = Table(
    "taught", metadata,
    Column("id", String(20), primary_key=True),  # digits, as QuickDraw's key_id
    Column("label", String(100), nullable=False),
    Column("guess", String(100), nullable=False),
    Column("confidence", Float, nullable=True),
    Column("recognized", Boolean, nullable=False),
    Column("model", String(200), nullable=False),
    Column("model_sha256", String(64), nullable=False),
    Column("strokes", Text, nullable=False),
    Column("bitmap", LargeBinary, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Index("ix_taught_label", "label"),
    Index("ix_taught_created", "created"),
)

rate_hits = Table(
    "rate_hits", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client", String(64), nullable=False),  # HMAC-SHA256 of the address, in hex
    Column("at", Float, nullable=False),  # seconds since the epoch
    Index("ix_rate_hits_client_at", "client", "at"),
    Index("ix_rate_hits_at", "at"),
)

keys = Table(
    "secrets", metadata,
    Column("name", String(40), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)
