"""Teaching: the corrections people give, kept in a real database to retrain the model on.

When the model's answer is wrong (or right) and the person chooses to teach it, the web app
hands the drawing here: ``parse_drawing`` checks what the request carries, ``simplify`` turns
it into Quick, Draw!'s simplified format, ``check_label`` makes sure the label is a Quick,
Draw! category (or a class of the model), and ``Store.save`` keeps it. ``python -m feedback``
counts, lists, deletes and exports the drawings; an export folder is a QuickDraw source the
loader and the trainer read like the official files.

What is stored, per drawing, and nothing else: the drawing's strokes (simplified) and the 28x28
bitmap the dataset's renderer makes of them, the label the person gave, the model's answer and
its confidence (and whether the answer was right), the model's name and the hash of its file,
and the time. What is never stored: the person's address (the rate limit sees only a keyed hash
of it, for one minute), a cookie, or anything else about the person.

SQLite by default (a file in the app's instance folder, created on first use, no server to
run), PostgreSQL for deployments with several app servers (``SKETCHBOOK_DB``; see
``feedback.config``). This package knows nothing of Flask: errors are ``Rejected`` (what was
sent, with its HTTP status), ``Unavailable`` (the database, 503) and ``ConfigError`` (a
setting), each with a sentence for a person.
"""

from .drawing import (
    MAX_JSON_BYTES,
    MAX_POINTS,
    MAX_STROKES,
    check_size,
    parse_drawing,
    simplify,
)
from .errors import ConfigError, Rejected, Unavailable
from .labels import check_label
from .store import Store, Taught

__all__ = [
    "Rejected", "Unavailable", "ConfigError", "MAX_STROKES", "MAX_POINTS", "MAX_JSON_BYTES",
    "check_size", "parse_drawing", "simplify", "check_label", "Store", "Taught",
]
