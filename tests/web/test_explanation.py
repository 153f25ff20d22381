"""Why a dog? (issue 29) in the app: ``"explain": true`` in the API, and the results page's
"Where I looked" and "How others drew it", with the shipped models and their galleries, and
with a model that has none."""

import numpy as np
import pytest

from sketch_model.inference.classifier import load_classifier
from sketch_model.inference.explain import SHOWN
from sketch_model.inference.gallery import Gallery
from sketch_model.modelcard import SHIPPED, SHIPPED_MODELS
from testkit.drawings import data_url
from testkit.pages import Page, assert_error, decode_png_url, page_of
from web.explanation import drawing_url


@pytest.fixture(scope="module", params=SHIPPED_MODELS)
def shipped_client(request):
    from web import create_app

    classifier = load_classifier(SHIPPED / f"{request.param}.keras")
    app = create_app({"CLASSIFIER": classifier, "TESTING": True})
    return app.test_client(), classifier, Gallery.load(classifier.card)


def gallery_urls(gallery: Gallery, label: str) -> set[str]:
    return {drawing_url(gallery.bitmaps[row]) for row in gallery.rows_of[label]}


def test_explain_adds_the_heat_map_and_the_weighed_classes_drawings(shipped_client, cat_png):
    client, classifier, gallery = shipped_client
    plain = client.post("/api/predict", json={"image": data_url(cat_png)}).get_json()
    assert "explanation" not in plain
    answer = client.post("/api/predict", json={"image": data_url(cat_png), "explain": True})
    body = answer.get_json()
    assert {key: body[key] for key in plain if key != "model_input"} == \
        {key: plain[key] for key in plain if key != "model_input"}
    explanation = body["explanation"]
    assert set(explanation) == {"label", "others", "heatmap"}
    assert explanation["label"] == body["ranking"][0]["label"]
    heat = np.array(explanation["heatmap"])
    assert heat.shape == (28, 28) and heat.min() >= 0 and heat.max() <= 1
    weighed = [guess["label"] for guess in body["ranking"][:2]]
    labels = [other["label"] for other in explanation["others"]]
    assert labels == [weighed[0]] * SHOWN + [weighed[1]] * SHOWN
    for other in explanation["others"]:
        assert other["image"] in gallery_urls(gallery, other["label"])
        assert decode_png_url(other["image"]).size == (28, 28)


@pytest.mark.parametrize("value", ["yes", 1, None, [True]])
def test_explain_must_be_true_or_false(client, cat_png, value):
    assert_error(client.post("/api/predict", json={"image": data_url(cat_png), "explain": value}),
                 400, "explain")


def test_a_model_without_a_gallery_explains_with_the_heat_map_only(client, cat_png):
    body = client.post("/api/predict", json={"image": data_url(cat_png), "explain": True})
    explanation = body.get_json()["explanation"]
    assert explanation["others"] == [] and len(explanation["heatmap"]) == 28
    page = page_of(client.post("/predict", data={"url": data_url(cat_png)}))
    assert page.by_id("others-drew") is None
    assert page.find("img", inside="where-i-looked")


def test_the_results_page_shows_where_it_looked_and_how_others_drew_it(shipped_client,
                                                                      cat_png):
    client, classifier, gallery = shipped_client
    page = page_of(client.post("/predict", data={"url": data_url(cat_png)}))
    best = page.find("li", inside="ranking")[0]["attrs"]["data-label"]
    where = page.by_id("where-i-looked")
    assert where["attrs"]["data-label"] == best
    (image,) = page.find("img", inside="where-i-looked")
    assert decode_png_url(image["attrs"]["src"]).size == (224, 224)
    assert best in image["attrs"]["alt"]

    others = page.by_id("others-drew")
    assert others["attrs"]["data-label"] == best
    rows = page.find("div", inside="others-drew")
    shown = [row["attrs"]["data-label"] for row in rows if "hidden" not in row["attrs"]]
    assert shown[0] == best and len(shown) == 2
    assert sorted(row["attrs"]["data-label"] for row in rows) == sorted(classifier.labels)
    for row in rows:
        label = row["attrs"]["data-label"]
        images = page.find("img", inside=row["attrs"]["id"])
        assert len(images) == SHOWN
        assert {img["attrs"]["src"] for img in images} <= gallery_urls(gallery, label)
        assert all(img["attrs"]["alt"].endswith(f" {label} drawn by a Quick, Draw! player")
                   for img in images)


def test_the_section_asks_why_the_answer_or_why_unsure(client_for, sure_cat, unsure_octopus,
                                                       cat_png):
    for model, heading in ((sure_cat, "Why a cat?"), (unsure_octopus, "Why I'm not sure")):
        page = page_of(client_for(model).post("/predict", data={"url": data_url(cat_png)}))
        assert Page.text(page.by_id("why-heading")) == heading
