"""Settings of the quickdraw package: the ONE place environment variables are read.

``QUICKDRAW_SOURCE``  where ``<name>.npy`` files come from: a base URL (http/https),
                      a ``file://`` URL or a local folder (relative to the current
                      directory), or several of them separated by spaces (quote one
                      that holds a space, as in a shell): a category's drawings are
                      then the rows of every source that has it, in that order.
                      Default: Google's official numpy_bitmap bucket.
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
import shlex
from pathlib import Path

from .errors import QuickDrawError

DEFAULT_SOURCE = "https://storage.googleapis.com/quickdraw_dataset/full/numpy_bitmap"
DEFAULT_STROKES_SOURCE = "https://storage.googleapis.com/quickdraw_dataset/full/simplified"
DEFAULT_TIMEOUT = 30.0


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


Sources = str | os.PathLike | list | tuple | None  # one source, or several in order


def source(explicit: Sources = None) -> list[str]:
    """The sources of bitmaps to fetch from, in order, as the user wrote them (URLs or
    folder paths)."""
    return _sources(explicit, "QUICKDRAW_SOURCE", DEFAULT_SOURCE)


def strokes_source(explicit: Sources = None) -> list[str]:
    """The sources of simplified stroke drawings, in order, as the user wrote them."""
    return _sources(explicit, "QUICKDRAW_STROKES_SOURCE", DEFAULT_STROKES_SOURCE)


def _sources(explicit: Sources, variable: str, default: str) -> list[str]:
    """``explicit`` (one source, or a list of them) when it names any, else the variable's
    list, else the default. A variable that names one existing folder is that folder even
    when its name holds a space, as before lists were possible."""
    if isinstance(explicit, (list, tuple)):
        named = [str(one).strip() for one in explicit if one is not None and str(one).strip()]
    else:
        named = [str(explicit).strip()] if explicit is not None and str(explicit).strip() \
            else []
    if named:
        return list(dict.fromkeys(named))
    value = _env(variable)
    if value is None:
        return [default]
    if os.path.isdir(os.path.expanduser(value)):
        return [value]
    try:
        named = shlex.split(value)
    except ValueError as error:
        raise QuickDrawError(f"{variable} cannot be read as a list of sources ({error}): "
                             "separate them by spaces and quote one that holds a space"
                             ) from None
    return list(dict.fromkeys(named)) or [default]


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
