"""Reading and writing the header of QuickDraw ``.npy`` bitmap files, by hand.

A QuickDraw numpy_bitmap file is a standard ``.npy`` file: the magic
``\\x93NUMPY``, a version, a little-endian header length, a Python-literal dict
(``descr``, ``fortran_order``, ``shape``), then N x 784 uint8 rows. Parsing the
header ourselves (with :func:`ast.literal_eval`, never pickle) lets us check a
download from its first bytes, learn where row K starts (so an HTTP Range
request can fetch just the first K drawings) and write a correct header when a
cached file grows. Only uint8, C-order, (N, 784) arrays are accepted.
"""

from __future__ import annotations

import ast
import os
import struct
from dataclasses import dataclass

from .errors import NotNpyFile, TruncatedData

MAGIC = b"\x93NUMPY"
ROW_BYTES = 28 * 28
PREFIX_LEN = 12  # enough bytes to learn the header length of any version
ALIGN = 64  # numpy pads headers so the data starts on a multiple of 64
MAX_HEADER = 1 << 16  # a QuickDraw header is ~128 bytes; refuse absurd lengths
_DESCRS = ("|u1", "<u1")
_VERSIONS = {(1, 0): ("<H", "latin1"), (2, 0): ("<I", "latin1"), (3, 0): ("<I", "utf8")}


@dataclass(frozen=True)
class Header:
    """What a valid header says: where the rows start and how many there are."""

    version: tuple[int, int]
    length: int  # bytes before the first row (magic + version + len + dict)
    rows: int

    @property
    def file_size(self) -> int:
        """The size of a complete file with this header."""
        return self.length + self.rows * ROW_BYTES


def _preview(data: bytes) -> str:
    text = data[:40].decode("latin1")
    return repr(text + ("..." if len(data) > 40 else ""))


def header_length(prefix: bytes, where: str) -> int:
    """Total header length (data offset) from the first bytes of a file.

    ``prefix`` should hold :data:`PREFIX_LEN` bytes (fewer only if the file is
    that short). ``where`` names the file or URL in error messages.
    """
    if not prefix:
        raise NotNpyFile(f"{where} is empty, not a .npy file")
    if prefix[: len(MAGIC)] != MAGIC[: len(prefix)]:
        looks = "an HTML page" if prefix.lstrip()[:1] == b"<" else "something else"
        raise NotNpyFile(f"{where} is not a .npy file but {looks} "
                         f"(it starts with {_preview(prefix)})")
    if len(prefix) < 8:
        raise TruncatedData(f"{where} ends after {len(prefix)} bytes, inside the .npy header")
    version = (prefix[6], prefix[7])
    if version not in _VERSIONS:
        raise NotNpyFile(f"{where} uses .npy format version {version[0]}.{version[1]}, "
                         "which is not supported (1.0, 2.0 or 3.0 are)")
    fmt = _VERSIONS[version][0]
    start = 8 + struct.calcsize(fmt)
    if len(prefix) < start:
        raise TruncatedData(f"{where} ends after {len(prefix)} bytes, inside the .npy header")
    (dict_len,) = struct.unpack(fmt, prefix[8:start])
    if dict_len > MAX_HEADER:
        raise NotNpyFile(f"{where} claims a {dict_len}-byte .npy header; "
                         "a QuickDraw file's is about 128 bytes")
    return start + dict_len


def parse_header(data: bytes, where: str) -> Header:
    """Parse and check a whole header (``data`` may run on into the rows)."""
    total = header_length(data[:PREFIX_LEN], where)
    if len(data) < total:
        raise TruncatedData(f"{where} ends after {len(data)} bytes, inside the .npy header")
    version = (data[6], data[7])
    fmt, encoding = _VERSIONS[version]
    start = 8 + struct.calcsize(fmt)
    try:
        text = data[start:total].decode(encoding)
        meta = ast.literal_eval(text)
    except (UnicodeDecodeError, ValueError, SyntaxError, TypeError,
            MemoryError, RecursionError):
        raise NotNpyFile(f"{where} has a damaged .npy header") from None
    if not isinstance(meta, dict) or set(meta) != {"descr", "fortran_order", "shape"}:
        raise NotNpyFile(f"{where} has a .npy header without exactly the keys "
                         "descr, fortran_order and shape")
    if meta["descr"] not in _DESCRS:
        raise NotNpyFile(f"{where} holds {meta['descr']!r} values, "
                         "not the uint8 bitmaps of QuickDraw")
    if meta["fortran_order"] is not False:
        raise NotNpyFile(f"{where} is stored in Fortran order; QuickDraw files are row-major")
    shape = meta["shape"]
    if (not isinstance(shape, tuple) or len(shape) != 2
            or not all(type(n) is int and n >= 0 for n in shape) or shape[1] != ROW_BYTES):
        raise NotNpyFile(f"{where} has shape {shape!r}, "
                         f"not (N, {ROW_BYTES}) 28x28 bitmaps")
    return Header(version=version, length=total, rows=shape[0])


def build_header(rows: int) -> bytes:
    """A version 1.0 header for ``rows`` x 784 uint8, padded like numpy does."""
    if rows < 0:
        raise ValueError("rows must be >= 0")
    text = f"{{'descr': '|u1', 'fortran_order': False, 'shape': ({rows}, {ROW_BYTES}), }}"
    body = text.encode("latin1")
    used = len(MAGIC) + 2 + 2 + len(body) + 1  # + version, length, trailing newline
    pad = -used % ALIGN
    body = body + b" " * pad + b"\n"
    if len(body) > 0xFFFF:  # cannot happen for any real row count
        raise ValueError("header too long for .npy version 1.0")
    return MAGIC + bytes((1, 0)) + struct.pack("<H", len(body)) + body


def inspect_file(path: str | os.PathLike) -> Header:
    """Check a file on disk is a complete QuickDraw .npy; return its header.

    Raises :class:`NotNpyFile` or :class:`TruncatedData` (with the path in the
    message) and lets :class:`OSError` through for unreadable files.
    """
    where = str(path)
    with open(path, "rb") as f:
        head = f.read(PREFIX_LEN)
        length = header_length(head, where)
        head += f.read(max(0, length - len(head)))
        header = parse_header(head, where)
        size = os.fstat(f.fileno()).st_size
    if size < header.file_size:
        raise TruncatedData(f"{where} holds {size} bytes but its header promises "
                            f"{header.rows} drawings ({header.file_size} bytes)")
    if size > header.file_size:
        raise NotNpyFile(f"{where} holds {size - header.file_size} bytes more than "
                         f"its header's {header.rows} drawings")
    return header
