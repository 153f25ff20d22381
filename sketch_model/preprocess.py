"""Turn a browser drawing into the 28x28 picture a QuickDraw model was trained on.

The official bitmaps were rendered from stroke skeletons: the drawing's longest side scaled to
255 of 304 units, centred, and stroked with round 16-unit lines, then sampled at 28x28 (see
DESIGN.md). A canvas PNG has only pixels, drawn with any pen width at any size. So we:

1. find the ink (alpha for transparent canvases, contrast with the background otherwise),
2. crop to the ink's bounding box and estimate the pen width there,
3. map the stroke skeleton's longest side onto the dataset's 23.5 px, centred, by area-averaging
   onto a 4x oversampled frame,
4. re-stroke to the dataset's 1.47 px line width with a distance transform (thicken thin pens,
   thin thick ones), and
5. area-average down to 28x28.

The web app, the evaluation and the benchmarks all call ``decode_data_url`` and ``to_bitmap``;
nothing here writes to disk.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import struct
import zlib

import cv2
import numpy as np
import pyspng
from PIL import Image

from .errors import BlankDrawing, ImageTooLarge, NotAnImage

# How the dataset was rendered (DESIGN.md, "Facts about QuickDraw data").
SIDE = 28
_FRAME_UNITS = 256 + 2 * 16 + 16  # drawing area + padding on both sides + one line diameter
SKELETON_SPAN = 255 * SIDE / _FRAME_UNITS  # longest side of the stroke skeleton, in px (23.5)
STROKE_WIDTH = 16 * SIDE / _FRAME_UNITS  # line width, in px (1.47)

# What we accept. A 1600x1600 high-DPI canvas PNG of a sketch is well under 1 MB.
MAX_PNG_BYTES = 4 * 1024 * 1024
MAX_SIDE = 4096
MAX_PIXELS = 4096 * 4096

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_RGBA8, _GREY8 = b"\x08\x06", b"\x08\x00"  # IHDR bit depth and colour type
_SMALL_HEADER = 1024  # bytes before the first IDAT chunk up to which libspng may decode
_DATA_URL_PREFIX = "data:image/png;base64,"
_MAX_BASE64_CHARS = 4 * math.ceil(MAX_PNG_BYTES / 3)

# Re-stroking works on a frame OVERSAMPLE times finer than 28x28, with a margin so that strokes
# still too thick before thinning are not cut by the frame's edge.
OVERSAMPLE = 4
_MARGIN = 2  # px at 28x28, on each side
_WORK = (SIDE + 2 * _MARGIN) * OVERSAMPLE
# Re-stroking grows lines by 1 + (STROKE_WIDTH * OVERSAMPLE - width) / 2 < 3.2 work px at most
# (the measured width is at least 1.5), and distances are exact within the ink's bounding box
# plus this much background around it.
_WINDOW_PAD = 8

_NEIGHBOURS = np.ones((3, 3), np.uint8)  # a pixel and its 8 neighbours
_INK_LEVEL = 40  # of 255: fainter pixels are antialiasing fringe or noise, not ink
_DOT_SHARE = 0.1  # a blob this small against the canvas, no longer than 2.5 pen widths, is a dot

_DAMAGED = "The PNG image is damaged or incomplete and cannot be read."
# Everything Pillow, zlib and libspng (RuntimeError) may raise on malformed PNG data; all mean
# "damaged image".
_DECODE_ERRORS = (RuntimeError, OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError,
                  TypeError, struct.error, zlib.error, Image.DecompressionBombError)


def decode_data_url(text: str) -> bytes:
    """Return the PNG bytes inside a ``data:image/png;base64,...`` URL, as canvases produce."""
    if not isinstance(text, str):
        raise NotAnImage("The drawing must be sent as a data URL (text).")
    text = text.strip()
    if not text:
        raise NotAnImage("No drawing was sent: the image field is empty.")
    header, comma, payload = text.partition(",")
    if not comma or not header.lower().startswith("data:"):
        raise NotAnImage("The drawing must be a data URL starting with "
                         f"'{_DATA_URL_PREFIX}'.")
    mime, *params = (part.strip().lower() for part in header[len("data:"):].split(";"))
    if mime != "image/png":
        raise NotAnImage("The drawing must be a PNG image (data:image/png).")
    if "base64" not in params:
        raise NotAnImage("The drawing must be base64-encoded "
                         f"('{_DATA_URL_PREFIX}...').")
    if len(payload) > _MAX_BASE64_CHARS + 1024:  # checked before any work on the payload
        raise ImageTooLarge(_too_many_bytes())
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise NotAnImage("The drawing is not valid base64 data.") from None
    if not data:
        raise NotAnImage("No drawing was sent: the image data is empty.")
    return data


def to_bitmap(png: bytes) -> np.ndarray:
    """Return the drawing in ``png`` as a QuickDraw-style 28x28 uint8 bitmap, ink 255 on 0."""
    return _render_like_quickdraw(read_ink(png))


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
        raise ImageTooLarge(_too_many_bytes())
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


def _too_many_bytes() -> str:
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


def _render_like_quickdraw(ink: np.ndarray) -> np.ndarray:
    peak = int(ink.max())
    if peak <= _INK_LEVEL:
        raise BlankDrawing()
    # The crop keeps the faint antialiased fringe; the drawing's extent and centre are measured
    # at half the peak ink, where the edge of an antialiased stroke really is.
    top, bottom, left, right = _bounds(ink, _INK_LEVEL)
    crop = ink[top:bottom, left:right]
    edge = peak // 2
    e_top, e_bottom, e_left, e_right = _bounds(crop, edge)
    pen = _pen_width(crop, edge)
    extent = max(e_bottom - e_top, e_right - e_left)
    if extent < 3 or (extent <= 2.5 * pen and extent <= _DOT_SHARE * max(ink.shape)):
        raise BlankDrawing("Draw something first: a dot is not enough to recognise.")
    centre = ((e_top + e_bottom) / 2, (e_left + e_right) / 2)

    # The outline-based pen width is a first guess (solid blobs inflate it); the ridge of the
    # distance transform on the work frame measures it properly, so one more pass settles it.
    for _ in range(2):
        scale = SKELETON_SPAN / max(extent - pen, 1.0)
        frame = _onto_work_frame(crop, centre, px_per_source_px=scale)
        mask, inside, width = _strokes(frame)
        measured = width / (OVERSAMPLE * scale)
        if abs(measured - pen) < 0.01 * extent:
            break
        pen = measured
    cover = _restroke(mask, inside, width)
    margin = _MARGIN * OVERSAMPLE
    inner = cover[margin:-margin, margin:-margin]
    small = cv2.resize(inner, (SIDE, SIDE), interpolation=cv2.INTER_AREA)  # 4x4 box means
    return np.rint(small * 255).astype(np.uint8)


def _bounds(ink: np.ndarray, level: int) -> tuple[int, int, int, int]:
    """Top, bottom, left, right (exclusive) of the pixels above ``level``."""
    rows = np.flatnonzero(ink.max(axis=1) > level)
    cols = np.flatnonzero(ink[rows[0]:rows[-1] + 1].max(axis=0) > level)
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def _pen_width(crop: np.ndarray, edge: int) -> float:
    """Average stroke width in source pixels: twice the ink area over the outline length."""
    mask = crop > edge
    crossings = (np.count_nonzero(mask[:, 1:] != mask[:, :-1])
                 + np.count_nonzero(mask[1:] != mask[:-1])
                 + np.count_nonzero(mask[[0, -1]]) + np.count_nonzero(mask[:, [0, -1]]))  # edges
    outline = crossings * math.pi / 4  # grid-step length -> Euclidean, averaged over directions
    area = crop.sum(dtype=np.float64) / float(crop.max())
    return max(2.0 * area / outline, 1.0)


def _onto_work_frame(crop: np.ndarray, centre: tuple[float, float],
                     px_per_source_px: float) -> np.ndarray:
    """Area-average the crop onto the oversampled frame, ``centre`` in the middle (0..1)."""
    span = _WORK / (OVERSAMPLE * px_per_source_px)  # source px seen by the whole work frame
    height, width = crop.shape
    cy, cx = centre
    half = int(math.ceil(max(span / 2, cy, height - cy, cx, width - cx))) + 2
    padded = np.zeros((2 * half, 2 * half), dtype=np.uint8)
    y0, x0 = half - round(cy), half - round(cx)
    padded[y0:y0 + height, x0:x0 + width] = crop
    cy, cx = y0 + cy, x0 + cx
    box = (cx - span / 2, cy - span / 2, cx + span / 2, cy + span / 2)
    method = Image.Resampling.BOX if span >= _WORK else Image.Resampling.BILINEAR
    work = Image.fromarray(padded).resize((_WORK, _WORK), method, box=box)
    return np.asarray(work, dtype=np.float32) / 255.0


def _strokes(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The ink mask, each ink pixel's distance to the background, and the typical line width.

    The width is read on the ridge of the distance transform (the stroke centre lines), whose
    median ignores the blobs where strokes cross or were filled in. Distances inside the ink
    depend only on the ink's window (its bounding box and a ring of background), so that is all
    the transform sees.
    """
    mask = frame >= 0.35 * frame.max()
    # The frame's outermost pixels are background, so that even ink filling the whole frame
    # (a filled-in shape, blown up by its huge first pen-width guess) has finite distances.
    mask[[0, -1]] = mask[:, [0, -1]] = False
    window = _ink_window(mask)
    inside = np.zeros(mask.shape, np.float32)
    part = inside[window] = _distance_to_background(mask[window])
    # Local maxima. OpenCV's float32 distances may differ in the last bit for equal exact
    # distances, and distinct ones (square roots of whole numbers) are > 0.005 apart here.
    ridge = mask[window] & (part >= cv2.dilate(part, _NEIGHBOURS) - 1e-4)
    width = 2.0 * float(np.median(part[ridge])) - 0.5  # a band n px wide: ridge ~(n + 0.5)/2
    return mask, inside, width


def _restroke(mask: np.ndarray, inside: np.ndarray, width: float) -> np.ndarray:
    """Redraw the strokes at the dataset's line width, as pixel coverage (0..1).

    The outline of the ink is moved in or out by a signed distance, measured with an exact
    Euclidean distance transform, so lines keep their shape and round ends. Growing reaches
    less than ``_WINDOW_PAD`` px past the ink, so the outside distance is only measured there.
    """
    grow = (STROKE_WIDTH * OVERSAMPLE - width) / 2.0
    if grow >= 0:
        window = _ink_window(mask)
        cover = np.zeros(mask.shape, np.float32)
        outside = _distance_to_background(~mask[window])
        cover[window] = np.clip(1.0 + grow - outside, 0.0, 1.0)
        return cover
    return np.clip(inside + grow, 0.0, 1.0)


def _distance_to_background(mask: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance from each True pixel to the nearest False one (0 on False).

    OpenCV's precise mode is the exact transform of Felzenszwalb and Huttenlocher, SciPy's
    ``distance_transform_edt`` distances (to float32 precision) in a third of the time.
    """
    return cv2.distanceTransform(mask.view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def _ink_window(mask: np.ndarray) -> tuple[slice, slice]:
    """The bounding box of ``mask`` grown by ``_WINDOW_PAD`` px, clipped to the frame."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    height, width = mask.shape
    return (slice(max(rows[0] - _WINDOW_PAD, 0), min(rows[-1] + 1 + _WINDOW_PAD, height)),
            slice(max(cols[0] - _WINDOW_PAD, 0), min(cols[-1] + 1 + _WINDOW_PAD, width)))
