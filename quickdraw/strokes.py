"""Getting the first N *simplified* stroke drawings of a category: ``<name>.ndjson`` files.

A simplified file holds one JSON object a line: ``word``, ``countrycode``, ``timestamp``,
``recognized``, ``key_id`` and ``drawing``, a list of strokes ``[[x0, x1, ...], [y0, y1, ...]]``
already aligned to the top-left, scaled so the longest side is 255 and simplified, in integer
units. The official ``numpy_bitmap`` rows were rendered from exactly these strokes.

Lines differ in length, so the first N drawings are no byte range known in advance: the file
is streamed and reading stops after the N-th line (the connection is closed, so the rest of an
official file, often hundreds of MB, is never transferred). The cache keeps those lines, one
drawing each (:class:`~quickdraw.cache.StrokeCache`); a later, larger request continues from
the byte where the cached lines end, a Range request from there. Every line is checked as it
arrives, and a bad one stops the fetch with its line number (:class:`MalformedDrawing`,
:class:`WrongCategory`, :class:`EmptyDrawing`); nothing unchecked reaches the cache. Blank
lines, a byte-order mark and Windows line breaks are tolerated; a file cut short is not.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from . import config
from .cache import CachedFile, StrokeCache, StrokeOrigin
from .categories import validate
from .errors import (
    CacheError,
    EmptyDrawing,
    MalformedDrawing,
    NotStrokeFile,
    QuickDrawError,
    TruncatedData,
    WrongCategory,
)
from .fetch import (
    FetchResult,
    Progress,
    SourceChanged,
    check_limit,
    fetch_into,
    write,
)
from .sources import Reply, Source, open_sources

SUFFIX = ".ndjson"
CHUNK = 1 << 16
MAX_LINE = 1 << 20  # bytes; a simplified drawing takes a few kB
SIDE = 255  # simplified coordinates run from 0 to 255

Stroke = tuple[tuple[float, ...], tuple[float, ...]]  # (xs, ys)


@dataclass(frozen=True)
class Drawing:
    """One simplified drawing of the dataset."""

    word: str
    strokes: tuple[Stroke, ...]
    key_id: str = ""
    countrycode: str = ""
    recognized: bool | None = None
    timestamp: str = ""


def parse_drawing(line: bytes | str, name: str, where: str) -> Drawing:
    """The drawing on one line of ``name``'s stroke file, or MalformedDrawing naming ``where``
    (a file and a line number): not JSON, not an object, ``word`` not ``name``, no strokes,
    or a stroke that is not two equally long lists of numbers in 0..255."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise MalformedDrawing(f"{where} is not valid JSON") from None
    if not isinstance(record, dict) or "word" not in record or "drawing" not in record:
        raise MalformedDrawing(f"{where} is not a drawing: a JSON object with \"word\" and "
                               "\"drawing\" is expected")
    if record["word"] != name:
        raise WrongCategory(f"{where} is a drawing of {str(record['word'])[:40]!r}, not of "
                            f"'{name}'")
    strokes = record["drawing"]
    if not isinstance(strokes, list):
        raise MalformedDrawing(f"{where}: \"drawing\" must be a list of strokes")
    if not strokes:
        raise EmptyDrawing(f"{where} is an empty drawing: it has no strokes")
    return Drawing(word=name, strokes=tuple(_stroke(s, where, i) for i, s in enumerate(strokes)),
                   key_id=str(record.get("key_id", "")),
                   countrycode=str(record.get("countrycode", "")),
                   recognized=record.get("recognized") if isinstance(
                       record.get("recognized"), bool) else None,
                   timestamp=str(record.get("timestamp", "")))


def _stroke(stroke, where: str, number: int) -> Stroke:
    if not (isinstance(stroke, list) and len(stroke) == 2
            and all(isinstance(axis, list) for axis in stroke)):
        raise MalformedDrawing(f"{where}: stroke {number + 1} is not [[x...], [y...]]")
    xs, ys = stroke
    if not xs or not ys:
        raise EmptyDrawing(f"{where}: stroke {number + 1} has no points")
    if len(xs) != len(ys):
        raise MalformedDrawing(f"{where}: stroke {number + 1} has {len(xs)} x and {len(ys)} "
                               "y coordinates")
    for value in (*xs, *ys):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not (0 <= value <= SIDE and math.isfinite(value)):
            raise MalformedDrawing(f"{where}: stroke {number + 1} has a coordinate that is not "
                                   f"a number from 0 to {SIDE} (is this the simplified format?)")
    return tuple(xs), tuple(ys)


class _Lines:
    """The drawings' lines of a reply, one at a time: where the next one begins in the
    source, and its line number there."""

    def __init__(self, reply: Reply, start: int, number: int = 0) -> None:
        self.reply = reply
        self.offset = start  # source offset after the last line returned
        self.number = number  # lines before this one (exact in files without blank lines)
        self._first = start == 0  # at the file's start, where a byte-order mark may be
        self.read_bytes = 0
        self.at_end = False
        self._buffer = b""
        self._start = 0  # where the unreturned part of the buffer begins

    def next(self) -> bytes | None:
        """The next line that is not blank, without its line break; None at the end."""
        while True:
            line = self._raw_line()
            if line is None:
                return None
            if self._first:
                line, self._first = line.removeprefix(b"\xef\xbb\xbf"), False
            if line.strip():
                return line.removesuffix(b"\r")

    def _raw_line(self) -> bytes | None:
        while (newline := self._buffer.find(b"\n", self._start)) < 0:
            if len(self._buffer) - self._start > MAX_LINE:
                raise NotStrokeFile(f"{self.reply.where} has a line longer than "
                                    f"{MAX_LINE >> 20} MB: not a simplified stroke file")
            chunk = self.reply.read(CHUNK)
            self.read_bytes += len(chunk)
            if not chunk:
                return self._last_line()
            self._buffer = self._buffer[self._start:] + chunk
            self._start = 0
        line = self._buffer[self._start:newline]
        self._start = newline + 1
        self.offset += len(line) + 1
        self.number += 1
        return line

    def _last_line(self) -> bytes | None:
        """What is left at the end of the reply: a last line without a line break, or None.
        A reply that said it had more bytes was cut short."""
        self.at_end = True
        if self.reply.end is not None and self.offset + len(self._buffer) - self._start < \
                self.reply.end:
            raise TruncatedData(f"{self.reply.where} stopped after "
                                f"{self.offset + len(self._buffer) - self._start} of its "
                                f"{self.reply.end} bytes (the connection was cut short)")
        line, self._buffer, self._start = self._buffer[self._start:], b"", 0
        if not line:
            return None
        self.offset += len(line)
        self.number += 1
        return line

    @property
    def complete(self) -> bool:
        """Whether every line of the source file has been read."""
        return self.at_end or (self.reply.total is not None and self.offset >= self.reply.total)


def _copy_lines(lines: _Lines, out, name: str, want: int | None, progress: Progress,
                at_start: bool) -> int:
    """Check and write lines until ``want`` are written (all if None); return how many.
    ``at_start``: the lines begin the file, whose first line tells a stroke file."""
    copied = 0
    while want is None or copied < want:
        line = lines.next()
        if line is None:
            break
        where = f"line {lines.number} of {lines.reply.where}"
        if at_start and copied == 0 and not line.lstrip().startswith(b"{"):
            looks = "an HTML page" if line.lstrip()[:1] == b"<" else "something else"
            raise NotStrokeFile(f"{lines.reply.where} is not a simplified stroke file but "
                                f"{looks} (it starts with {line[:40].decode('latin1')!r})")
        parse_drawing(line, name, where)
        write(out, line + b"\n")
        copied += 1
        progress.update(1)
    return copied


class Strokes:
    """How lines of ``.ndjson`` sources go into one cached file: each source's first lines
    in turn (see :func:`~quickdraw.fetch.fetch_into`)."""

    unit = "drawings"  # of the progress bar

    def begin(self, out) -> None:
        pass

    def end(self, out, rows: int) -> None:
        pass

    def copy_cached(self, entry: CachedFile, out) -> None:
        with open(entry.path, "rb") as cached:
            while data := cached.read(CHUNK):
                write(out, data)

    def new(self, name: str, src: Source, out, want: int | None, bar: Progress
            ) -> tuple[StrokeOrigin, int]:
        """The first ``want`` lines (all when None) of ``src``'s file, appended to ``out``."""
        reply = src.open(name, 0, None)
        try:
            lines = _Lines(reply, 0)
            bar.start(want, 0)
            count = _copy_lines(lines, out, name, want, bar, at_start=True)
            if count == 0:
                raise NotStrokeFile(f"{reply.where} is empty, not a simplified stroke file")
        finally:
            reply.close()
        return (StrokeOrigin(src.id, lines.offset, count, lines.complete, reply.total),
                lines.read_bytes)

    def more(self, name: str, src: Source, out, origin: StrokeOrigin, want: int | None,
             bar: Progress) -> tuple[StrokeOrigin, int]:
        """Lines ``origin.lines + 1 ..`` of ``src``'s file (``want`` more at most), appended
        to ``out``.

        The reply starts one byte early, at the line break that ends the cached lines: a
        source whose file changed meanwhile shows it there (or in its size), and is fetched
        anew (SourceChanged).
        """
        try:
            reply = src.open(name, origin.end - 1, None)
        except TruncatedData:  # nothing there any more: the file shrank
            raise SourceChanged from None
        try:
            if (origin.source_size is not None and reply.total is not None
                    and reply.total != origin.source_size) or reply.read(1) != b"\n":
                raise SourceChanged
            lines = _Lines(reply, origin.end, number=origin.lines)
            bar.start(want, 0)
            count = _copy_lines(lines, out, name, want, bar, at_start=False)
        finally:
            reply.close()
        return (StrokeOrigin(src.id, lines.offset, origin.lines + count, lines.complete,
                             reply.total or origin.source_size), lines.read_bytes + 1)


def fetch_strokes(name: str, limit: int | None = None, *, source=None, cache=None,
                  progress: bool | None = None, timeout: float | None = None) -> FetchResult:
    """Make sure the cache holds the first ``limit`` drawings of ``name`` (all if None) as
    simplified strokes, reading as few bytes of the sources as possible.

    ``source`` is one source or a list of them (default: QUICKDRAW_STROKES_SOURCE, else the
    official bucket): the drawings are those of every source that has the category, in
    order. The cache is used as is when it holds enough drawings (whatever source they came
    from), or all drawings of the requested sources; otherwise the missing ones are fetched:
    appended when the cached lines came from the same sources, from scratch when not.
    """
    name = validate(name)
    sources = open_sources(config.strokes_source(source), config.timeout(timeout), SUFFIX)
    return fetch_into(StrokeCache(config.cache_dir(cache)), sources, name, check_limit(limit),
                      Strokes(), progress)


def read_drawings(path: Path, name: str, limit: int | None = None) -> list[Drawing]:
    """The first ``limit`` drawings (all if None) of a checked stroke file of ``name``."""
    drawings = []
    try:
        with open(path, "rb") as f:
            for number, line in enumerate(f, start=1):
                if limit is not None and number > limit:
                    break
                drawings.append(parse_drawing(line, name, f"line {number} of {path}"))
    except OSError as e:
        raise CacheError(f"cannot read {path}: {e.strerror or e}") from None
    return drawings


def load_strokes(name: str, limit: int | None = None, *, source=None, cache=None,
                 progress: bool | None = None, timeout: float | None = None) -> list[Drawing]:
    """The first ``limit`` simplified drawings of ``name`` (all if None), fetched into the
    cache first if needed. A cached file that no longer parses is fetched again, once."""
    result = fetch_strokes(name, limit, source=source, cache=cache, progress=progress,
                           timeout=timeout)
    try:
        return read_drawings(result.path, result.name, limit)
    except MalformedDrawing as e:
        print(f"warning: the cached file {result.path} is damaged ({e}); fetching it again",
              file=sys.stderr)
    StrokeCache(config.cache_dir(cache)).remove(result.name)
    result = fetch_strokes(name, limit, source=source, cache=cache, progress=progress,
                           timeout=timeout)
    return read_drawings(result.path, result.name, limit)


__all__ = ["Drawing", "fetch_strokes", "load_strokes", "parse_drawing", "read_drawings",
           "QuickDrawError"]
