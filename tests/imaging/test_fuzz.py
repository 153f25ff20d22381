"""Property-based fuzzing of what a client controls: ``decode_data_url`` and ``to_bitmap``.

Whatever comes in (any text, any bytes, valid PNGs with bytes flipped, cut short, their header
fields or chunk lengths changed, chunks added, dropped or repeated, CRCs fixed or not, and real
pictures in every PNG mode and many sizes), only our own errors (``SketchError``) may escape,
and a returned bitmap is always 28x28 uint8.

Time: hypothesis' ``deadline`` guards every example (the fuzzer's own guard, not a timed
assertion about the product). Memory: checked structurally. Every decode during the fuzzing,
by Pillow or by libspng (which decodes 8-bit RGBA and grey), is recorded
(``testkit.pngs.decoders_watched``), and none may be of a picture larger than our limits;
``test_png_bounds.py`` holds the bounds themselves.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from sketch_model.imaging.errors import SketchError
from sketch_model.imaging.png import MAX_SIDE
from testkit.drawings import ANIMALS, data_url, png_bytes, render_canvas
from testkit.pngs import SIGNATURE, chunks_of, decoders_watched, outcome, png_chunk
from web.payload import decode_data_url

FUZZ = dict(deadline=2000, database=None, derandomize=False,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
COUNTS: dict[str, int] = {}


def count(name: str) -> None:
    COUNTS[name] = COUNTS.get(name, 0) + 1


@pytest.fixture(scope="module", autouse=True)
def example_counts(report):
    yield
    report("fuzz examples: " + ", ".join(f"{k} {v}" for k, v in COUNTS.items())
           + f" (total {sum(COUNTS.values())})")


# --- PNG surgery ---------------------------------------------------------------------------

def _corpus() -> list[bytes]:
    """Small valid PNGs of every kind the mutations start from."""
    cat = render_canvas(ANIMALS["cat"](), canvas=48, pen=3, size=0.7)
    rgba = Image.open(io.BytesIO(cat))
    grey = Image.new("L", (32, 24), 255)
    ImageDraw.Draw(grey).line((2, 2, 30, 20), fill=0, width=2)
    palette = grey.convert("P")
    frames = [Image.new("RGBA", (16, 16), (0, 0, 0, 0)), Image.new("RGBA", (16, 16), "black")]
    return [
        cat,
        png_bytes(rgba.convert("LA")),
        png_bytes(grey),
        png_bytes(grey, optimize=True),
        png_bytes(grey.convert("RGB")),
        png_bytes(palette, transparency=255),
        png_bytes(palette, bits=1),
        png_bytes(grey.convert("1")),
        png_bytes(Image.fromarray(np.asarray(grey, dtype=np.uint16) * 257)),
        png_bytes(grey.convert("RGB"), transparency=(255, 255, 255)),
        png_bytes(grey, pnginfo=_text_info()),
        png_bytes(frames[0], save_all=True, append_images=frames[1:]),
    ]


def _text_info():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "a sketch")
    info.add_text("Big", "x" * 2000, zip=True)
    return info


CORPUS = _corpus()


IHDR_FIELDS = {  # name: (offset in the IHDR payload, struct format, interesting values)
    "width": (0, ">I", [0, 1, 2, 255, MAX_SIDE, MAX_SIDE + 1, 65535, 100_000, 2**31 - 1,
                        2**31, 2**32 - 1]),
    "height": (4, ">I", [0, 1, 2, 255, MAX_SIDE, MAX_SIDE + 1, 65535, 100_000, 2**31 - 1,
                         2**31, 2**32 - 1]),
    "bit depth": (8, ">B", [0, 1, 2, 3, 4, 8, 16, 32, 255]),
    "colour type": (9, ">B", [0, 1, 2, 3, 4, 5, 6, 7, 8, 255]),
    "compression": (10, ">B", [0, 1, 255]),
    "filter": (11, ">B", [0, 1, 255]),
    "interlace": (12, ">B", [0, 1, 2, 255]),
}


CHUNK_KINDS = [b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"sRGB", b"iCCP", b"tEXt",
               b"zTXt", b"iTXt", b"pHYs", b"acTL", b"fcTL", b"fdAT", b"eXIf", b"cHRM", b"sBIT",
               b"bKGD", b"hIST", b"tIME", b"zzZz", b"IDAt"]


@st.composite
def chunk_payloads(draw):
    kind = draw(st.sampled_from(CHUNK_KINDS))
    payload = draw(st.one_of(
        st.binary(max_size=64),
        st.builds(lambda data: zlib.compress(data), st.binary(max_size=256)),
        st.builds(lambda w, h, depth, colour: struct.pack(">IIBBBBB", w, h, depth, colour,
                                                          0, 0, 0),
                  st.sampled_from(IHDR_FIELDS["width"][2]),
                  st.sampled_from(IHDR_FIELDS["height"][2]),
                  st.sampled_from([1, 8, 16]), st.sampled_from([0, 2, 3, 4, 6])),
        # acTL / fcTL shaped: frame counts and frame sizes
        st.builds(lambda n, plays: struct.pack(">II", n, plays),
                  st.integers(0, 2**32 - 1), st.integers(0, 5)),
        st.builds(lambda seq, w, h, x, y: struct.pack(">IIIIIHHBB", seq, w, h, x, y, 1, 1, 0, 0),
                  st.integers(0, 3), st.integers(0, 70_000), st.integers(0, 70_000),
                  st.integers(0, 70_000), st.integers(0, 70_000)),
    ))
    return kind, payload


@st.composite
def mutated_pngs(draw):
    """A valid PNG, changed at the chunk level and then at the byte level."""
    chunks = chunks_of(draw(st.sampled_from(CORPUS)))
    bad_crcs: set[int] = set()
    for _ in range(draw(st.integers(0, 3))):
        operation = draw(st.sampled_from(["ihdr", "insert", "drop", "repeat", "swap",
                                          "payload", "crc"]))
        index = draw(st.integers(0, len(chunks) - 1)) if chunks else 0
        if operation == "ihdr" and chunks and chunks[0][0] == b"IHDR":
            name = draw(st.sampled_from(sorted(IHDR_FIELDS)))
            offset, fmt, values = IHDR_FIELDS[name]
            value = draw(st.sampled_from(values))
            payload = bytearray(chunks[0][1].ljust(13, b"\0"))
            struct.pack_into(fmt, payload, offset, value)
            chunks[0] = (b"IHDR", bytes(payload))
            if draw(st.booleans()):
                bad_crcs.add(0)  # the old CRC stays: the change is detectable
        elif operation == "insert":
            chunks.insert(draw(st.integers(0, len(chunks))), draw(chunk_payloads()))
        elif operation == "drop" and chunks:
            del chunks[index]
        elif operation == "repeat" and chunks:
            chunks.insert(index, chunks[index])
        elif operation == "swap" and len(chunks) > 1:
            other = draw(st.integers(0, len(chunks) - 1))
            chunks[index], chunks[other] = chunks[other], chunks[index]
        elif operation == "payload" and chunks:
            kind, payload = chunks[index]
            cut = draw(st.integers(0, len(payload)))
            chunks[index] = (kind, payload[:cut] + draw(st.binary(max_size=16))
                             + payload[cut + draw(st.integers(0, 16)):])
        elif operation == "crc" and chunks:
            bad_crcs.add(index)
    data = bytearray(SIGNATURE)
    for index, (kind, payload) in enumerate(chunks):
        good = zlib.crc32(kind + payload) & 0xFFFFFFFF
        data += png_chunk(kind, payload, good ^ 0x5A5A5A5A if index in bad_crcs else good)
    for _ in range(draw(st.integers(0, 3))):
        operation = draw(st.sampled_from(["flip", "truncate", "length", "splice"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if operation == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif operation == "truncate":
            del data[at:]
        elif operation == "length":  # rewrite a chunk's length field (CRC left as it was)
            starts = _chunk_starts(bytes(data))
            if starts:
                start = draw(st.sampled_from(starts))
                length = struct.unpack(">I", data[start:start + 4])[0]
                new = draw(st.sampled_from([0, 1, max(length - 1, 0), min(length + 1, 2**32 - 1),
                                            2**31 - 1, 2**31, 2**32 - 1, 13, 1 << 20]))
                data[start:start + 4] = struct.pack(">I", new)
        elif operation == "splice":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
    return bytes(data)


def _chunk_starts(png: bytes) -> list[int]:
    starts, at = [], len(SIGNATURE)
    while at + 8 <= len(png):
        starts.append(at)
        at += 12 + struct.unpack(">I", png[at:at + 4])[0]
    return starts


# --- data URLs -----------------------------------------------------------------------------

BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


HEADERS = ["data:image/png;base64", "DATA:IMAGE/PNG;BASE64", "data:image/png", "data:",
           "data:image/png;charset=utf-8;base64", " data:image/png ; base64 ", "data:;base64",
           "data:image/jpeg;base64", "data:image/png;base64;base64", "image/png;base64",
           "data:image/png;name=\u00e9\u0301;base64", "data:image/png;base64\x00", ""]


@st.composite
def data_urls(draw):
    header = draw(st.sampled_from(HEADERS) | st.text(max_size=40))
    payload = draw(st.one_of(
        st.text(alphabet=BASE64, max_size=400),
        st.text(alphabet=BASE64 + " \n\t\r-_.%\u00a0\u2028", max_size=400),
        st.text(max_size=200),
        st.builds(lambda b: base64.b64encode(b).decode(), st.binary(max_size=300)),
        st.builds(lambda b: base64.b64encode(b).decode(), mutated_pngs()),
        st.builds(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="),
                  st.sampled_from(CORPUS)),
    ))
    comma = draw(st.sampled_from([",", ",", ",", "", ";", ",,"]))
    return header + comma + payload


# --- the properties ------------------------------------------------------------------------

@settings(max_examples=600, **FUZZ)
@given(st.one_of(st.text(max_size=300), data_urls(), st.none(), st.integers(),
                 st.binary(max_size=50), st.lists(st.text(max_size=5), max_size=3)))
@example("data:image/png;base64," + "A" * (8 * 2**20))
@example("data:image/png;base64,\ud800")
@example("data:image/png;base64,====")
def test_decode_data_url_raises_only_our_errors(text):
    count("decode_data_url")
    try:
        data = decode_data_url(text)
    except SketchError:
        return
    assert isinstance(data, bytes) and data
    with decoders_watched():
        outcome(data)


@settings(max_examples=300, **FUZZ)
@given(st.one_of(st.binary(max_size=2000), st.builds(lambda b: SIGNATURE + b,
                                                     st.binary(max_size=2000))))
@example(b"")
@example(SIGNATURE)
@example(SIGNATURE + png_chunk(b"IHDR", b"\0" * 13))
def test_to_bitmap_of_arbitrary_bytes_raises_only_our_errors(data):
    count("arbitrary bytes")
    with decoders_watched():
        assert outcome(data) != "bitmap" or data.startswith(SIGNATURE)


@pytest.mark.filterwarnings("ignore:Invalid APNG")
@settings(max_examples=700, **FUZZ)
@given(mutated_pngs())
def test_to_bitmap_of_mutated_pngs_raises_only_our_errors(png):
    count("mutated PNG")
    with decoders_watched():
        outcome(png)
    if png:
        url = data_url(png)
        assert decode_data_url(url) == png


MODES = ["RGBA", "LA", "L", "P", "I;16", "I;16B", "RGB", "1", "P+tRNS", "L+tRNS", "RGB+tRNS"]


@st.composite
def pictures(draw):
    """A real picture: a mode, a size from 1x1 to 300x300, and something drawn (or not)."""
    mode = draw(st.sampled_from(MODES))
    width = draw(st.integers(1, 300) | st.sampled_from([1, 2, 3, 300]))
    height = draw(st.integers(1, 300) | st.sampled_from([1, 2, 3, 300]))
    content = draw(st.sampled_from(["blank", "noise", "strokes", "dot", "frame", "fill"]))
    seed = draw(st.integers(0, 2**32 - 1))
    background = draw(st.sampled_from([0, 255, 128, 30]))
    return mode, width, height, content, seed, background


def make_picture(mode, width, height, content, seed, background) -> bytes:
    rng = np.random.default_rng(seed)
    ink = 255 - background if background in (0, 255) else int(rng.integers(0, 256))
    grey = Image.new("L", (width, height), background)
    alpha = Image.new("L", (width, height), 0)
    if content == "noise":
        noise = rng.integers(0, 256, (height, width), dtype=np.uint8)
        grey, alpha = Image.fromarray(noise), Image.fromarray(255 - noise)
    elif content in ("strokes", "dot", "frame", "fill"):
        pen = int(rng.integers(1, 12))
        for layer, value in ((grey, ink), (alpha, 255)):
            draw = ImageDraw.Draw(layer)
            if content == "strokes":
                points = [tuple(map(int, rng.integers(0, (width, height)))) for _ in range(6)]
                draw.line(points, fill=value, width=pen, joint="curve")
            elif content == "dot":
                x, y = map(int, rng.integers(0, (width, height)))
                draw.ellipse((x - pen, y - pen, x + pen, y + pen), fill=value)
            elif content == "frame":
                draw.rectangle((0, 0, width - 1, height - 1), outline=value, width=pen)
            else:
                draw.rectangle((0, 0, width, height), fill=value)
    params = {}
    if mode == "RGBA":
        image = Image.merge("RGBA", (grey, grey, grey, alpha))
    elif mode == "LA":
        image = Image.merge("LA", (grey, alpha))
    elif mode in ("L", "RGB", "1"):
        image = grey.convert(mode)
    elif mode == "P":
        image = grey.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    elif mode == "I;16":
        image = Image.fromarray(np.asarray(grey, dtype=np.uint16) * 257)
    elif mode == "I;16B":
        image = Image.fromarray((np.asarray(grey, dtype=np.uint16) * 257).astype(">u2"))
    elif mode == "P+tRNS":
        image = grey.convert("P")
        params["transparency"] = background
    elif mode == "L+tRNS":
        image, params["transparency"] = grey, background
    else:  # RGB+tRNS
        image, params["transparency"] = grey.convert("RGB"), (background,) * 3
    return png_bytes(image, **params)


@settings(max_examples=250, **FUZZ)
@given(pictures())
@example(("RGBA", 1, 1, "fill", 0, 0))
@example(("1", 300, 1, "strokes", 1, 255))
@example(("I;16", 1, 300, "frame", 2, 0))
@example(("P", 300, 300, "noise", 3, 255))
def test_to_bitmap_of_pictures_in_every_mode_and_size(picture):
    count("picture")
    png = make_picture(*picture)
    with decoders_watched() as decoded:
        result = outcome(png)
    assert result in ("bitmap", "BlankDrawing"), (picture, result)
    assert decoded, "the picture was never decoded"
