"""quickdraw.npy: the headers it reads and writes agree with numpy, the rest is refused."""

import io
import random
import struct

import numpy as np
import pytest

from quickdraw import npy
from quickdraw.errors import NotNpyFile, QuickDrawError, TruncatedData
from sketch_model.facts import PIXELS


def saved(array, version=None) -> bytes:
    buf = io.BytesIO()
    if version is None:
        np.save(buf, array, allow_pickle=False)
    else:
        np.lib.format.write_array(buf, array, version=version, allow_pickle=False)
    return buf.getvalue()


def raw_header(text: str, version=(1, 0)) -> bytes:
    """A header with exactly this dict text (newline-terminated, unpadded)."""
    body = (text + "\n").encode("latin1")
    fmt = "<H" if version == (1, 0) else "<I"
    return npy.MAGIC + bytes(version) + struct.pack(fmt, len(body)) + body


@pytest.mark.parametrize("rows", [0, 1, 9, 975, 99_999, 100_000, 7_945, 10**9])
def test_build_header_matches_numpy_byte_for_byte(rows):
    fp = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        fp, {"descr": "|u1", "fortran_order": False, "shape": (rows, PIXELS)})
    assert npy.build_header(rows) == fp.getvalue()
    assert len(npy.build_header(rows)) % 64 == 0


@pytest.mark.parametrize("rows", [0, 1, 37])
def test_build_header_is_what_np_save_writes(rows):
    data = np.random.default_rng(rows).integers(0, 256, (rows, PIXELS), dtype=np.uint8)
    assert npy.build_header(rows) + data.tobytes() == saved(data)


def test_written_header_is_read_back_by_numpy():
    data = np.random.default_rng(1).integers(0, 256, (37, PIXELS), dtype=np.uint8)
    blob = npy.build_header(37) + data.tobytes()
    assert np.array_equal(np.load(io.BytesIO(blob), allow_pickle=False), data)
    header = npy.parse_header(blob, "x")
    assert (header.rows, header.length, header.file_size) == (37, 128, len(blob))


@pytest.mark.parametrize("version", [None, (1, 0), (2, 0), (3, 0)])
def test_parse_header_of_numpy_files(version):
    data = np.zeros((12, PIXELS), dtype=np.uint8)
    blob = saved(data, version)
    header = npy.parse_header(blob, "x")
    assert header.rows == 12
    assert header.length == len(blob) - data.nbytes
    assert header.version == (version or (1, 0))
    assert npy.header_length(blob[:npy.PREFIX_LEN], "x") == header.length


@pytest.mark.parametrize("blob, error, words", [
    (b"<!DOCTYPE html><html><body>nope</body></html>", NotNpyFile, "HTML page"),
    (b"PK\x03\x04 a zip file, say", NotNpyFile, "not a .npy file"),
    (b"", NotNpyFile, "empty"),
    (b"\x93NUM", TruncatedData, "ends after 4 bytes"),
    (npy.MAGIC + bytes((9, 0)) + b"\x10\x00" + b" " * 16, NotNpyFile, "version 9.0"),
    (raw_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 784), }"),
     NotNpyFile, "'<f4'"),
    (raw_header("{'descr': '|O', 'fortran_order': False, 'shape': (3, 784), }"),
     NotNpyFile, "'|O'"),
    (raw_header("{'descr': '|u1', 'fortran_order': True, 'shape': (3, 784), }"),
     NotNpyFile, "Fortran"),
    (raw_header("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 783), }"),
     NotNpyFile, "shape (3, 783)"),
    (raw_header("{'descr': '|u1', 'fortran_order': False, 'shape': (2352,), }"),
     NotNpyFile, "shape (2352,)"),
    (raw_header("{'descr': '|u1', 'fortran_order': False, 'shape': (True, 784), }"),
     NotNpyFile, "shape"),
    (raw_header("{'descr': '|u1', 'fortran_order': False, 'shape': (-3, 784), }"),
     NotNpyFile, "shape"),
    (raw_header("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 784), 'x': 1}"),
     NotNpyFile, ("damaged", "keys")),
    (raw_header("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 784"),
     NotNpyFile, "damaged"),
    (raw_header("__import__('os').system('echo hacked')"), NotNpyFile, "damaged"),
    # not a dict, or one numpy's reader chokes on with something other than ValueError
    (raw_header("[1, 2]"), NotNpyFile, ("damaged", "not a dictionary")),
    (raw_header("{[1]: 2}"), NotNpyFile, "damaged"),
    (raw_header("'" * 3), NotNpyFile, "damaged"),
    (raw_header("-" * 5000 + "1"), NotNpyFile, "damaged"),
    (raw_header("{'descr': ('|u1',), 'fortran_order': False, 'shape': (3, 784), }"),
     NotNpyFile, "damaged"),
    (raw_header("{'descr': '|,1', 'fortran_order': False, 'shape': (3, 784), }"),
     NotNpyFile, "damaged"),
    (raw_header("{'descr': '|u1', 'fortran_order': 0, 'shape': (3, 784), }"),
     NotNpyFile, "damaged"),
    (raw_header("{'descr': '|u1', 'fortran_order': False, 'shape': [3, 784], }"),
     NotNpyFile, "damaged"),
    (npy.MAGIC + bytes((3, 0)) + struct.pack("<I", 9) + "{'\u00e9': 1}".encode(), NotNpyFile,
     "ASCII"),
    (raw_header("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 784), }"
                + " " * npy.MAX_HEADER), NotNpyFile, "header"),
    (npy.MAGIC + bytes((2, 0)) + struct.pack("<I", 10**9), NotNpyFile, "header"),
    (raw_header("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 784), }")[:40],
     TruncatedData, "inside the .npy header"),
])
def test_parse_header_refuses_with_a_one_line_message(blob, error, words):
    with pytest.raises(error) as caught:
        npy.parse_header(blob, "the reply from http://x/cat.npy")
    message = str(caught.value)
    assert isinstance(caught.value, QuickDrawError)
    for word in (words,) if isinstance(words, str) else words:
        assert word in message
    assert "the reply from http://x/cat.npy" in message
    assert "\n" not in message


# Python warns about odd escapes and literals in the text it parses; not what this is about.
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")
def test_mangled_headers_give_a_header_numpy_agrees_with_or_a_quickdraw_error(tmp_path):
    good = "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 784), }"
    alphabet = "{}[]()'\",:0123456789-+.|u<>fOVL \\_e"
    rng = random.Random(7)
    for _ in range(3000):
        text = list(good)
        for _ in range(rng.randint(1, 5)):
            at = rng.randrange(len(text))
            if rng.random() < 0.5:
                text.insert(at, rng.choice(alphabet))
            else:
                text[at] = rng.choice(alphabet)
        blob = raw_header("".join(text), rng.choice([(1, 0), (2, 0), (3, 0)]))
        try:
            header = npy.parse_header(blob, "x")
        except QuickDrawError as e:
            assert "\n" not in str(e)
        else:  # numpy reads it as the same rows (a sparse file, however many rows it claims)
            path = tmp_path / "mangled.npy"
            with open(path, "wb") as f:
                f.write(blob)
                f.truncate(header.file_size)
            rows = np.load(path, mmap_mode="r", allow_pickle=False)
            assert rows.dtype == np.uint8 and rows.shape == (header.rows, PIXELS)
            del rows


def test_inspect_file(tmp_path):
    data = np.ones((5, PIXELS), dtype=np.uint8)
    good = tmp_path / "good.npy"
    np.save(good, data)
    assert npy.inspect_file(good).rows == 5

    short = tmp_path / "short.npy"
    short.write_bytes(good.read_bytes()[:-1])
    with pytest.raises(TruncatedData, match="promises 5 drawings"):
        npy.inspect_file(short)

    long = tmp_path / "long.npy"
    long.write_bytes(good.read_bytes() + b"\0" * PIXELS)
    with pytest.raises(NotNpyFile, match="more than"):
        npy.inspect_file(long)
