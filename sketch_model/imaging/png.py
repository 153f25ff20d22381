"""Check a PNG drawing and decode it to ink: how strongly each pixel is drawn on.

Uploads are hostile until checked: the declared size, the chunk before the pixels and the
number of frames are read before anything is inflated, so no decompression bomb gets through.
The two kinds of PNG browsers send, 8-bit RGBA (a canvas's own export) and 8-bit grey (what
draw.js sends), are decoded by libspng, faster than Pillow; every other kind goes to Pillow.
Ink is read from the alpha channel of a transparent canvas, else as contrast with the paper,
whose shade is read off the picture's border (dark ink on white and white ink on black alike).
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pyspng
from PIL import Image

from .errors import ImageTooLarge, NotAnImage

# What we accept. A 1600x1600 high-DPI canvas PNG of a sketch is well under 1 MB.
MAX_PNG_BYTES = 4 * 1024 * 1024
MAX_SIDE = 4096
MAX_PIXELS = 4096 * 4096

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_RGBA8, _GREY8 = b"\x08\x06", b"\x08\x00"  # IHDR bit depth and colour type
_SMALL_HEADER = 1024  # bytes before the first IDAT chunk up to which libspng may decode
_DAMAGED = "The PNG image is damaged or incomplete and cannot be read."
# Everything Pillow, zlib and libspng (RuntimeError) may raise on malformed PNG data; all mean
# "damaged image".
_DECODE_ERRORS = (RuntimeError, OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError,
                  TypeError, struct.error, zlib.error, Image.DecompressionBombError)


def read_ink(png: bytes) -> np.ndarray:
    """Ink strength per pixel (0 none, 255 full) of a PNG drawing, decoded once it is checked.

    The two kinds of PNG browsers send, 8-bit RGBA (a canvas's own export) and 8-bit grey (what
    draw.js sends), are decoded by libspng, a third faster than Pillow; a transparent canvas
    has its strokes in the alpha channel. Every other kind goes to Pillow.
    """
    image = open_png(png)
    png = bytes(png)
    kind = png[24:26] if _header_is_small(png) else None  # IHDR: bit depth, colour type
    try:
        if kind == _RGBA8:
            rgba = pyspng.load(png)
            alpha = np.ascontiguousarray(rgba[..., 3])
            if alpha.min() < 255:
                return alpha
            image = Image.fromarray(rgba)
        elif kind == _GREY8 and "transparency" not in image.info:
            return _contrast_with_background(pyspng.load(png))
        else:
            image.load()
        return _ink_layer(image)
    except _DECODE_ERRORS:  # also e.g. a tRNS chunk longer than the palette: convert() fails
        raise NotAnImage(_DAMAGED) from None


def _header_is_small(png: bytes) -> bool:
    """Whether the chunks before the pixel data are a few bytes, as browsers write them.

    libspng parses them again after Pillow, and compressed text or colour profiles there could
    inflate to megabytes each time; such PNGs are left to Pillow alone.
    """
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= min(len(png), _SMALL_HEADER):
        length, kind = struct.unpack_from(">I4s", png, offset)
        if kind == b"IDAT":
            return True
        offset += 12 + length
    return False


def open_png(data: bytes) -> Image.Image:
    """Open a PNG for decoding after checking its declared size, so no decompression bomb
    gets inflated."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise NotAnImage("The drawing must be PNG bytes.")
    data = bytes(data)
    if len(data) > MAX_PNG_BYTES:
        raise ImageTooLarge(too_many_bytes())
    if not data.startswith(PNG_SIGNATURE):
        raise NotAnImage("The drawing must be a PNG image.")
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise NotAnImage(_DAMAGED)
    width, height = struct.unpack(">II", data[16:24])
    if width == 0 or height == 0:
        raise NotAnImage(_DAMAGED)
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageTooLarge(f"The drawing is too large: at most {MAX_SIDE} x {MAX_SIDE} "
                            "pixels are accepted.")
    try:
        image = Image.open(io.BytesIO(data), formats=["PNG"])
        frames = getattr(image, "n_frames", 1)
    except _DECODE_ERRORS:
        raise NotAnImage(_DAMAGED) from None
    # Pillow takes the size from the last IHDR chunk it meets, we checked the first: a second
    # IHDR (a tiny first one, then 9000 x 9000) would get past the checks above and inflate
    # hundreds of MB. Whatever gets decoded must be the size we checked.
    if image.size != (width, height):
        raise NotAnImage(_DAMAGED)
    if frames > 1:
        raise NotAnImage("The drawing must be a still PNG image, not an animation.")
    return image


def too_many_bytes() -> str:
    """The sentence for a PNG over ``MAX_PNG_BYTES``."""
    return f"The drawing is too large: at most {MAX_PNG_BYTES // 2**20} MB are accepted."


def _ink_layer(image: Image.Image) -> np.ndarray:
    """Ink strength per pixel (0 none, 255 full) for any PNG mode and either polarity.

    A canvas left transparent carries its strokes in the alpha channel, whatever their colour.
    An opaque picture carries them as contrast against its background, which we read off the
    border: dark ink on white paper and white ink on black (like the dataset) both work.
    """
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):  # 16-bit grey and kin
        wide = np.asarray(image, dtype=np.float32)
        image = Image.fromarray(np.clip(wide / 257.0, 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else \
            image.convert("RGBA").getchannel("A")
        alpha = np.asarray(alpha)
        if alpha.min() < 255:
            return alpha
    return _contrast_with_background(np.asarray(image.convert("L")))


def _contrast_with_background(grey: np.ndarray) -> np.ndarray:
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = int(np.median(border))
    if background == 255:
        return 255 - grey
    if background == 0:
        return grey
    grey = grey.astype(np.float32)
    if background >= 128:
        ink = (background - grey) * (255.0 / background)
    else:
        ink = (grey - background) * (255.0 / (255 - background))
    return np.clip(ink, 0, 255).astype(np.uint8)
