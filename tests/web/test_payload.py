"""The drawing in transit: data URLs read back exactly, and refused with a sentence saying why
(``web.payload``)."""

import pytest

from sketch_model.imaging.errors import ImageTooLarge, NotAnImage
from sketch_model.imaging.png import MAX_PNG_BYTES
from testkit.drawings import data_url
from web.payload import decode_data_url


def test_data_url_round_trip(cat_png):
    assert decode_data_url(data_url(cat_png)) == cat_png
    assert decode_data_url("  " + data_url(cat_png)[:40] + "\n" + data_url(cat_png)[40:]) \
        == cat_png


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("   ", "empty"),
    ("hello", "data URL"),
    ("data:image/jpeg;base64,/9j/4AAQ", "PNG"),
    ("data:text/html,<b>hi</b>", "PNG"),
    ("data:image/png,plainbytes", "base64"),
    ("data:image/png;base64,@@@not base64@@@", "base64"),
    ("data:image/png;base64,", "empty"),
])
def test_bad_data_urls_are_explained(text, words):
    with pytest.raises(NotAnImage, match=words):
        decode_data_url(text)


def test_data_url_that_is_not_text():
    with pytest.raises(NotAnImage):
        decode_data_url(b"data:image/png;base64,AAAA")


def test_oversized_data_url_is_refused_before_decoding():
    with pytest.raises(ImageTooLarge):
        decode_data_url("data:image/png;base64," + "A" * (MAX_PNG_BYTES * 2))
