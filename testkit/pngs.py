"""PNGs made to measure for tests: chunk by chunk, with forged CRCs and declared sizes, and a
watch on the decoders.

The hostile-request battery and the fuzzing both build PNGs that lie (a bomb declared
100000 x 100000, a second IHDR, a transparency table longer than the palette);
``decoders_watched`` records every picture Pillow or libspng is about to decode, so a test can
say that nothing beyond our limits ever was.
"""

from __future__ import annotations

import io
import struct
import zlib
from contextlib import contextmanager

import numpy as np
import pyspng
from PIL import Image, ImageFile

from sketch_model.facts import SIDE
from sketch_model.imaging.canvas import png_bytes
from sketch_model.imaging.canvas import png_chunk as _png_chunk
from sketch_model.imaging.errors import SketchError
from sketch_model.imaging.png import MAX_PIXELS, MAX_SIDE, PNG_SIGNATURE
from sketch_model.imaging.restroke import to_bitmap

SIGNATURE = PNG_SIGNATURE


# --- chunks ------------------------------------------------------------------------------------

def png_chunk(kind: bytes, payload: bytes, crc: int | None = None) -> bytes:
    """One PNG chunk, with ``crc`` in place of its own CRC if given (to forge a bad one)."""
    chunk = _png_chunk(kind, payload)
    return chunk if crc is None else chunk[:-4] + struct.pack(">I", crc)


def chunks_of(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of each chunk of a valid PNG."""
    found, at = [], len(SIGNATURE)
    while at + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        found.append((kind, png[at + 8:at + 8 + length]))
        at += 12 + length
    return found


# --- PNGs that lie -------------------------------------------------------------------------------

def declared_png(width: int, height: int, *, first: tuple[int, int] | None = None,
                 full: bool = False) -> bytes:
    """A grey PNG declaring ``width`` x ``height`` with valid CRCs and a small IDAT.

    ``first``: an earlier IHDR with this size (Pillow believes the last one).
    ``full``: the IDAT really inflates to the whole declared picture (zeros compress ~1000:1).
    """
    ihdr = [png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            for w, h in ([first] if first else []) + [(width, height)]]
    if full:
        packer = zlib.compressobj(9)
        row = bytes(width + 1)
        data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    else:
        data = zlib.compress(bytes(1024))
    return SIGNATURE + b"".join(ihdr) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def long_transparency(picture: Image.Image) -> bytes:
    """``picture`` as a palette PNG whose transparency table has one entry more than the
    palette has colours (Pillow opens it, then fails converting it)."""
    chunks = chunks_of(png_bytes(picture.convert("P"), transparency=255))
    colours = len(dict(chunks)[b"PLTE"]) // 3
    return SIGNATURE + b"".join(
        png_chunk(kind, b"\xff" * (colours + 1) if kind == b"tRNS" else payload)
        for kind, payload in chunks)


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    """``image`` in another format than PNG (JPEG, GIF...): what the app must refuse."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


# --- watching the decoders -----------------------------------------------------------------------

DECODED: list[tuple[int, int]] = []  # the size of every picture decoded while watched
_load = ImageFile.ImageFile.load
_spng_load = pyspng.load


def _recording_load(self):
    if self.tile:  # something left to decode (a loaded picture has no tiles)
        DECODED.append(self.size)
    return _load(self)


def _recording_spng_load(data, *args, **kwargs):
    DECODED.append(struct.unpack(">II", data[16:24]))  # libspng sizes its output by this IHDR
    return _spng_load(data, *args, **kwargs)


@contextmanager
def decoders_watched():
    """Record each picture Pillow or libspng is about to decode; fail on any beyond our
    limits."""
    DECODED.clear()
    ImageFile.ImageFile.load = _recording_load
    pyspng.load = _recording_spng_load
    try:
        yield DECODED
    finally:
        ImageFile.ImageFile.load = _load
        pyspng.load = _spng_load
    too_big = [(w, h) for w, h in DECODED if w > MAX_SIDE or h > MAX_SIDE or w * h > MAX_PIXELS]
    assert not too_big, f"pictures decoded beyond our limits: {too_big[:5]}"


def outcome(png) -> str:
    """to_bitmap's answer: "bitmap" for a dataset-shaped one, else the name of our error (its
    message a sentence); anything else raised fails the test."""
    try:
        bitmap = to_bitmap(png)
    except SketchError as error:
        message = str(error)
        assert message[:1].isupper() and message.endswith((".", "!", "?")), message
        return type(error).__name__
    assert isinstance(bitmap, np.ndarray)
    assert bitmap.shape == (SIDE, SIDE) and bitmap.dtype == np.uint8
    return "bitmap"
