"""Where things are: the repository, and the offline QuickDraw mirror beside it.

The mirror (``../shared``, see the README's "Data") holds real bitmaps and stroke drawings;
tests that need them get them through the fixtures in ``tests/conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SHARED_QUICKDRAW = SHARED / "quickdraw"  # numpy_bitmap files, <name>.npy
SHARED_STROKES = SHARED / "quickdraw-strokes"  # simplified drawings, <name>.ndjson
# More rows of some of those categories, and new ones: never a drawing of the folder above
SHARED_QUICKDRAW_MORE = SHARED / "quickdraw-more"
SHARED_STROKES_MORE = SHARED / "quickdraw-strokes-more"
