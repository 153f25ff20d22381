"""The cache folder: the first N drawings of each category, and where they came from.

Bitmaps are one ``<name>.npy`` per category, a plain, valid numpy file (``np.load`` reads
it); stroke drawings are one ``simplified/<name>.ndjson``, the source's lines, one drawing
each. Beside each is a small ``<name>.json`` sidecar that remembers where the drawings came
from (the source, and where in the source file they end), so that a later, larger request can
fetch only the missing drawings from the same source and a request for "everything" knows
without asking the network whether the file is complete. Without a sidecar (or with one that
disagrees with the file) the drawings are still used when there are enough of them, but never
extended.

A category read from several sources is still one file: the rows of the first source, then
those of the next. Its sidecar lists the parts in order (``{"parts": [...]}``), one origin a
source, a source without the category an :class:`Absent` part; every part but the last is
complete, so more drawings are only ever added at the end.

Files are only ever replaced atomically (``os.replace`` of a checked temporary
file written in the same folder), so the cache never holds a half-written file;
a file that fails the check anyway is reported on stderr and fetched again.
"""

from __future__ import annotations

import contextlib
import json

try:
    import fcntl
except ImportError:  # not a POSIX system: no locking between processes
    fcntl = None
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import npy
from .categories import validate
from .errors import CacheError, QuickDrawError

_STALE_PART_SECONDS = 3600


@dataclass(frozen=True)
class Origin:
    """Where a cached file's rows came from (the JSON sidecar)."""

    source: str
    header_length: int  # of the source file: row K starts at header_length + K * ROW_BYTES
    source_rows: int  # rows in the whole source file
    rows: int  # rows of this source in the cached file when the sidecar was written

    @property
    def complete(self) -> bool:
        return self.rows == self.source_rows

    def to_json(self) -> dict:
        return {"source": self.source, "header_length": self.header_length,
                "source_rows": self.source_rows, "rows": self.rows}


@dataclass(frozen=True)
class Absent:
    """A source that has no file for the category (a part of no rows)."""

    source: str
    rows: int = 0
    complete: bool = True

    def to_json(self) -> dict:
        return {"source": self.source, "absent": True}


@dataclass(frozen=True)
class CachedFile:
    """One valid cached category file."""

    name: str
    rows: int
    bytes: int
    path: Path
    source: str | None = None  # None when unknown (no or stale sidecar); " + " between several
    complete: bool = False  # True when it holds every row of its sources
    parts: tuple = ()  # (source, rows) of each source in order; rows 0 for an absent one

    def __iter__(self) -> Iterator:
        """Unpacks as ``(name, rows, bytes, path)``."""
        return iter((self.name, self.rows, self.bytes, self.path))


class _Store:
    """A folder of ``<name><suffix>`` files, each with a ``<name>.json`` sidecar. Nothing
    touches the disk until a method is called."""

    suffix = ""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, name: str) -> Path:
        return self.folder / f"{name}{self.suffix}"

    def _meta_path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def ensure_folder(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CacheError(f"cannot create the cache folder {self.folder}: "
                             f"{e.strerror or e} (set QUICKDRAW_CACHE to a writable "
                             "folder)") from None

    def _sidecar(self, name: str) -> dict | None:
        """The sidecar of ``name`` as a dict, or None if it is missing or unreadable."""
        try:
            raw = json.loads(self._meta_path(name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return raw if isinstance(raw, dict) else None

    def _part(self, raw: dict):  # pragma: no cover - interface
        """One part's origin from its sidecar entry (ValueError/KeyError/TypeError if bad)."""
        raise NotImplementedError

    def _origins(self, name: str, rows: int) -> list | None:
        """The parts the sidecar of ``name`` lists, if they add up to the ``rows`` the file
        holds (else None: the sidecar describes another version of the file)."""
        raw = self._sidecar(name)
        try:
            listed = raw["parts"] if "parts" in raw else [raw]
            origins = [Absent(str(part["source"])) if part.get("absent") is True
                       else self._part(part) for part in listed]
        except (AttributeError, ValueError, KeyError, TypeError):
            return None
        if not origins or any(o is None for o in origins) or \
                sum(o.rows for o in origins) != rows or \
                not all(o.complete for o in origins[:-1]):
            return None
        return origins

    def _entry(self, name: str, rows: int, size: int) -> tuple[CachedFile, list | None]:
        origins = self._origins(name, rows)
        source = " + ".join(o.source for o in origins) if origins else None
        entry = CachedFile(name=name, rows=rows, bytes=size, path=self.path(name),
                           source=source,
                           complete=bool(origins and all(o.complete for o in origins)),
                           parts=tuple((o.source, o.rows) for o in origins or ()))
        return entry, origins

    def _describe(self, name: str) -> tuple[CachedFile, list | None]:  # pragma: no cover
        """Check the cached file of ``name``: its entry and origins, or QuickDrawError/OSError."""
        raise NotImplementedError

    def _sidecar_of(self, origins: list) -> dict:
        """The sidecar for these parts: one part's origin as it is, several as a list."""
        if len(origins) == 1 and not isinstance(origins[0], Absent):
            return origins[0].to_json()
        return {"parts": [o.to_json() for o in origins]}

    @contextlib.contextmanager
    def locked(self, name: str):
        """Hold the lock of ``name`` meanwhile: one process at a time fetches a file. A cache
        folder this process cannot write to needs no lock (and fails when written to)."""
        handle = None
        if fcntl is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                handle = open(self.folder / f".{name}{self.suffix}.lock", "a")
            except OSError:
                handle = None
        if handle is None:
            yield
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def lookup(self, name: str) -> tuple[CachedFile, list | None] | None:
        """The valid cached file of ``name`` and its origins (one a source), or None.

        A file that exists but fails the check is reported on stderr and
        removed, so that it is fetched again.
        """
        path = self.path(name)
        if not path.exists():
            return None
        try:
            return self._describe(name)
        except (QuickDrawError, OSError) as e:
            print(f"warning: the cached file {path} is damaged ({e}); fetching it again",
                  file=sys.stderr)
            self.remove(name)
            return None

    def scan(self) -> tuple[list[CachedFile], list[tuple[Path, str]]]:
        """All cached files: (valid ones sorted by name, [(path, problem)...])."""
        good: list[CachedFile] = []
        bad: list[tuple[Path, str]] = []
        if not self.folder.is_dir():
            return good, bad
        for path in sorted(self.folder.glob(f"*{self.suffix}")):
            stem = path.name[:-len(self.suffix)]
            try:
                name = validate(stem)
            except QuickDrawError:
                continue  # not ours
            if stem != name:
                continue
            try:
                good.append(self._describe(name)[0])
            except (QuickDrawError, OSError) as e:
                bad.append((path, str(e)))
        return good, bad

    @contextlib.contextmanager
    def writer(self, name: str):
        """Yield an open temporary file in the cache folder; see :meth:`_install`.

        The temporary file is removed if anything goes wrong (including
        KeyboardInterrupt) before :meth:`_install` moved it into place.
        """
        self.ensure_folder()
        self._remove_stale_parts()
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.", suffix=".part")
        except OSError as e:
            raise CacheError(f"cannot write to the cache folder {self.folder}: "
                             f"{e.strerror or e}") from None
        os.close(fd)
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a shared cache from others
        f = open(tmp, "w+b")  # by name, so that f.name is the path
        try:
            yield f
        finally:
            f.close()
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def _flush(self, f) -> None:
        """Put the finished temporary file ``f`` on disk and close it."""
        try:
            f.flush()
            os.fsync(f.fileno())
            f.close()  # before the rename, which some systems refuse on open files
        except OSError as e:
            raise CacheError(f"cannot write to the cache folder {self.folder}: "
                             f"{e.strerror or e}") from None

    def _install(self, name: str, f, sidecar: dict) -> None:
        """Atomically make the flushed and checked temporary file ``f`` the cached file."""
        try:
            # The old sidecar goes first: one describing another file must never be left
            # beside the new one (same rows, other sources) if we stop between the two.
            with contextlib.suppress(FileNotFoundError):
                self._meta_path(name).unlink()
            os.replace(f.name, self.path(name))
            self._write_meta(name, sidecar)
        except OSError as e:
            raise CacheError(f"cannot write to the cache folder {self.folder}: "
                             f"{e.strerror or e}") from None

    def _write_meta(self, name: str, sidecar: dict) -> None:
        text = json.dumps(sidecar, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text + "\n")
            os.replace(tmp, self._meta_path(name))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def remove(self, name: str) -> None:
        for path in (self.path(name), self._meta_path(name)):
            with contextlib.suppress(OSError):  # os.replace overwrites it anyway
                path.unlink()

    def _remove_stale_parts(self) -> None:
        """Delete temporary files left by a process that was killed long ago."""
        cutoff = time.time() - _STALE_PART_SECONDS
        for part in self.folder.glob(".*.part"):
            with contextlib.suppress(OSError):
                if part.stat().st_mtime < cutoff:
                    part.unlink()


class Cache(_Store):
    """The ``<name>.npy`` bitmap files of a cache folder."""

    suffix = ".npy"

    def _part(self, raw: dict) -> Origin | None:
        origin = Origin(source=str(raw["source"]), header_length=int(raw["header_length"]),
                        source_rows=int(raw["source_rows"]), rows=int(raw["rows"]))
        if origin.source_rows < origin.rows or origin.header_length < 10:
            return None
        return origin

    def _describe(self, name: str) -> tuple[CachedFile, list[Origin | Absent] | None]:
        """Check the cached file of ``name``; raises QuickDrawError/OSError if bad."""
        header = npy.inspect_file(self.path(name))
        return self._entry(name, header.rows, header.file_size)

    # -- writing ---------------------------------------------------------
    def commit(self, name: str, f, origins: list) -> CachedFile:
        """Check the finished temporary file ``f`` and atomically make it the cache."""
        self._flush(f)
        header = npy.inspect_file(f.name)  # raises if we wrote something wrong
        rows = sum(o.rows for o in origins)
        if header.rows != rows:
            raise CacheError(f"internal error: wrote {header.rows} rows instead of {rows}")
        self._install(name, f, self._sidecar_of(origins))
        entry, _ = self._describe(name)
        return entry


@dataclass(frozen=True)
class StrokeOrigin:
    """Where a cached stroke file's lines came from (its JSON sidecar)."""

    source: str
    end: int  # byte offset in the source file just after the last cached line
    lines: int  # lines in the cached file when the sidecar was written
    complete: bool  # the source file has no more lines
    source_size: int | None = None  # bytes in the whole source file, when it said

    @property
    def rows(self) -> int:
        return self.lines

    def to_json(self) -> dict:
        return {"source": self.source, "end": self.end, "lines": self.lines,
                "complete": self.complete, "source_size": self.source_size}


class StrokeCache(_Store):
    """The ``simplified/<name>.ndjson`` stroke files of a cache folder: the first N drawings
    of the source's file, a line each."""

    suffix = ".ndjson"

    def __init__(self, folder: Path) -> None:
        super().__init__(Path(folder) / "simplified")

    def _part(self, raw: dict) -> StrokeOrigin | None:
        size = raw.get("source_size")
        origin = StrokeOrigin(source=str(raw["source"]), end=int(raw["end"]),
                              lines=int(raw["lines"]), complete=bool(raw["complete"]),
                              source_size=None if size is None else int(size))
        if origin.end < origin.lines or (
                origin.complete and origin.source_size not in (None, origin.end)):
            return None
        return origin

    def _describe(self, name: str) -> tuple[CachedFile, list[StrokeOrigin | Absent] | None]:
        """Check the cached file of ``name`` (whole lines only); raises if it is not."""
        lines, size = _count_lines(self.path(name))
        return self._entry(name, lines, size)

    def commit(self, name: str, f, origins: list) -> CachedFile:
        """Check the finished temporary file ``f`` and atomically make it the cache."""
        self._flush(f)
        lines, _ = _count_lines(Path(f.name))  # raises if we wrote something wrong
        expected = sum(o.rows for o in origins)
        if lines != expected:
            raise CacheError(f"internal error: wrote {lines} lines instead of {expected}")
        self._install(name, f, self._sidecar_of(origins))
        entry, _ = self._describe(name)
        return entry


def _count_lines(path: Path) -> tuple[int, int]:
    """Lines and bytes of a stroke file that holds whole lines only, else CacheError."""
    lines = size = 0
    last = b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
            size += len(chunk)
            last = chunk[-1:]
    if not size or last != b"\n":
        raise CacheError(f"{path} does not end with a whole line")
    return lines, size
