"""The JSON API: its answer, sure or unsure, for a drawing sent as a data URL or a raw PNG, and
every error a client can cause, as ``{"error": "<sentence>"}`` with its status."""

import pytest
from PIL import Image

from testkit.drawings import data_url, png_bytes
from testkit.pages import assert_error, check_answer
from testkit.pngs import SIGNATURE


def test_api_answers_json(client, animals, cat_png):
    response = client.post("/api/predict", json={"image": data_url(cat_png)})
    assert response.status_code == 200
    assert response.is_json
    check_answer(response.get_json(), animals.labels)
    assert response.headers["Cache-Control"] == "no-store"


def test_api_accepts_a_raw_png_body(client, animals, cat_png):
    raw = client.post("/api/predict", data=cat_png, content_type="image/png")
    assert raw.status_code == 200
    check_answer(raw.get_json(), animals.labels)
    as_json = client.post("/api/predict", json={"image": data_url(cat_png)}).get_json()
    assert raw.get_json() == as_json


def test_api_knows_sure_and_unsure(client_for, sure_cat, unsure_octopus, cat_png):
    sure = client_for(sure_cat).post(
        "/api/predict", json={"image": data_url(cat_png)}).get_json()
    assert (sure["label"], sure["unsure"]) == ("cat", False)
    assert sure["confidence"] > 0.9
    unsure = client_for(unsure_octopus).post(
        "/api/predict", json={"image": data_url(cat_png)}).get_json()
    assert (unsure["label"], unsure["unsure"]) == ("unsure", True)
    assert unsure["ranking"][0]["label"] == "octopus"


@pytest.mark.parametrize("request_kwargs, status, fragments", [
    ({"json": {}}, 400, ['"image"']),
    ({"json": {"picture": "data:image/png;base64,AAAA"}}, 400, ['"image"']),
    ({"json": {"image": ""}}, 400, ["empty"]),
    ({"json": {"image": "   "}}, 400, ["empty"]),
    ({"json": {"image": "data:image/png;base64,***not base64***"}}, 400, ["base64"]),
    ({"json": {"image": "data:image/png;base64,AAAAAAAA"}}, 400, ["PNG"]),
    ({"json": {"image": "hello"}}, 400, ["data URL"]),
    ({"json": {"image": 42}}, 400, ['"image"', "string"]),
    ({"json": {"image": None}}, 400, ['"image"']),
    ({"json": [{"image": "data:image/png;base64,AAAA"}]}, 400, ["object"]),
    ({"json": "data:image/png;base64,AAAA"}, 400, ["object"]),
    ({"data": b'{"image": "data:image/png', "content_type": "application/json"}, 400,
     ["JSON"]),
    ({"data": b"", "content_type": "application/json"}, 400, ["JSON"]),
    ({"data": b"\xff\xfe\x00garbage", "content_type": "application/json"}, 400, ["JSON"]),
    ({"data": b"[" * 100_000, "content_type": "application/json"}, 400, ["JSON"]),
    ({"data": b"not a png at all", "content_type": "image/png"}, 400, ["PNG"]),
    ({"data": b"", "content_type": "image/png"}, 400, ["no drawing"]),
    ({"data": b"image=data:image/png;base64,AAAA", "content_type": "text/plain"}, 415,
     ["JSON", "image/png"]),
    ({"data": {"image": "data:image/png;base64,AAAA"}}, 415, ["JSON"]),
    ({"data": b'{"image": "x"}'}, 415, ["JSON"]),
    ({"data": b"\xff\xd8\xff", "content_type": "image/jpeg"}, 415, ["image/png"]),
], ids=["empty-object", "missing-field", "empty-string", "blank-string", "not-base64",
        "not-png-bytes", "not-a-data-url", "number", "null", "array", "json-string",
        "malformed-json", "empty-json", "undecodable-json", "deeply-nested-json",
        "raw-not-png", "raw-empty", "text-plain", "form", "no-content-type", "raw-jpeg"])
def test_api_errors(client, request_kwargs, status, fragments):
    assert_error(client.post("/api/predict", **request_kwargs), status, *fragments)


def test_api_rejects_a_jpeg(client, jpeg_bytes):
    jpeg_url = data_url(jpeg_bytes, "image/jpeg")
    assert_error(client.post("/api/predict", json={"image": jpeg_url}), 400, "PNG")
    # JPEG bytes labelled as PNG are caught by their content, not their label
    assert_error(client.post("/api/predict", json={"image": data_url(jpeg_bytes)}), 400, "PNG")
    assert_error(client.post("/api/predict", data=jpeg_bytes, content_type="image/png"),
                 400, "PNG")


def test_api_says_draw_something_first_for_a_blank_canvas(client, blank_png):
    message = assert_error(client.post("/api/predict", json={"image": data_url(blank_png)}),
                           400)
    assert message.startswith("Draw something first")
    message = assert_error(client.post("/api/predict", data=blank_png,
                                       content_type="image/png"), 400)
    assert message.startswith("Draw something first")


def test_api_rejects_bodies_over_the_limit(client):
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    assert 5.6 * 2**20 < limit <= 8 * 2**20  # room for base64 of a 4 MiB PNG, no more
    body = b'{"image": "data:image/png;base64,' + b"A" * limit + b'"}'
    assert_error(client.post("/api/predict", data=body, content_type="application/json"),
                 413, "too large")
    assert_error(client.post("/api/predict", data=b"\x89PNG" + bytes(limit),
                             content_type="image/png"), 413, "too large")


def test_api_rejects_images_over_the_limit(client):
    """Within the body limit, but a PNG too large (in pixels or bytes) for the model."""
    wide = png_bytes(Image.new("LA", (5000, 8)))
    assert_error(client.post("/api/predict", json={"image": data_url(wide)}), 413, "too large")
    big = SIGNATURE + bytes(4 * 2**20 + 10)
    assert_error(client.post("/api/predict", data=big, content_type="image/png"),
                 413, "too large")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_api_wrong_method_is_405_json(client, method):
    response = client.open("/api/predict", method=method)
    assert_error(response, 405, method)
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/api/nothing", "/api/predict/extra", "/api/"])
def test_api_unknown_path_is_404_json(client, path):
    assert_error(client.get(path), 404)
    assert_error(client.post(path, json={"image": "x"}), 404)


def test_healthz(client, animals):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "model": animals.name,
                                   "classes": animals.labels,
                                   "models": {animals.name: animals.labels}}
    assert_error(client.post("/healthz"), 405)
