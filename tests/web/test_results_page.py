"""The results page: the answer, how sure, the ranking and the picture the model saw; and the
error pages that explain and lead back to the drawing."""

import numpy as np
import pytest
from PIL import Image

from sketch_model.facts import SIDE
from testkit.drawings import data_url, png_bytes
from testkit.pages import Page, assert_error_page, check_answer, decode_png_url, page_of, title_of
from web.wording import percent


def test_predict_shows_the_answer(client, animals, cat_png):
    response = client.post("/predict", data={"url": data_url(cat_png)})
    assert response.status_code == 200
    page = page_of(response)

    prediction = page.by_id("prediction")
    label = prediction["attrs"]["data-label"]
    assert label in animals.labels + ["unsure"]
    confidence = float(prediction["attrs"]["data-confidence"])
    assert 0.0 <= confidence <= 1.0

    items = page.find("li", inside="ranking")
    assert len(items) == len(animals.labels)
    assert sorted(i["attrs"]["data-label"] for i in items) == sorted(animals.labels)
    probabilities = [float(i["attrs"]["data-probability"]) for i in items]
    assert probabilities == sorted(probabilities, reverse=True)
    assert confidence == pytest.approx(probabilities[0])
    if label != "unsure":
        assert label == items[0]["attrs"]["data-label"]
    assert len(page.find("meter", inside="ranking")) == len(animals.labels)

    picture = page.by_id("model-input")
    assert picture["tag"] == "img"
    image = decode_png_url(picture["attrs"]["src"])
    assert image.size == (SIDE, SIDE)
    assert image.mode == "L"
    assert np.asarray(image).max() > 100  # the drawing's ink is in it

    again = page.by_id("again")
    assert again["tag"] == "a" and again["attrs"]["href"] == "/"
    assert response.headers["Cache-Control"] == "no-store"


def test_predict_agrees_with_the_api(client, cat_png):
    page = page_of(client.post("/predict", data={"url": data_url(cat_png)}))
    answer = client.post("/api/predict", json={"image": data_url(cat_png)}).get_json()
    assert page.by_id("prediction")["attrs"]["data-label"] == answer["label"]
    assert [i["attrs"]["data-label"] for i in page.find("li", inside="ranking")] == \
        [g["label"] for g in answer["ranking"]]
    assert page.by_id("model-input")["attrs"]["src"] == answer["model_input"]


def test_predict_says_what_it_is_when_sure(client_for, sure_cat, cat_png):
    response = client_for(sure_cat).post("/predict", data={"url": data_url(cat_png)})
    page = page_of(response)
    prediction = page.by_id("prediction")
    assert prediction["attrs"]["data-label"] == "cat"
    confidence = float(prediction["attrs"]["data-confidence"])
    assert confidence > 0.9
    assert title_of(page) == "It's a cat! — Sketchbook"
    words = Page.text(prediction)
    assert "It's a cat!" in words
    assert f"{confidence:.0%}" in words
    assert page.find("li", inside="ranking")[0]["attrs"]["data-label"] == "cat"


def test_predict_admits_when_unsure(client_for, unsure_octopus, cat_png):
    response = client_for(unsure_octopus).post("/predict", data={"url": data_url(cat_png)})
    page = page_of(response)
    prediction = page.by_id("prediction")
    assert prediction["attrs"]["data-label"] == "unsure"
    assert float(prediction["attrs"]["data-confidence"]) < 0.5
    assert "I'm not sure… maybe an octopus?" in Page.text(prediction)
    assert title_of(page).startswith("I'm not sure")
    assert page.find("li", inside="ranking")[0]["attrs"]["data-label"] == "octopus"


def test_predict_says_when_it_is_none_of_the_animals(client_for, mostly_other, cat_png):
    client = client_for(mostly_other)
    page = page_of(client.post("/predict", data={"url": data_url(cat_png)}))
    prediction = page.by_id("prediction")
    assert prediction["attrs"]["data-label"] == "unsure"
    assert prediction["attrs"]["data-reason"] == "unfamiliar"
    words = Page.text(prediction)
    answer = client.post("/api/predict", json={"image": data_url(cat_png)}).get_json()
    assert answer["reason"] == "unfamiliar" and answer["other"] > 0.5
    assert "That's none of the animals I know." in words
    assert f"I'm {percent(answer['other'])} sure it's something else" in words
    assert f"looks most like a {answer['ranking'][0]['label']}" in words


def test_predict_says_when_it_is_torn(client_for, unsure_octopus, cat_png):
    client = client_for(unsure_octopus)
    answer = client.post("/api/predict", json={"image": data_url(cat_png)}).get_json()
    assert answer["reason"] == "low_confidence" and answer["other"] is None
    page = page_of(client.post("/predict", data={"url": data_url(cat_png)}))
    assert page.by_id("prediction")["attrs"]["data-reason"] == "low_confidence"


def test_the_page_never_says_100_percent(client_for, certain_cat, cat_png):
    client = client_for(certain_cat)
    answer = client.post("/api/predict", json={"image": data_url(cat_png)}).get_json()
    assert answer["confidence"] > 0.995  # would round to 100%
    page = client.post("/predict", data={"url": data_url(cat_png)}).get_data(as_text=True)
    assert "99%" in page and "100%" not in page
    assert [percent(p) for p in (1.0, 0.999, 0.994, 0.5, 0.125, 0.004, 0.0)] == \
        ["99%", "99%", "99%", "50%", "13%", "<1%", "0%"]  # 0.125: half up, as draw.js


def test_predict_accepts_multipart_and_large_drawings(client):
    """A big (noisy) PNG is within limits, sent either way a form can be sent: the form
    field is far larger than Flask's default 500 kB limit for a form field in memory."""
    rng = np.random.default_rng(0)
    alpha = np.zeros((1000, 1000), dtype=np.uint8)
    alpha[50:950, 50:950] = rng.integers(0, 256, (900, 900), dtype=np.uint8)
    picture = Image.new("RGBA", (1000, 1000))
    picture.putalpha(Image.fromarray(alpha))
    url = data_url(png_bytes(picture))
    assert 1_000_000 < len(url) < 4 * 2**20
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        response = client.post("/predict", data={"url": url},
                               content_type=content_type)
        assert response.status_code == 200, (content_type, response.status_code)
        assert page_of(response).by_id("prediction") is not None


# --- HTML errors ----------------------------------------------------------------------------

def test_predict_blank_canvas_says_draw_something_first(client, blank_png):
    response = client.post("/predict", data={"url": data_url(blank_png)})
    page = assert_error_page(response, 400, "Draw something first")
    assert "Draw something first" in response.get_data(as_text=True)
    assert page.by_id("again")["attrs"]["href"] == "/"  # nothing to go back to


@pytest.mark.parametrize("form, status, fragment", [
    ({}, 400, "No drawing"),
    ({"url": ""}, 400, "empty"),
    ({"url": "data:image/png;base64,***"}, 400, "base64"),
    ({"url": "data:image/jpeg;base64,/9j/4AAQ"}, 400, "PNG"),
    ({"url": "data:image/png;base64,AAAAAAAA"}, 400, "PNG"),
], ids=["no-field", "empty", "not-base64", "jpeg", "not-png"])
def test_predict_errors_explain_and_lead_back(client, form, status, fragment):
    response = client.post("/predict", data=form)
    page = assert_error_page(response, status, fragment)
    assert f"{status}" in Page.text(page.by_id("error"))


def test_predict_error_after_a_drawing_offers_to_go_back_to_it(client):
    page = assert_error_page(client.post("/predict", data={"url": "data:image/png;base64,***"}),
                             400, "base64")
    assert page.by_id("again")["attrs"]["href"] == "/#keep"  # draw.js restores the drawing


def test_predict_body_over_the_limit_is_413_page(client):
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    response = client.post("/predict", data={"url": "data:image/png;base64," + "A" * limit})
    assert_error_page(response, 413, "too large")


def test_html_routes_have_html_error_pages(client):
    assert_error_page(client.get("/predict"), 405, "GET")
    assert_error_page(client.post("/"), 405, "POST")
    assert_error_page(client.get("/no/such/page"), 404)


# --- the shipped model ----------------------------------------------------------------------

def test_shipped_model_recognises_a_drawn_cat(client_for, shipped, cat_png):
    client = client_for(shipped)
    response = client.post("/api/predict", json={"image": data_url(cat_png)})
    assert response.status_code == 200
    answer = response.get_json()
    check_answer(answer, shipped.labels)
    assert answer["label"] == "cat", answer["ranking"][:3]
    page = page_of(client.post("/predict", data={"url": data_url(cat_png)}))
    assert page.by_id("prediction")["attrs"]["data-label"] == "cat"
    assert title_of(page) == "It's a cat! — Sketchbook"
