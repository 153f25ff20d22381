"""The 345 official QuickDraw category names, and checking a name against them.

The names come from ``categories.txt`` beside this module (one a line, in the
dataset's order). :func:`validate` turns what a person typed ("Sea Turtle",
" sea_turtle ") into the official spelling, or raises :class:`UnknownCategory`
with the closest names, so a typo fails at once instead of after a 404.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from pathlib import Path

from .errors import UnknownCategory

_FILE = Path(__file__).with_name("categories.txt")


@lru_cache(maxsize=1)
def _names() -> tuple[str, ...]:
    text = _FILE.read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def name_key(name: str) -> str:
    """Comparison key: case, underscores and runs of whitespace do not matter."""
    return " ".join(name.replace("_", " ").split()).casefold()


@lru_cache(maxsize=1)
def by_key() -> dict[str, str]:
    """Every official name by its ``name_key`` (one cached dict: do not change it)."""
    return {name_key(name): name for name in _names()}


def categories() -> list[str]:
    """All official category names, in the dataset's order."""
    return list(_names())


def suggestions(name: str, n: int = 3) -> list[str]:
    """Official names that look like ``name`` (best first), possibly none."""
    keys = difflib.get_close_matches(name_key(name), list(by_key()), n=n, cutoff=0.6)
    return [by_key()[key] for key in keys]


def validate(name: str) -> str:
    """Return the official spelling of ``name`` or raise :class:`UnknownCategory`."""
    if not isinstance(name, str) or not name.strip():
        raise UnknownCategory(f"a category name is needed, got {name!r}")
    found = by_key().get(name_key(name))
    if found is not None:
        return found
    close = suggestions(name)
    if close:
        quoted = [f"'{c}'" for c in close]
        hint = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        hint = f"did you mean {hint}?"
    else:
        hint = "run `python -m quickdraw list` to see all of them."
    raise UnknownCategory(f"'{name.strip()}' is not a QuickDraw category; {hint}")
