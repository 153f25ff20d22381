"""What a person may say a drawing was: one of the model's classes, or any Quick, Draw! category.

A taught drawing becomes training data for a category of the dataset, so the label has to be
one of its 345 names (``quickdraw.categories()``) or a class of the model in use; a typo gets
the close names back in the sentence ("Did you mean 'giraffe'?"), and free text is refused.
Case, underscores and runs of spaces do not matter ("Sea_Turtle " is "sea turtle"). The
model's "none of these" class is no label: a person always knows what they drew.
"""

from __future__ import annotations

import difflib

from quickdraw.categories import by_key
from quickdraw.categories import name_key as _key

from .errors import Rejected

NOT_A_LABEL = "other"  # the model's "none of these" class
MAX_LABEL = 100  # characters; the longest category name has 27
_SHOWN = 40  # characters of what was typed, quoted back in a sentence
_CLOSE = 0.6  # how alike a name must be to be suggested (difflib's ratio)
_NEAR_BEST = 0.05  # suggest the best name and those almost as alike


def check_label(text, classes: list[str]) -> str:
    """``text`` as the name it stands for: a class of ``classes`` as the model spells it, else
    a Quick, Draw! category as the dataset spells it. Anything else is ``Rejected`` (400) with
    a sentence that suggests close names."""
    if not isinstance(text, str):
        raise Rejected(400, "The label must be text: the name of what you drew.")
    if len(text) > MAX_LABEL:
        raise Rejected(400, f"The label is longer than {MAX_LABEL} characters: say what you "
                            "drew with the name of a Quick, Draw! category.")
    key = _key(text)
    if not key:
        raise Rejected(400, "The label is empty: say what you drew.")
    if key == NOT_A_LABEL:
        raise Rejected(400, "'other' is not something I can learn: say which Quick, Draw! "
                            "category the drawing is.")
    names = {**by_key(), **{_key(name): name for name in classes if _key(name) != NOT_A_LABEL}}
    if key in names:
        return names[key]
    shown = _shown(text)
    close = _close(key, list(names))
    if close:
        quoted = [f"'{names[name]}'" for name in close]
        hint = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        raise Rejected(400, f"There is no Quick, Draw! category called '{shown}'. "
                            f"Did you mean {hint}?")
    raise Rejected(400, f"There is no Quick, Draw! category called '{shown}'. Choose one of "
                        "the model's classes or a Quick, Draw! category name.")


def _close(key: str, keys: list[str]) -> list[str]:
    """The keys most like ``key``: the best and those almost as good, at most three."""
    found = difflib.get_close_matches(key, keys, n=5, cutoff=_CLOSE)
    if not found:
        return []
    ratios = [difflib.SequenceMatcher(None, key, name).ratio() for name in found]
    return [name for name, ratio in zip(found, ratios) if ratio >= ratios[0] - _NEAR_BEST][:3]


def _shown(text: str) -> str:
    """What was typed, fit to be quoted: printable, on one line, not too long."""
    clean = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return clean if len(clean) <= _SHOWN else clean[:_SHOWN - 1] + "…"
