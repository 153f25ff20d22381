"""What can go wrong when someone teaches a drawing, each error a sentence for a person.

``Rejected`` is the person's doing (what they sent, or how often), with the HTTP status that
says so; ``Unavailable`` is the database's (full, read-only, busy, down), always a 503;
``ConfigError`` is the operator's (a setting that cannot work). The web layer and the command
line show ``str(error)`` as it is; nothing here knows about HTTP beyond the status number.
"""

from __future__ import annotations


def _sentence(message: str) -> str:
    """One line, whatever the caller passed."""
    return " ".join(str(message).split())


class Rejected(Exception):
    """A request we refuse because of what it carries or how often it comes.

    ``status``: 400 (malformed), 403 (not allowed), 413 (too large) or 429 (too many);
    ``retry_after``: seconds until trying again can work, for a 429 (else None).
    """

    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        if status not in (400, 403, 413, 429):
            raise ValueError(f"Rejected takes 400, 403, 413 or 429, not {status}")
        super().__init__(_sentence(message))
        self.status = status
        self.retry_after = retry_after


class Unavailable(Exception):
    """The database cannot keep the drawing now: full, read-only, locked too long or down.

    ``str()`` is the sentence for the person; ``detail`` is what the database said, for the
    operator's log (it may name files or hosts, so it is not shown to the person).
    """

    status = 503

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(_sentence(message))
        self.detail = _sentence(detail)


class ConfigError(ValueError):
    """A setting that cannot work: a database URL of an unknown kind, a rate that is no
    number. Raised when the store is opened, so a mistake shows at start, not on a save."""

    def __init__(self, message: str) -> None:
        super().__init__(_sentence(message))
