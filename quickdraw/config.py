"""Settings of the quickdraw package: the ONE place environment variables are read.

``QUICKDRAW_SOURCE``  where ``<name>.npy`` files come from: a base URL (http/https),
                      a ``file://`` URL or a local folder (relative to the current
                      directory). Default: Google's official numpy_bitmap bucket.
``QUICKDRAW_STROKES_SOURCE``  the same for the simplified stroke drawings,
                      ``<name>.ndjson``. Default: the official bucket's simplified folder.
``QUICKDRAW_CACHE``   the folder downloaded files are kept in. Default:
                      ``$XDG_CACHE_HOME/quickdraw``, else ``~/.cache/quickdraw``.
``QUICKDRAW_TIMEOUT`` seconds to wait for a server to connect or send more bytes
                      (default 30).

An explicit argument (``source=``, ``cache=``, ``timeout=`` or the CLI options)
always wins over the environment, which wins over the default.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from .errors import QuickDrawError

DEFAULT_SOURCE = "https://storage.googleapis.com/quickdraw_dataset/full/numpy_bitmap"
DEFAULT_STROKES_SOURCE = "https://storage.googleapis.com/quickdraw_dataset/full/simplified"
DEFAULT_TIMEOUT = 30.0


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def source(explicit: str | os.PathLike | None = None) -> str:
    """The source of bitmaps to fetch from, as the user wrote it (URL or folder path)."""
    if explicit is not None and str(explicit).strip():
        return str(explicit).strip()
    return _env("QUICKDRAW_SOURCE") or DEFAULT_SOURCE


def strokes_source(explicit: str | os.PathLike | None = None) -> str:
    """The source of simplified stroke drawings, as the user wrote it (URL or folder path)."""
    if explicit is not None and str(explicit).strip():
        return str(explicit).strip()
    return _env("QUICKDRAW_STROKES_SOURCE") or DEFAULT_STROKES_SOURCE


def cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The absolute cache folder (not created here)."""
    if explicit is not None and str(explicit).strip():
        folder = Path(explicit)
    elif _env("QUICKDRAW_CACHE"):
        folder = Path(_env("QUICKDRAW_CACHE"))
    elif _env("XDG_CACHE_HOME"):
        folder = Path(_env("XDG_CACHE_HOME")) / "quickdraw"
    else:
        folder = Path("~/.cache/quickdraw")
    return Path(os.path.abspath(folder.expanduser()))


def timeout(explicit: float | None = None) -> float:
    """Seconds a connection may stay silent before the download is abandoned."""
    if explicit is not None:
        value, origin = explicit, "timeout"
    elif _env("QUICKDRAW_TIMEOUT"):
        value, origin = _env("QUICKDRAW_TIMEOUT"), "QUICKDRAW_TIMEOUT"
    else:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise QuickDrawError(f"{origin} must be a positive number of seconds, not {value!r}")
    return seconds
