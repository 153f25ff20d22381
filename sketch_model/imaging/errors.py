"""Errors a user can cause by what they send, each carrying a sentence written for a person.

The web layer turns these into HTTP answers (``web.errors``); nothing here knows about HTTP.
Every message is safe to show as-is: it never echoes the user's input back.
"""


class SketchError(ValueError):
    """Base class: a drawing we cannot classify, because of what was sent."""


class NotAnImage(SketchError):
    """The upload is not a readable PNG (bad data URL, bad base64, other format, damaged file)."""


class ImageTooLarge(SketchError):
    """The upload is bigger than we accept, in bytes or in pixels; checked before decoding."""


class BlankDrawing(SketchError):
    """The canvas is empty, or holds too little ink to be a drawing."""

    def __init__(self, message: str = "Draw something first: the canvas is empty.") -> None:
        super().__init__(message)
