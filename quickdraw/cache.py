"""The cache folder: the first N drawings of each category, and where they came from.

Bitmaps are one ``<name>.npy`` per category, a plain, valid numpy file (``np.load`` reads
it); stroke drawings are one ``simplified/<name>.ndjson``, the source's lines, one drawing
each. Beside
each is a small ``<name>.json`` sidecar that remembers where the drawings came from (the
source, and where in the source file they end), so that a later, larger request can fetch only
the missing drawings from the same source and a request for "everything" knows without asking
the network whether the file is complete. Without a sidecar (or with one that disagrees with
the file) the drawings are still used when there are enough of them, but never extended.

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
    rows: int  # rows in the cached file when the sidecar was written


@dataclass(frozen=True)
class CachedFile:
    """One valid cached category file."""

    name: str
    rows: int
    bytes: int
    path: Path
    source: str | None = None  # None when unknown (no or stale sidecar)
    complete: bool = False  # True when it holds every row of that source

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

    def _describe(self, name: str) -> tuple[CachedFile, object]:  # pragma: no cover
        """Check the cached file of ``name``: its entry and origin, or QuickDrawError/OSError."""
        raise NotImplementedError

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

    def lookup(self, name: str) -> tuple[CachedFile, object] | None:
        """The valid cached file of ``name`` and its origin, or None.

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

    # -- reading ---------------------------------------------------------
    def _origin(self, name: str, rows: int) -> Origin | None:
        raw = self._sidecar(name)
        try:
            origin = Origin(source=str(raw["source"]), header_length=int(raw["header_length"]),
                            source_rows=int(raw["source_rows"]), rows=int(raw["rows"]))
        except (ValueError, KeyError, TypeError):
            return None
        if origin.rows != rows or origin.source_rows < rows or origin.header_length < 10:
            return None  # the sidecar describes another version of the file
        return origin

    def _describe(self, name: str) -> tuple[CachedFile, Origin | None]:
        """Check the cached file of ``name``; raises QuickDrawError/OSError if bad."""
        path = self.path(name)
        header = npy.inspect_file(path)
        origin = self._origin(name, header.rows)
        entry = CachedFile(name=name, rows=header.rows, bytes=header.file_size, path=path,
                           source=origin.source if origin else None,
                           complete=bool(origin and origin.source_rows == header.rows))
        return entry, origin

    # -- writing ---------------------------------------------------------
    def commit(self, name: str, f, origin: Origin) -> CachedFile:
        """Check the finished temporary file ``f`` and atomically make it the cache."""
        self._flush(f)
        header = npy.inspect_file(f.name)  # raises if we wrote something wrong
        if header.rows != origin.rows:
            raise CacheError(f"internal error: wrote {header.rows} rows instead of {origin.rows}")
        self._install(name, f, {"source": origin.source, "header_length": origin.header_length,
                                "source_rows": origin.source_rows, "rows": origin.rows})
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


class StrokeCache(_Store):
    """The ``simplified/<name>.ndjson`` stroke files of a cache folder: the first N drawings
    of the source's file, a line each."""

    suffix = ".ndjson"

    def __init__(self, folder: Path) -> None:
        super().__init__(Path(folder) / "simplified")

    def _origin(self, name: str, lines: int) -> StrokeOrigin | None:
        raw = self._sidecar(name)
        try:
            size = raw.get("source_size")
            origin = StrokeOrigin(source=str(raw["source"]), end=int(raw["end"]),
                                  lines=int(raw["lines"]), complete=bool(raw["complete"]),
                                  source_size=None if size is None else int(size))
        except (AttributeError, ValueError, KeyError, TypeError):
            return None
        if origin.lines != lines or origin.end < lines or (
                origin.complete and origin.source_size not in (None, origin.end)):
            return None  # the sidecar describes another version of the file
        return origin

    def _describe(self, name: str) -> tuple[CachedFile, StrokeOrigin | None]:
        """Check the cached file of ``name`` (whole lines only); raises if it is not."""
        path = self.path(name)
        lines, size = _count_lines(path)
        origin = self._origin(name, lines)
        entry = CachedFile(name=name, rows=lines, bytes=size, path=path,
                           source=origin.source if origin else None,
                           complete=bool(origin and origin.complete))
        return entry, origin

    def commit(self, name: str, f, origin: StrokeOrigin) -> CachedFile:
        """Check the finished temporary file ``f`` and atomically make it the cache."""
        self._flush(f)
        lines, _ = _count_lines(Path(f.name))  # raises if we wrote something wrong
        if lines != origin.lines:
            raise CacheError(f"internal error: wrote {lines} lines instead of {origin.lines}")
        self._install(name, f, {"source": origin.source, "end": origin.end,
                                "lines": origin.lines, "complete": origin.complete,
                                "source_size": origin.source_size})
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
