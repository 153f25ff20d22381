"""The drawing in transit: data URLs both ways, and the PNG inside an API request.

Pages post the drawing as a ``data:image/png;base64,...`` URL in a form field; API clients
send ``{"image": "<data URL>"}`` or the raw PNG. Answers carry the 28x28 picture the model saw
(and on the results page the drawing itself) back as data URLs.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math

from flask import request
from PIL import Image
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from sketch_model.imaging.errors import ImageTooLarge, NotAnImage
from sketch_model.imaging.png import MAX_PNG_BYTES, too_many_bytes

DATA_URL_PREFIX = "data:image/png;base64,"
_MAX_BASE64_CHARS = 4 * math.ceil(MAX_PNG_BYTES / 3)


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
                         f"'{DATA_URL_PREFIX}'.")
    mime, *params = (part.strip().lower() for part in header[len("data:"):].split(";"))
    if mime != "image/png":
        raise NotAnImage("The drawing must be a PNG image (data:image/png).")
    if "base64" not in params:
        raise NotAnImage("The drawing must be base64-encoded "
                         f"('{DATA_URL_PREFIX}...').")
    if len(payload) > _MAX_BASE64_CHARS + 1024:  # checked before any work on the payload
        raise ImageTooLarge(too_many_bytes())
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise NotAnImage("The drawing is not valid base64 data.") from None
    if not data:
        raise NotAnImage("No drawing was sent: the image data is empty.")
    return data


def png_url(png: bytes) -> str:
    """``png`` as a data URL (the inverse of ``decode_data_url``)."""
    return DATA_URL_PREFIX + base64.b64encode(png).decode("ascii")


def bitmap_url(bitmap) -> str:
    """A small uint8 picture (the 28x28 one the model saw, grey, or an explanation's, RGB) as
    a PNG data URL, made in memory with Pillow's fastest compression (such a picture is a few
    hundred bytes to a few kB anyway)."""
    buffer = io.BytesIO()
    Image.fromarray(bitmap).save(buffer, format="PNG", compress_level=1)
    return png_url(buffer.getvalue())


def json_object(body: bytes, example: str) -> dict:
    """A request body read as a JSON object; else BadRequest, the sentence showing
    ``example``."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise BadRequest(f"The JSON body must be an object like {example}.")
    return payload


def png_from_api_request() -> tuple[bytes, dict]:
    """The PNG bytes of an API request and the JSON body's other fields: a JSON object with
    "image" (and, say, "model"), or a raw image/png body (no other fields)."""
    mimetype = request.mimetype
    if mimetype == "image/png":
        png = request.get_data(cache=False)
        if not png:
            raise BadRequest("No drawing was sent: the request body is empty.")
        return png, {}
    if mimetype == "application/json" or mimetype.endswith("+json"):
        payload = json_object(request.get_data(cache=False),
                              '{"image": "data:image/png;base64,..."}')
        if "image" not in payload:
            raise BadRequest('The JSON body has no "image" field: send '
                             '{"image": "data:image/png;base64,..."}.')
        image = payload.pop("image")
        if not isinstance(image, str):
            raise BadRequest('The "image" field must be a data URL string '
                             '("data:image/png;base64,...").')
        return decode_data_url(image), payload
    raise UnsupportedMediaType()
