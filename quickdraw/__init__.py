"""Fetch and load Google Quick, Draw! drawings: ``numpy_bitmap`` files (28x28 uint8 bitmaps)
and ``simplified`` stroke files (``.ndjson``, one drawing a line).

    >>> import quickdraw
    >>> cats = quickdraw.load("cat", 5000)      # (5000, 784) uint8, white ink on black
    >>> quickdraw.fetch("sea turtle", 1000)     # Path of the cached .npy file
    >>> ants = quickdraw.load_strokes("ant", 25)  # [Drawing(word, strokes, ...), ...]

Only the bytes needed are downloaded (an HTTP Range request for the first N
rows; the first N lines of a stroke file, streamed) and kept in a cache folder; a
later, larger request fetches only the missing drawings. Where files come from and
where they are kept are set by ``QUICKDRAW_SOURCE`` (bitmaps),
``QUICKDRAW_STROKES_SOURCE`` (strokes) and ``QUICKDRAW_CACHE`` (see
:mod:`quickdraw.config`) or by the ``source=`` and ``cache=`` arguments. A cached
file with enough drawings is used whatever source it came from.

Errors a user can cause are :class:`QuickDrawError` subclasses with a one-line
message. This package never imports TensorFlow.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import config
from .cache import Cache, CachedFile
from .categories import categories, validate
from .errors import (
    CacheError,
    DownloadError,
    DownloadTimeout,
    EmptyDrawing,
    MalformedDrawing,
    MissingFile,
    NotNpyFile,
    NotStrokeFile,
    QuickDrawError,
    SourceError,
    TruncatedData,
    UnknownCategory,
    WrongCategory,
)
from .fetch import FetchResult, fetch_file, read_rows
from .strokes import Drawing, fetch_strokes, load_strokes

__all__ = [
    "load", "fetch", "load_strokes", "fetch_strokes", "Drawing", "categories", "cached",
    "validate", "CachedFile", "FetchResult", "fetch_file", "QuickDrawError", "UnknownCategory",
    "SourceError", "MissingFile", "DownloadError", "DownloadTimeout", "NotNpyFile",
    "TruncatedData", "NotStrokeFile", "MalformedDrawing", "WrongCategory", "EmptyDrawing",
    "CacheError",
]

PathLike = str | os.PathLike


def fetch(name: str, limit: int | None = None, *, source: config.Sources = None,
          cache: PathLike | None = None, progress: bool | None = None,
          timeout: float | None = None) -> Path:
    """Ensure the cache holds at least the first ``limit`` drawings of ``name``.

    ``limit=None`` means every drawing of the sources. ``source``: one source or a list of
    them, read in order (default ``QUICKDRAW_SOURCE``, else the official bucket). Returns
    the path of the cached ``.npy`` file (which may hold more rows than asked for, or fewer
    if the sources have fewer). ``progress``: None shows a bar on long downloads when stderr
    is a terminal, True always, False never. ``timeout`` is in seconds.
    """
    return fetch_file(name, limit, source=source, cache=cache, progress=progress,
                      timeout=timeout).path


def load(name: str, limit: int | None = None, *, source: config.Sources = None,
         cache: PathLike | None = None, progress: bool | None = None,
         timeout: float | None = None) -> np.ndarray:
    """The first ``limit`` drawings of ``name`` (all if None) as uint8 of shape (N, 784).

    N = min(limit, drawings available). Fetches into the cache first if needed.
    """
    path = fetch(name, limit, source=source, cache=cache, progress=progress, timeout=timeout)
    return read_rows(path, limit)


def cached(cache: PathLike | None = None) -> list[CachedFile]:
    """The valid bitmap files in the cache folder, by name: ``(name, rows, bytes, path)``
    each (:class:`~quickdraw.cache.StrokeCache` lists the stroke files)."""
    return Cache(config.cache_dir(cache)).scan()[0]


def cache_folder(cache: PathLike | None = None) -> Path:
    """The cache folder in use (from ``cache``, ``QUICKDRAW_CACHE`` or the default)."""
    return config.cache_dir(cache)
