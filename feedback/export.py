"""Taught drawings as a QuickDraw source folder: ``<label>.ndjson`` and ``<label>.npy``.

The files are what the official bucket holds, so the loader and the trainer read them like a
mirror (``quickdraw.load(label, source=folder)``, ``quickdraw.load_strokes(...)``,
``--source folder``):

- ``<label>.ndjson``: one drawing a line, ``{"word", "countrycode", "timestamp",
  "recognized", "key_id", "drawing"}`` in the simplified format, written compactly as the
  official files are. ``countrycode`` is "ZZ" (unknown: we never ask where anyone is),
  ``key_id`` the row's id (decimal digits), ``timestamp`` as QuickDraw writes it
  ("2017-03-08 21:12:07.26604 UTC"), ``recognized`` whether the model's answer was right.
- ``<label>.npy``: the same drawings' 28x28 bitmaps, in the same order, as a standard ``.npy``
  file of uint8 ``(N, 784)`` rows.

Each file is written aside and moved into place, so a reader never sees half of one.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from sketch_model.facts import PIXELS

COUNTRY = "ZZ"  # ISO 3166's code for an unknown country


def timestamp(created: datetime) -> str:
    """``created`` as QuickDraw writes a time: UTC, microseconds without trailing zeros."""
    utc = created.astimezone(timezone.utc)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return f"{utc:%Y-%m-%d %H:%M:%S}{'.' + fraction if fraction else ''} UTC"


def line(label: str, key_id: str, created: datetime, recognized: bool, strokes: str) -> str:
    """One line of ``<label>.ndjson``; ``strokes``: the drawing's JSON text, as stored."""
    head = json.dumps({"word": label, "countrycode": COUNTRY, "timestamp": timestamp(created),
                       "recognized": bool(recognized), "key_id": key_id},
                      separators=(",", ":"), ensure_ascii=False)
    drawing = json.dumps(json.loads(strokes), separators=(",", ":"))
    return f'{head[:-1]},"drawing":{drawing}}}\n'


def write_label(out: Path, label: str, rows) -> int:
    """Write ``out/<label>.ndjson`` and ``out/<label>.npy`` from ``rows`` (``(id, created,
    recognized, strokes, bitmap)`` each, oldest first); return how many."""
    if not label or label in (".", "..") or "/" in label or "\0" in label:
        raise ValueError(f"the label {label!r} cannot name a file")
    lines, bitmaps = [], []
    for key_id, created, recognized, strokes, bitmap in rows:
        if len(bitmap) != PIXELS:
            raise ValueError(f"the drawing {key_id} has a bitmap of {len(bitmap)} bytes")
        lines.append(line(label, key_id, created, recognized, strokes))
        bitmaps.append(bytes(bitmap))
    array = np.frombuffer(b"".join(bitmaps), dtype=np.uint8).reshape(len(bitmaps), PIXELS)
    _replace(out / f"{label}.ndjson", lambda f: f.write("".join(lines).encode("utf-8")))
    _replace(out / f"{label}.npy", lambda f: np.save(f, array, allow_pickle=False))
    return len(lines)


def _replace(path: Path, write) -> None:
    aside = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(aside, "wb") as f:
            write(f)
        os.replace(aside, path)
    finally:
        aside.unlink(missing_ok=True)
