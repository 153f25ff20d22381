"""Where ``<name>.npy`` and ``<name>.ndjson`` files are read from: an HTTP(S) server or a folder.

Both kinds answer the same question, "give me bytes [start, stop) of the file
for this category", with a :class:`Reply` that is read in chunks and closed as
soon as enough bytes have arrived. Over HTTP this is a ``Range`` request; a
server that ignores ``Range`` and replies 200 with the whole file still works
(the bytes before ``start`` are skipped, and the connection is closed early so
the rest of the file is never transferred). Every failure becomes a
:class:`~quickdraw.errors.QuickDrawError` with a one-line message.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .errors import (
    DownloadError,
    DownloadTimeout,
    MissingFile,
    MissingSource,
    SourceError,
    TruncatedData,
)

USER_AGENT = "sketchbook-quickdraw/1.0 (Python urllib)"
_SKIP_CHUNK = 1 << 16
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


class Reply:
    """Bytes of one source file, from offset ``start`` up to ``end``."""

    where: str  # how messages name it, e.g. "the reply from <url>"
    start: int
    end: int | None  # absolute offset after the last byte it will deliver, if known
    total: int | None  # size of the whole source file, if known

    def read(self, n: int) -> bytes:  # pragma: no cover - interface
        """Up to ``n`` bytes; ``b""`` at the end."""
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def __enter__(self) -> "Reply":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Source:
    """A place holding one file per category, ``<name><suffix>`` (``.npy`` or ``.ndjson``)."""

    id: str  # stable text naming the source (recorded in the cache)
    suffix: str

    def describe(self, name: str) -> str:  # pragma: no cover - interface
        """The URL or path of the file for ``name``."""
        raise NotImplementedError

    def open(self, name: str, start: int, stop: int | None) -> Reply:  # pragma: no cover
        raise NotImplementedError


# -- HTTP ----------------------------------------------------------------
def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _network_error(reason: object, url: str, timeout: float) -> DownloadError:
    """Turn what urllib/socket raised while connecting into a message for people."""
    host = _host(url)
    if isinstance(reason, (TimeoutError, socket.timeout)) or str(reason) == "timed out":
        return DownloadTimeout(f"no answer from {host} within {timeout:g} s (fetching {url})")
    if isinstance(reason, ConnectionRefusedError):
        return DownloadError(f"cannot connect to {host}: connection refused "
                             f"(is the server running? fetching {url})")
    if isinstance(reason, socket.gaierror):
        hostname = urllib.parse.urlsplit(url).hostname or host
        return DownloadError(f"cannot find the host '{hostname}' (no network, "
                             f"or a typo in the source URL?) while fetching {url}")
    if isinstance(reason, ssl.SSLError):
        return DownloadError(f"the secure connection to {host} failed ({reason}) "
                             f"while fetching {url}")
    if isinstance(reason, http.client.RemoteDisconnected):
        return DownloadError(f"{host} closed the connection without answering (fetching {url})")
    text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return DownloadError(f"cannot download {url}: {text}")


class HttpReply(Reply):
    def __init__(self, response, url: str, start: int, end: int | None,
                 total: int | None, timeout: float) -> None:
        self._response = response
        self.url = url
        self.where = f"the reply from {url}"
        self.start, self.end, self.total = start, end, total
        self._timeout = timeout

    def read(self, n: int) -> bytes:
        try:
            return self._response.read(n)
        except http.client.IncompleteRead:
            raise TruncatedData(f"the download of {self.url} was cut off before the end") from None
        except (TimeoutError, socket.timeout):
            raise DownloadTimeout(f"{_host(self.url)} sent nothing for {self._timeout:g} s "
                                  f"while downloading {self.url}") from None
        except (OSError, http.client.HTTPException) as e:
            raise DownloadError(f"the connection broke while downloading {self.url}: "
                                f"{getattr(e, 'strerror', None) or e}") from None

    def close(self) -> None:
        # Closing without reading the rest drops the connection: a server that
        # ignored Range stops sending the remainder of the file.
        try:
            self._response.close()
        except OSError:
            pass


class HttpSource(Source):
    """Files at ``<base>/<url-quoted name><suffix>`` on an HTTP(S) server."""

    def __init__(self, base: str, timeout: float, suffix: str = ".npy") -> None:
        self.base = base.rstrip("/")
        self.id = self.base
        self.timeout = timeout
        self.suffix = suffix

    def describe(self, name: str) -> str:
        return f"{self.base}/{urllib.parse.quote(name)}{self.suffix}"

    def open(self, name: str, start: int, stop: int | None) -> Reply:
        url = self.describe(name)
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if start > 0 or stop is not None:
            last = "" if stop is None else str(stop - 1)
            headers["Range"] = f"bytes={start}-{last}"
        request = urllib.request.Request(url, headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            e.close()
            if e.code in (404, 410):
                raise MissingFile(f"QuickDraw has no file for '{name}' at {url} "
                                  f"(HTTP {e.code})") from None
            if e.code == 416:
                raise TruncatedData(f"{url} is shorter than expected: the server has no "
                                    f"bytes from offset {start} on (HTTP 416)") from None
            raise DownloadError(f"{url} answered HTTP {e.code} {e.reason}".rstrip()) from None
        except urllib.error.URLError as e:
            raise _network_error(e.reason, url, self.timeout) from None
        except (OSError, http.client.HTTPException) as e:
            raise _network_error(e, url, self.timeout) from None
        try:
            return self._reply(response, url, start, stop)
        except BaseException:
            response.close()
            raise

    def _reply(self, response, url: str, start: int, stop: int | None) -> Reply:
        status = response.status
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.strip().isdigit() else None
        if status == 206:
            found = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not found:
                raise DownloadError(f"{url} sent part of the file (HTTP 206) without a "
                                    "usable Content-Range header")
            first, last = int(found[1]), int(found[2])
            total = None if found[3] == "*" else int(found[3])
            clipped = total is not None and last == total - 1  # file ends before `stop`
            wanted_last = None if stop is None else stop - 1
            if first != start or last < first or (
                    wanted_last is not None and last != wanted_last
                    and not (clipped and last < wanted_last)):
                raise DownloadError(
                    f"{url} sent the wrong part of the file: asked for bytes "
                    f"{start}-{'' if wanted_last is None else wanted_last}, got "
                    f"{response.headers.get('Content-Range', '').strip()}")
            return HttpReply(response, url, start, last + 1, total, self.timeout)
        if status == 200:
            reply = HttpReply(response, url, 0, length, length, self.timeout)
            skip = start
            while skip:  # the server ignored Range: drop the bytes before `start`
                got = reply.read(min(skip, _SKIP_CHUNK))
                if not got:
                    raise TruncatedData(f"{url} ended after {start - skip} bytes, "
                                        f"before offset {start}")
                skip -= len(got)
            reply.start = start
            return reply
        raise DownloadError(f"{url} answered HTTP {status} instead of the file")


# -- local folder --------------------------------------------------------
class LocalReply(Reply):
    def __init__(self, f, path: Path, start: int, stop: int | None) -> None:
        self._f = f
        self.where = str(path)
        self.total = os.fstat(f.fileno()).st_size
        self.start = start
        self.end = self.total if stop is None else min(stop, self.total)
        f.seek(start)

    def read(self, n: int) -> bytes:
        try:
            return self._f.read(n)
        except OSError as e:
            raise SourceError(f"cannot read {self.where}: {e.strerror or e}") from None

    def close(self) -> None:
        self._f.close()


class LocalSource(Source):
    """Files ``<folder>/<name><suffix>`` on this machine (a mirror of the official files)."""

    def __init__(self, folder: Path, suffix: str = ".npy") -> None:
        self.folder = Path(folder)
        self.id = str(self.folder)
        self.suffix = suffix

    def describe(self, name: str) -> str:
        return str(self.folder / f"{name}{self.suffix}")

    def open(self, name: str, start: int, stop: int | None) -> Reply:
        if not self.folder.is_dir():
            raise MissingSource(f"the source folder {self.folder} does not exist")
        path = self.folder / f"{name}{self.suffix}"
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            raise MissingFile(f"the source folder {self.folder} has no file for "
                              f"'{name}' ({path.name})") from None
        except OSError as e:
            raise SourceError(f"cannot read {path}: {e.strerror or e}") from None
        try:
            return LocalReply(f, path, start, stop)
        except BaseException:
            f.close()
            raise


def open_source(spec: str, timeout: float, suffix: str = ".npy") -> Source:
    """A :class:`Source` of ``<name><suffix>`` files at a base URL, a ``file://`` URL or a
    folder path.

    Relative folder paths are resolved against the current directory. Nothing
    is contacted or checked here; errors come when a file is opened.
    """
    spec = str(spec).strip()
    parts = urllib.parse.urlsplit(spec)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not parts.netloc:
            raise SourceError(f"the source URL {spec!r} has no host name")
        return HttpSource(spec, timeout, suffix)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise SourceError(f"cannot read {spec}: only file:// URLs on this machine work")
        return LocalSource(_absolute(urllib.request.url2pathname(parts.path)), suffix)
    if "://" in spec:
        raise SourceError(f"cannot fetch from {spec!r}: the source must be an http(s) URL "
                          "or a folder")
    return LocalSource(_absolute(spec), suffix)


def open_sources(specs: list[str], timeout: float, suffix: str = ".npy") -> list[Source]:
    """:func:`open_source` of each of ``specs``, in order, a source named twice only once
    (``data`` and ``./data`` are one folder, a URL with and without its last slash one
    server)."""
    sources: list[Source] = []
    for spec in specs:
        source = open_source(spec, timeout, suffix)
        if source.id not in {known.id for known in sources}:
            sources.append(source)
    return sources


def _absolute(path: str) -> Path:
    """``path`` made absolute against the current directory, with ``..`` folded."""
    return Path(os.path.abspath(os.path.expanduser(path)))
