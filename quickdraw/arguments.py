"""Number arguments of the project's commands, with their bounds and a sentence when out.

``python -m quickdraw``, ``python -m sketch_model.train`` and ``python app.py`` all take counts,
limits and seconds; quickdraw is the layer every command may import, so the one parser lives
here.
"""

from __future__ import annotations

import argparse
import math


def bounded(name: str, low: float, high: float = math.inf, kind: type = int):
    """An argparse type: a ``kind`` (int or float) from ``low`` to ``high``, else an error
    naming ``name`` and the bounds."""
    what = "a whole number" if kind is int else "a number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {what}, not {text!r}") from None
        if not low <= value <= high:  # also refuses nan
            bounds = f"at least {low:g}" if high == math.inf else f"{low:g}..{high:g}"
            raise argparse.ArgumentTypeError(f"{name} must be {bounds}, not {value:g}")
        return value
    return parse
