"""Getting the first N drawings of a category into the cache, downloading as little as possible.

Rows of a QuickDraw ``.npy`` file are contiguous, so the first N drawings are
the bytes ``[0, header + N * ROW_BYTES)``. A fresh fetch asks for exactly that range,
guessing the usual 128-byte header (and asking for the rest if the header turns
out longer). A later, larger request fetches only the missing rows from the
same source and writes a new file with the old rows, the new rows and a header
giving the new count. Every file is written to a temporary file, checked, then
moved into place atomically (see :mod:`quickdraw.cache`).
"""

from __future__ import annotations

import operator
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import config, npy
from .cache import Absent, Cache, CachedFile, Origin
from .categories import validate
from .errors import CacheError, MissingFile, MissingSource, QuickDrawError, TruncatedData
from .npy import ROW_BYTES
from .sources import Reply, Source, open_sources

GUESS_HEADER = 128  # the header length of every official file (npy 1.0, 64-aligned)
CHUNK = 1 << 16


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch_file` did."""

    name: str
    path: Path
    rows: int  # rows now in the cached file (may exceed the limit asked for)
    downloaded: int  # bytes read from the source (0 when the cache sufficed)

    @property
    def from_cache(self) -> bool:
        return self.downloaded == 0


class SourceChanged(Exception):
    """The source file is no longer the one the cached drawings came from."""


def check_limit(limit) -> int | None:
    """``None`` or a positive int; anything else is a QuickDrawError."""
    if limit is None:
        return None
    try:
        if isinstance(limit, bool):
            raise TypeError
        value = operator.index(limit)
    except TypeError:
        raise QuickDrawError(
            f"the limit must be a whole number of drawings, not {limit!r}") from None
    if value < 1:
        raise QuickDrawError(f"the limit must be at least 1 drawing, not {value}")
    return value


class Progress:
    """A tqdm counter of bytes (or ``unit``) on stderr, or nothing (see :func:`fetch_file`'s
    ``progress``)."""

    def __init__(self, progress: bool | None, name: str, unit: str = "B") -> None:
        self._bar = None
        self._mode = progress
        self._name = name
        self._unit = unit

    def start(self, total: int | None, done: int) -> None:
        if self._mode is False:
            return
        if self._mode is None:
            isatty = getattr(sys.stderr, "isatty", None)
            if not (isatty and isatty()):
                return
        try:
            from tqdm import tqdm
        except ImportError:  # progress bars are a nicety, not a requirement
            return
        in_bytes = self._unit == "B"
        self._bar = tqdm(total=total, initial=done, desc=self._name, unit=self._unit,
                         unit_scale=in_bytes, unit_divisor=1024 if in_bytes else 1000,
                         leave=False, file=sys.stderr,
                         delay=1.0 if self._mode is None else 0.0, dynamic_ncols=True)

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class _Stream:
    """Bytes ``[pos, stop)`` of one source file, over as few replies as needed."""

    def __init__(self, src: Source, name: str, start: int, stop: int | None,
                 progress: Progress) -> None:
        self.src, self.name = src, name
        self.pos, self.stop = start, stop
        self.reply: Reply | None = None
        self.read_bytes = 0
        self.progress = progress

    def open(self) -> Reply:
        if self.reply is not None:
            self.reply.close()
        self.reply = None
        self.reply = self.src.open(self.name, self.pos, self.stop)
        return self.reply

    def _chunk(self, n: int) -> bytes:
        reply = self.reply
        if reply is None or (reply.end is not None and self.pos >= reply.end):
            reply = self.open()
        if reply.end is not None:
            n = min(n, reply.end - self.pos)
        data = reply.read(n)
        self.pos += len(data)
        self.read_bytes += len(data)
        self.progress.update(len(data))
        return data

    def read_upto(self, n: int) -> bytes:
        """Up to ``n`` bytes, fewer only at the end of the file."""
        parts, want = [], n
        while want:
            data = self._chunk(want)
            if not data:
                break
            parts.append(data)
            want -= len(data)
        return b"".join(parts)

    def copy(self, n: int, out, what: str) -> bytes | None:
        """Copy exactly ``n`` bytes to ``out`` (or return them if ``out`` is None)."""
        parts, want, begin = [], n, self.pos
        while want:
            data = self._chunk(min(want, CHUNK))
            if not data:
                where = self.reply.where if self.reply else self.src.describe(self.name)
                raise TruncatedData(f"{where} stopped after {self.pos} of the {begin + n} bytes "
                                    f"needed for {what} (the file or the connection was cut short)")
            if out is None:
                parts.append(data)
            else:
                write(out, data)
            want -= len(data)
        return b"".join(parts) if out is None else None

    def close(self) -> None:
        if self.reply is not None:
            self.reply.close()
            self.reply = None


def write(out, data: bytes) -> None:
    try:
        out.write(data)
    except OSError as e:
        raise CacheError(f"cannot write to the cache: {e.strerror or e}") from None


def _check_size(reply: Reply | None, header: npy.Header) -> None:
    """A reply that tells the file size must be big enough for the header's rows."""
    if reply is not None and reply.total is not None and reply.total < header.file_size:
        have = max(0, (reply.total - header.length) // ROW_BYTES)
        raise TruncatedData(f"{reply.where} is truncated: its header promises {header.rows} "
                            f"drawings ({header.file_size} bytes) but the file has "
                            f"{reply.total} bytes ({have} drawings)")


class Bitmaps:
    """How rows of ``.npy`` sources go into one cached file: a header, then each source's
    rows in turn (see :func:`fetch_into`)."""

    unit = "B"  # of the progress bar

    def begin(self, out) -> None:
        write(out, npy.build_header(0))  # a placeholder of the same length: see end()

    def end(self, out, rows: int) -> None:
        out.seek(0)
        write(out, npy.build_header(rows))
        out.seek(0, 2)

    def copy_cached(self, entry: CachedFile, out) -> None:
        """The rows of the cached file, without its header."""
        old = npy.inspect_file(entry.path)
        with open(entry.path, "rb") as cached:
            cached.seek(old.length)
            while data := cached.read(CHUNK):
                write(out, data)

    def new(self, name: str, src: Source, out, want: int | None, bar: Progress
            ) -> tuple[Origin, int]:
        """The first ``want`` rows (all when None) of ``src``'s file, appended to ``out``."""
        stream = _Stream(src, name, 0, None if want is None else GUESS_HEADER + want * ROW_BYTES,
                         bar)
        try:
            head = stream.read_upto(npy.PREFIX_LEN)
            where = stream.reply.where if stream.reply else src.describe(name)
            length = npy.header_length(head, where)
            if want is not None:
                stream.stop = length + want * ROW_BYTES  # the guess may have been wrong
            head += stream.copy(max(0, length - len(head)), None, "the .npy header")
            header = npy.parse_header(head, where)
            _check_size(stream.reply, header)
            rows = header.rows if want is None else min(want, header.rows)
            stream.stop = header.length + rows * ROW_BYTES
            bar.start(stream.stop, stream.pos)
            stream.copy(stream.stop - stream.pos, out, f"the first {rows} drawings")
        finally:
            stream.close()
        return Origin(src.id, header.length, header.rows, rows), stream.read_bytes

    def more(self, name: str, src: Source, out, origin: Origin, want: int | None,
             bar: Progress) -> tuple[Origin, int]:
        """Rows ``origin.rows ..`` of ``src``'s file (``want`` more at most), appended to
        ``out``; SourceChanged when the file is not the one ``origin`` describes."""
        rows = origin.source_rows if want is None else min(origin.rows + want,
                                                           origin.source_rows)
        start = origin.header_length + origin.rows * ROW_BYTES
        stop = origin.header_length + rows * ROW_BYTES
        stream = _Stream(src, name, start, stop, bar)
        try:
            reply = stream.open()
            if reply.total is not None and reply.total != (
                    origin.header_length + origin.source_rows * ROW_BYTES):
                raise SourceChanged
            bar.start(stop - start, 0)
            stream.copy(stop - start, out, f"the first {rows} drawings")
        finally:
            stream.close()
        return Origin(src.id, origin.header_length, origin.source_rows, rows), stream.read_bytes


def fetch_file(name: str, limit: int | None = None, *, source=None, cache=None,
               progress: bool | None = None, timeout: float | None = None) -> FetchResult:
    """Make sure the cache holds the first ``limit`` drawings of ``name`` (all if None).

    ``source`` is one source or a list of them (default: QUICKDRAW_SOURCE, else the official
    bucket): the drawings of ``name`` are the rows of every source that has a file for it, in
    that order. The cache is used as is when it holds enough rows (whatever source they
    came from), or all rows of the requested sources. Otherwise the missing rows are
    fetched: appended when the cached rows came from the same sources, from scratch when
    not. ``progress``: None shows a bar on long downloads when stderr is a terminal, True
    always, False never.
    """
    name = validate(name)
    sources = open_sources(config.source(source), config.timeout(timeout))
    return fetch_into(Cache(config.cache_dir(cache)), sources, name, check_limit(limit),
                      Bitmaps(), progress)


def fetch_into(store, sources: list[Source], name: str, limit: int | None, kind,
               progress: bool | None) -> FetchResult:
    """The cache-first fetch both kinds of file share: ``store``'s file of ``name`` when it
    holds enough drawings (or all of ``sources``'), else that file with the missing
    drawings added when it came from the same sources, else the file anew. One process at
    a time works on a name (a lock file), so two trainers starting at once do not write the
    same file."""
    ids = [src.id for src in sources]
    with store.locked(name):
        found = store.lookup(name)
        kept: list = []
        entry = None
        if found is not None:
            entry, origins = found
            if limit is not None and entry.rows >= limit:
                return FetchResult(name, entry.path, entry.rows, 0)
            if origins and [o.source for o in origins] == ids and entry.complete:
                return FetchResult(name, entry.path, entry.rows, 0)
            if origins and [o.source for o in origins] == ids[:len(origins)]:
                kept = origins
        try:
            return _assemble(store, sources, name, limit, kind, progress, entry, kept)
        except SourceChanged as changed:
            print(f"warning: {changed} has changed since it was cached; fetching it again "
                  "from the start", file=sys.stderr)
            return _assemble(store, sources, name, limit, kind, progress, None, [])


def _assemble(store, sources: list[Source], name: str, limit: int | None, kind,
              progress: bool | None, entry: CachedFile | None, kept: list) -> FetchResult:
    """Write ``name``'s file anew: the cached drawings of the ``kept`` parts, then from each
    source in turn what is missing, until there are ``limit`` (all when None). A source
    that lacks the category is skipped (an :class:`Absent` part); none having it is the
    MissingFile of the first."""
    origins, have, downloaded, missing = list(kept), sum(o.rows for o in kept), 0, []
    with store.writer(name) as out:
        kind.begin(out)
        if kept:
            kind.copy_cached(entry, out)
        for index, src in enumerate(sources):
            want = None if limit is None else limit - have
            if want == 0:
                break
            bar = Progress(progress, name, kind.unit)
            try:
                if index < len(kept) and kept[index].complete:
                    continue
                if index < len(kept):  # the last kept part: continue it
                    try:
                        origin, read = kind.more(name, src, out, kept[index], want, bar)
                    except (SourceChanged, MissingFile):  # changed, or gone since
                        raise SourceChanged(src.describe(name)) from None
                    origins[index] = origin
                else:
                    try:
                        origin, read = kind.new(name, src, out, want, bar)
                    except MissingSource:
                        raise  # a folder that is not there is a mistake, not a gap
                    except MissingFile as error:
                        missing.append(error)
                        origins.append(Absent(src.id))
                        continue
                    origins.append(origin)
            finally:
                bar.close()
            have += origin.rows - (kept[index].rows if index < len(kept) else 0)
            downloaded += read
        if not any(o.rows for o in origins):
            if missing and len(missing) == len(sources):
                raise missing[0] if len(missing) == 1 else MissingFile(
                    f"no source has a file for '{name}': " + "; ".join(map(str, missing)))
        kind.end(out, have)
        new = store.commit(name, out, origins)
    return FetchResult(name, new.path, new.rows, downloaded)


def read_rows(path: Path, limit: int | None) -> np.ndarray:
    """The first ``limit`` rows (all if None) of a checked cache file, as (N, 784) uint8."""
    header = npy.inspect_file(path)
    rows = header.rows if limit is None else min(limit, header.rows)
    data = np.fromfile(path, dtype=np.uint8, count=rows * ROW_BYTES, offset=header.length)
    if data.size != rows * ROW_BYTES:  # the file changed under us
        raise TruncatedData(f"{path} holds fewer drawings than its header says")
    return data.reshape(rows, ROW_BYTES)
