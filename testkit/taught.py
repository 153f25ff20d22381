"""What a feedback database holds, read the way the commands read it (``feedback.Store``)."""

from __future__ import annotations

import feedback


def rows(url: str, limit: int = 1000) -> list[feedback.Taught]:
    """The taught drawings at ``url``, newest first."""
    store = feedback.Store.open(url)
    try:
        return store.list(limit)
    finally:
        store.close()
