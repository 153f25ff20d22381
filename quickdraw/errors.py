"""The exceptions of the quickdraw package.

Every error a user can cause (a typo in a category name, no network, a wrong
``QUICKDRAW_SOURCE``, a damaged cache folder...) is raised as a subclass of
:class:`QuickDrawError` whose message is one line written for a person, so the
command line can print ``error: <message>`` and callers can catch one class.
"""

from __future__ import annotations


class QuickDrawError(Exception):
    """Base class: something about QuickDraw data the user can fix or retry."""

    def __init__(self, message: str) -> None:
        # One line, whatever the caller passed: str(error) is what the CLI prints.
        super().__init__(" ".join(str(message).split()))


class UnknownCategory(QuickDrawError, ValueError):
    """The name is not one of the 345 QuickDraw categories."""


class SourceError(QuickDrawError):
    """Something is wrong with where the data comes from (URL or folder)."""


class MissingFile(SourceError):
    """The source has no file for the category (HTTP 404, or no such file/folder)."""


class MissingSource(MissingFile):
    """The source itself is not there (a folder that does not exist): never a source that
    merely lacks the category, which a list of sources skips."""


class DownloadError(SourceError):
    """The download failed: no network, refused connection, HTTP error, bad reply."""


class DownloadTimeout(DownloadError):
    """The server did not answer within the time allowed."""


class NotNpyFile(SourceError):
    """The data is not a QuickDraw bitmap .npy file (e.g. an HTML page, wrong dtype)."""


class TruncatedData(SourceError):
    """Fewer bytes arrived (or are on disk) than the .npy header promised."""


class NotStrokeFile(SourceError):
    """The data is not a simplified ``.ndjson`` stroke file (e.g. an HTML page, binary data)."""


class MalformedDrawing(SourceError):
    """A line of a stroke file is not one simplified drawing (not JSON, a field missing,
    strokes that are not ``[[x...], [y...]]`` in 0..255)."""


class WrongCategory(MalformedDrawing):
    """A line of a stroke file holds a drawing of another category than the file's."""


class EmptyDrawing(MalformedDrawing):
    """A line of a stroke file holds a drawing without strokes, or a stroke without points."""


class CacheError(QuickDrawError):
    """The cache folder cannot be created, read or written."""
