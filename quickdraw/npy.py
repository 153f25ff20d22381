"""Reading and writing the header of QuickDraw ``.npy`` bitmap files.

A QuickDraw numpy_bitmap file is a standard ``.npy`` file: the magic
``\\x93NUMPY``, a version, a little-endian header length, a header dict
(``descr``, ``fortran_order``, ``shape``), then N rows of :data:`ROW_BYTES`
uint8. Only uint8, C-order, (N, 784) files are accepted, and every refusal is a
:class:`NotNpyFile` or :class:`TruncatedData` with a one-line message.

:mod:`numpy.lib.format` parses the dict (``read_array_header_1_0``/``2_0``,
with :func:`ast.literal_eval`, never pickle) and writes the header of a cached
file, padded as ``np.save`` pads it (``write_array_header_1_0``). Three parts
are written here because numpy cannot do them:

* :func:`header_length`, the length of the whole header from the first
  :data:`PREFIX_LEN` bytes. numpy only reads a header whole, and a short read
  or a wrong magic is a bare ValueError. We need the length before the rest
  arrives, so that an HTTP Range request can ask for just the first K rows
  (row K starts at ``length + K * ROW_BYTES``), so that an HTML page or a
  download cut short is told apart from a damaged file, and so that an absurd
  length is refused before anything is read.
* Version 3.0 headers: numpy has no public reader for them. 3.0 differs from
  2.0 only in decoding the dict as UTF-8 rather than latin1; the two agree on
  ASCII, which any uint8 header is, so an ASCII 3.0 header is read as 2.0 and
  any other is refused.
* The checks that a header numpy accepts describes QuickDraw bitmaps (numpy
  accepts any dtype, order and shape).
"""

from __future__ import annotations

import io
import operator
import os
import struct
from dataclasses import dataclass

import numpy as np
from numpy.lib import format as npformat

from .errors import NotNpyFile, TruncatedData

ROW_BYTES = 28 * 28  # one drawing: a 28x28 bitmap, one byte a pixel
MAGIC = npformat.MAGIC_PREFIX
PREFIX_LEN = 12  # magic, version and header length, enough for any version
MAX_HEADER = 10_000  # numpy's own limit for literal_eval; a QuickDraw header is 128 bytes
_LENGTH_FIELD = {(1, 0): "<H", (2, 0): "<I", (3, 0): "<I"}
_UINT8 = np.dtype(np.uint8)


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
    if version not in _LENGTH_FIELD:
        raise NotNpyFile(f"{where} uses .npy format version {version[0]}.{version[1]}, "
                         "which is not supported (1.0, 2.0 or 3.0 are)")
    fmt = _LENGTH_FIELD[version]
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
    length = header_length(data[:PREFIX_LEN], where)
    if len(data) < length:
        raise TruncatedData(f"{where} ends after {len(data)} bytes, inside the .npy header")
    stream = io.BytesIO(data[:length])
    version = npformat.read_magic(stream)
    if version == (3, 0) and not data[PREFIX_LEN:length].isascii():
        raise NotNpyFile(f"{where} has a .npy header that is not plain ASCII, "
                         "as the header of uint8 bitmaps always is")
    if version == (1, 0):
        read = npformat.read_array_header_1_0
    else:
        read = npformat.read_array_header_2_0
    try:
        shape, fortran_order, dtype = read(stream, max_header_size=MAX_HEADER)
    except Exception as e:
        # numpy documents ValueError, but a hostile dict also gets SyntaxError, TypeError,
        # IndexError, tokenize.TokenError or RecursionError out of literal_eval, its
        # Python 2 fallback or np.dtype. Whichever it is, numpy cannot read the header.
        raise NotNpyFile(f"{where} has a damaged .npy header ({_reason(e)})") from None
    _check_bitmaps(shape, fortran_order, dtype, where)
    return Header(version=version, length=length, rows=shape[0])


def _check_bitmaps(shape: tuple, fortran_order: bool, dtype: np.dtype, where: str) -> None:
    """Refuse a header numpy accepts that does not describe (N, 784) uint8 rows in C order."""
    if dtype != _UINT8:
        descr = _clip(repr(npformat.dtype_to_descr(dtype)))
        raise NotNpyFile(f"{where} holds {descr} values, not the uint8 bitmaps of QuickDraw")
    if fortran_order:
        raise NotNpyFile(f"{where} is stored in Fortran order; QuickDraw files are row-major")
    if (len(shape) != 2 or not all(type(n) is int and n >= 0 for n in shape)
            or shape[1] != ROW_BYTES):  # numpy lets True and negative sizes through
        raise NotNpyFile(f"{where} has shape {_clip(repr(shape))}, "
                         f"not (N, {ROW_BYTES}) 28x28 bitmaps")


def build_header(rows: int) -> bytes:
    """The version 1.0 header ``np.save`` writes for ``rows`` x 784 uint8 in C order."""
    rows = operator.index(rows)  # a Python int: numpy writes the shape with repr()
    if rows < 0:
        raise ValueError("rows must be >= 0")
    out = io.BytesIO()
    npformat.write_array_header_1_0(out, {"descr": npformat.dtype_to_descr(_UINT8),
                                          "fortran_order": False,
                                          "shape": (rows, ROW_BYTES)})
    return out.getvalue()


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


def _preview(data: bytes) -> str:
    """The first bytes of a file, quoted, for a message."""
    return repr(_clip(data.decode("latin1"), 40))


def _reason(error: Exception) -> str:
    """Why numpy refused a header, short enough for a one-line message."""
    text = error.args[0] if error.args and isinstance(error.args[0], str) else ""
    return _clip(text or type(error).__name__)


def _clip(text: str, width: int = 100) -> str:
    return text if len(text) <= width else text[:width] + "..."
