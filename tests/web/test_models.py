"""Several models in one app (issue 28): each page and the API answer with the model a request
chose (``?model=``, a form's or the JSON body's "model"), the choice is kept across pages, an
unknown name is a 400 naming the models there are, and a taught drawing records its model.

The two models are stand-ins: ``sure_cat`` (the six animals, always "cat") is the default and
``zoo_lion`` (the zoo's seventeen animals, always "lion") the other, so every answer shows which
model gave it.
"""

import json

import pytest

from testkit.drawings import ANIMALS, data_url
from testkit.pages import Page, assert_error, assert_error_page, check_answer, page_of
from testkit.taught import rows

ZOO = "zoo-lion"
DOG = ANIMALS["dog"]()
DRAWING = [[[x for x, _ in stroke], [y for _, y in stroke]] for stroke in DOG]


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    monkeypatch.setenv("SKETCHBOOK_SECRET", "test-secret")
    return f"sqlite:///{tmp_path / 'taught.sqlite3'}"


@pytest.fixture
def two(sure_cat, zoo_lion, db_url):
    from web import create_app

    app = create_app({"CLASSIFIERS": [sure_cat, zoo_lion], "TESTING": True,
                      "FEEDBACK_DB": db_url})
    return app.test_client()


def chips(page: Page) -> list[str]:
    return [chip["attrs"]["data-label"] for chip in page.find("li", inside="known-animals")]


def switch_links(page: Page) -> dict[str, dict]:
    return {link["attrs"]["data-model"]: link["attrs"]
            for link in page.find("a", inside="model-switch")}


# --- the API ----------------------------------------------------------------------------------

def test_healthz_lists_every_model_and_still_says_the_default(two, sure_cat, zoo_lion):
    assert two.get("/healthz").get_json() == {
        "status": "ok", "model": sure_cat.name, "classes": sure_cat.labels,
        "models": {sure_cat.name: sure_cat.labels, ZOO: zoo_lion.labels}}
    assert len(zoo_lion.labels) == 17 and "other" not in zoo_lion.labels


def test_the_api_answers_with_the_model_asked_for(two, cat_png, sure_cat, zoo_lion):
    image = data_url(cat_png)
    default = two.post("/api/predict", json={"image": image}).get_json()
    check_answer(default, sure_cat.labels, sure_cat.name)
    assert default["label"] == "cat"

    zoo = two.post("/api/predict", json={"image": image, "model": ZOO}).get_json()
    check_answer(zoo, zoo_lion.labels, ZOO)
    assert zoo["label"] == "lion"

    raw = two.post(f"/api/predict?model={ZOO}", data=cat_png, content_type="image/png")
    check_answer(raw.get_json(), zoo_lion.labels, ZOO)
    named = two.post(f"/api/predict?model={sure_cat.name}", json={"image": image})
    assert named.get_json()["label"] == "cat"


@pytest.mark.parametrize("model", ["zoo", "ZOO-LION", " zoo-lion", "other", 17, ["zoo-lion"],
                                   None, "x" * 500])
def test_an_unknown_model_is_a_400_naming_the_models_there_are(two, cat_png, sure_cat, model):
    reply = two.post("/api/predict", json={"image": data_url(cat_png), "model": model})
    if model is None:  # JSON null: no choice, the default answers
        assert reply.status_code == 200 and reply.get_json()["model"] == sure_cat.name
        return
    message = assert_error(reply, 400, "no model", sure_cat.name, ZOO)
    assert len(message) < 200, "the sentence does not echo a long name"


def test_an_unknown_model_in_the_query_is_a_400_too(two, cat_png, sure_cat):
    assert_error(two.post("/api/predict?model=giraffes", data=cat_png,
                          content_type="image/png"), 400, "giraffes", sure_cat.name, ZOO)


def test_the_query_and_the_body_may_not_ask_for_different_models(two, cat_png, sure_cat):
    body = {"image": data_url(cat_png), "model": ZOO}
    assert_error(two.post(f"/api/predict?model={sure_cat.name}", json=body), 400, "once")
    same = two.post(f"/api/predict?model={ZOO}", json=body)
    assert same.status_code == 200 and same.get_json()["model"] == ZOO


# --- the pages ----------------------------------------------------------------------------------

def test_the_drawing_page_follows_the_chosen_model(two, sure_cat, zoo_lion):
    default = page_of(two.get("/"))
    assert chips(default) == sure_cat.labels
    assert default.by_id("model")["attrs"]["value"] == sure_cat.name
    assert default.by_id("sketch-form")["attrs"]["data-api"] == "/api/predict"
    assert default.by_id("play-link")["attrs"]["href"] == "/play"

    zoo = page_of(two.get(f"/?model={ZOO}"))
    assert chips(zoo) == zoo_lion.labels
    assert zoo.by_id("model")["attrs"]["value"] == ZOO
    assert zoo.by_id("sketch-form")["attrs"]["data-api"] == f"/api/predict?model={ZOO}"
    assert zoo.by_id("play-link")["attrs"]["href"] == f"/play?model={ZOO}"


def test_the_switch_names_each_model_and_marks_the_chosen_one(two, sure_cat):
    for asked, chosen in [("", sure_cat.name), (f"?model={ZOO}", ZOO)]:
        page = page_of(two.get(f"/{asked}"))
        switch = page.by_id("model-switch")
        assert switch["tag"] == "nav" and switch["attrs"]["data-model"] == chosen
        links = switch_links(page)
        assert list(links) == [sure_cat.name, ZOO]
        assert links[sure_cat.name]["href"] == "/" and links[ZOO]["href"] == f"/?model={ZOO}"
        assert [name for name, attrs in links.items() if attrs.get("aria-current") == "page"] \
            == [chosen]
        texts = [Page.text(a) for a in page.find("a", inside="model-switch")]
        assert texts == [sure_cat.name, "Zoo (17)"]  # its title, else its name


def test_one_model_shows_no_switch(client_for, sure_cat):
    page = page_of(client_for(sure_cat).get("/"))
    assert page.by_id("model-switch") is None and chips(page) == sure_cat.labels


@pytest.mark.parametrize("path", ["/?model=nope", "/play?model=nope"])
def test_a_page_asked_for_an_unknown_model_says_which_there_are(two, sure_cat, path):
    assert_error_page(two.get(path), 400, "nope", sure_cat.name, ZOO)


def test_the_results_page_answers_with_the_form_s_model_and_keeps_it(two, cat_png, zoo_lion):
    strokes = json.dumps(DRAWING)
    page = page_of(two.post("/predict", data={"url": data_url(cat_png), "model": ZOO,
                                              "strokes": strokes}))
    assert page.by_id("prediction")["attrs"]["data-label"] == "lion"
    assert sorted(li["attrs"]["data-label"] for li in page.find("li", inside="ranking")) == \
        sorted(zoo_lion.labels)
    assert page.by_id("again")["attrs"]["href"] == f"/?model={ZOO}"
    assert page.by_id("edit")["attrs"]["href"] == f"/?model={ZOO}#keep"
    teach = {field["attrs"]["name"]: field["attrs"]["value"]
             for field in page.find("input", inside="teach-form")
             if field["attrs"].get("type") == "hidden"}
    assert teach["model"] == ZOO
    options = [o["attrs"]["value"] for o in page.find("option", inside="teach-label")]
    assert set(options) - {""} == set(zoo_lion.labels) - {"lion"}


def test_the_results_page_asks_the_same_drawing_of_the_other_model(two, cat_png, sure_cat):
    page = page_of(two.post("/predict", data={"url": data_url(cat_png), "model": ZOO}))
    switch = page.by_id("model-switch")
    assert switch["tag"] == "form" and switch["attrs"]["action"] == "/predict"
    fields = {f["attrs"]["name"]: f["attrs"]["value"] for f in page.find("input",
                                                                          inside="model-switch")}
    buttons = {b["attrs"]["value"]: b["attrs"]["aria-pressed"]
               for b in page.find("button", inside="model-switch")}
    assert buttons == {sure_cat.name: "false", ZOO: "true"}
    again = page_of(two.post("/predict", data={**fields, "model": sure_cat.name}))
    assert again.by_id("prediction")["attrs"]["data-label"] == "cat"
    assert again.by_id("model-switch")["attrs"]["data-model"] == sure_cat.name


def test_the_results_page_refuses_an_unknown_model(two, cat_png, sure_cat):
    assert_error_page(two.post("/predict", data={"url": data_url(cat_png), "model": "nope"}),
                      400, sure_cat.name, ZOO)


def test_the_game_plays_the_chosen_model(two, sure_cat, zoo_lion):
    default = page_of(two.get("/play")).by_id("play")["attrs"]
    assert json.loads(default["data-labels"]) == sure_cat.labels
    assert default["data-api"] == "/api/predict"

    zoo = page_of(two.get(f"/play?model={ZOO}"))
    play = zoo.by_id("play")["attrs"]
    assert json.loads(play["data-labels"]) == zoo_lion.labels
    assert int(play["data-prompts"]) == 6 and float(play["data-accept"]) == 0.7
    assert play["data-api"] == f"/api/predict?model={ZOO}"
    assert play["data-teach"] == f"/api/feedback?model={ZOO}"
    assert play["data-model"] == ZOO
    assert switch_links(zoo)[sure_cat.name]["href"] == "/play"


# --- teaching -----------------------------------------------------------------------------------

def test_a_taught_drawing_records_the_model_that_guessed(two, db_url, zoo_lion, sure_cat):
    body = {"drawing": DRAWING, "label": "lion", "guess": "lion", "consent": True}
    assert two.post("/api/feedback", json={**body, "model": ZOO}).status_code == 201
    assert two.post(f"/api/feedback?model={ZOO}", json=body).status_code == 201
    # "lion" is no answer of the default model, which judges a drawing sent without a name
    assert_error(two.post("/api/feedback", json=body), 400, "guess")
    assert_error(two.post("/api/feedback", json={**body, "model": "nope"}), 400, ZOO)
    kept = rows(db_url)
    assert [(row.model, row.model_sha256) for row in kept] == \
        [(ZOO, zoo_lion.card.digest())] * 2
    assert zoo_lion.card.digest() != sure_cat.card.digest()


def test_the_teach_form_keeps_the_model_and_the_taught_page_links_back_to_it(two, db_url,
                                                                           cat_png):
    page = two.post("/predict", data={"url": data_url(cat_png), "model": ZOO,
                                      "strokes": json.dumps(DRAWING)}).get_data(as_text=True)
    fields = {f["attrs"]["name"]: f["attrs"]["value"]
              for f in Page(page).find("input", inside="teach-form")
              if f["attrs"].get("type") == "hidden"}
    reply = two.post("/teach", data={**fields, "answer": "yes", "consent": "yes"})
    assert reply.status_code == 201
    taught = page_of(reply)
    assert taught.by_id("taught")["attrs"]["data-label"] == "lion"
    assert taught.by_id("again")["attrs"]["href"] == f"/?model={ZOO}"
    (row,) = rows(db_url)
    assert (row.label, row.guess, row.model) == ("lion", "lion", ZOO)


def test_the_forms_post_to_an_address_naming_the_model(two, sure_cat):
    assert page_of(two.get(f"/?model={ZOO}")).by_id("sketch-form")["attrs"]["action"] == \
        f"/predict?model={ZOO}"
    assert page_of(two.get("/")).by_id("sketch-form")["attrs"]["action"] == "/predict"


def test_an_error_page_leads_back_to_the_chosen_model(two, sure_cat):
    """A failed zoo drawing goes back to the zoo's page, never quietly to the default's."""
    page = assert_error_page_kept(two.post(f"/predict?model={ZOO}", data={}), 400)
    assert page.by_id("again")["attrs"]["href"] == f"/?model={ZOO}#keep"
    page = assert_error_page_kept(two.post("/predict?model=nope", data={}), 400)
    assert page.by_id("again")["attrs"]["href"] == "/#keep"


def assert_error_page_kept(response, status: int) -> Page:
    assert response.status_code == status
    page = page_of(response)
    assert page.by_id("error") is not None
    return page


def test_teaching_names_its_model_once(two, db_url):
    body = {"drawing": DRAWING, "label": "lion", "guess": "lion", "consent": True}
    assert_error(two.post(f"/api/feedback?model={ZOO}", json={**body, "model": ""}), 400,
                 "once")
    assert rows(db_url) == []


def test_an_explanation_is_asked_for_in_a_json_body(two, cat_png):
    assert_error(two.post("/api/predict?explain=true", data=cat_png, content_type="image/png"),
                 400, "JSON body")
