"""Teaching through the app: the results page's "Did I get it right?" form and
``POST /api/feedback``, written to a real SQLite file only with consent."""

import json
import re

import pytest

import feedback
from testkit.drawings import ANIMALS, data_url
from testkit.pages import Page
from testkit.taught import rows

DOG = ANIMALS["dog"]()  # a hand-made dog: [(x, y), ...] per stroke, in canvas pixels
DRAWING = [[[x for x, _ in stroke], [y for _, y in stroke]] for stroke in DOG]


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    """A fresh SQLite file; the address-hash key given, so nothing is kept in the repository's
    instance folder."""
    monkeypatch.setenv("SKETCHBOOK_SECRET", "test-secret")
    return f"sqlite:///{tmp_path / 'taught.sqlite3'}"


@pytest.fixture
def teach_client(client_for, animals, db_url):
    return client_for(animals, FEEDBACK_DB=db_url)


def taught(client, **fields):
    body = {"drawing": DRAWING, "label": "giraffe", "guess": "camel", "consent": True, **fields}
    return client.post("/api/feedback", json=body)


def test_a_correction_with_consent_is_kept_with_its_strokes_label_and_model(teach_client,
                                                                             db_url, animals):
    reply = taught(teach_client, confidence=0.61)
    assert reply.status_code == 201
    answer = reply.get_json()
    assert answer["label"] == "giraffe" and answer["id"]
    (row,) = rows(db_url)
    assert (row.id, row.label, row.guess, row.recognized) == (answer["id"], "giraffe",
                                                             "camel", False)
    assert row.confidence == pytest.approx(0.61)
    assert row.model == animals.name and row.model_sha256 == animals.card.digest()
    assert row.drawing == feedback.simplify(feedback.parse_drawing(DRAWING))


@pytest.mark.parametrize("consent", [False, "true", "yes", 1, None])
def test_without_explicit_consent_nothing_is_written(teach_client, db_url, consent):
    fields = {"consent": consent} if consent is not None else {}
    body = {"drawing": DRAWING, "label": "dog", "guess": "cat", **fields}
    reply = teach_client.post("/api/feedback", json=body)
    assert reply.status_code == 403 and "Nothing was saved" in reply.get_json()["error"]
    assert rows(db_url) == []


@pytest.mark.parametrize("headers, status", [
    ({"Origin": "https://evil.example"}, 403),
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, 403),
])
def test_a_cross_site_request_cannot_write_a_row(teach_client, db_url, headers, status):
    reply = teach_client.post("/api/feedback", headers=headers, json={
        "drawing": DRAWING, "label": "dog", "guess": "cat", "consent": True})
    assert reply.status_code == status and "this site's own pages" in reply.get_json()["error"]
    assert rows(db_url) == []


def test_the_json_route_takes_only_json(teach_client, db_url):
    body = json.dumps({"drawing": DRAWING, "label": "dog", "guess": "cat", "consent": True})
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        reply = teach_client.post("/api/feedback", data=body, content_type=content_type)
        assert reply.status_code == 415 and "as JSON" in reply.get_json()["error"]
    assert rows(db_url) == []


@pytest.mark.parametrize("fields, status, words", [
    ({"label": "girafe"}, 400, "Did you mean 'giraffe'"),
    ({"label": "my cat Felix"}, 400, "no Quick, Draw! category"),
    ({"label": 7}, 400, '"label" string'),
    ({"guess": "giraffe"}, 400, "one of the model's answers"),
    ({"drawing": []}, 400, ""),
    ({"drawing": [[[1, 2], [3]]]}, 400, ""),
    ({"drawing": "a dog"}, 400, ""),
])
def test_bad_corrections_get_their_status_and_a_sentence(teach_client, db_url, fields, status,
                                                         words):
    reply = taught(teach_client, **fields)
    message = reply.get_json()["error"]
    assert reply.status_code == status and re.match(r"^[A-Z].{8,}[.!?]$", message), message
    assert words in message
    assert rows(db_url) == []


def test_too_many_saves_from_one_client_are_refused(client_for, animals, db_url, monkeypatch):
    monkeypatch.setenv("SKETCHBOOK_FEEDBACK_RATE", "3")
    client = client_for(animals, FEEDBACK_DB=db_url)
    statuses = [taught(client).status_code for _ in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    assert len(rows(db_url)) == 3
    refused = taught(client)
    assert re.match(r"^[A-Z].{8,}[.!?]$", refused.get_json()["error"])
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_a_broken_database_is_a_503_and_guessing_goes_on(client_for, animals, tmp_path,
                                                         cat_png):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the database's folder should be")
    client = client_for(animals, FEEDBACK_DB=f"sqlite:///{blocked / 'taught.sqlite3'}")
    reply = taught(client)
    assert reply.status_code == 503 and reply.get_json()["error"][0].isupper()
    assert client.post("/api/predict", json={"image": data_url(cat_png)}).status_code == 200


# --- the results page's form -----------------------------------------------------------------

def results_page(client, cat_png, strokes=DRAWING):
    return client.post("/predict", data={"url": data_url(cat_png),
                                         "strokes": json.dumps(strokes)}).get_data(as_text=True)


def teach_form_fields(page: str) -> dict:
    """The teach form's hidden fields, as a browser would send them back."""
    return {field["attrs"]["name"]: field["attrs"]["value"]
            for field in Page(page).find("input", inside="teach-form")
            if field["attrs"].get("type") == "hidden"}


def test_the_results_page_offers_to_teach_and_says_what_is_kept(teach_client, cat_png):
    page = results_page(teach_client, cat_png)
    assert "Did I get it right?" in page and 'id="teach-consent"' in page
    assert "Never your address, a cookie or anything else about you." in page
    assert '<option value="giraffe">' in page  # any Quick, Draw! category, autocompleted
    assert "Your drawing is stored only if you choose to teach me." in page
    assert set(teach_form_fields(page)) == {"strokes", "guess", "answer_was", "confidence",
                                            "token", "model"}


def test_without_strokes_there_is_nothing_to_teach(teach_client, cat_png):
    page = teach_client.post("/predict", data={"url": data_url(cat_png)}).get_data(as_text=True)
    assert 'id="teach-form"' not in page and 'id="prediction"' in page


def test_teaching_from_the_form_keeps_the_row_and_says_so(teach_client, db_url, cat_png):
    fields = teach_form_fields(results_page(teach_client, cat_png))
    reply = teach_client.post("/teach", data={**fields, "answer": "no", "label": "",
                                              "other_label": "Giraffe ", "consent": "yes"})
    page = reply.get_data(as_text=True)
    assert reply.status_code == 201 and 'id="taught"' in page and "giraffe" in page
    assert 'id="again"' in page
    (row,) = rows(db_url)
    assert row.label == "giraffe" and row.guess == fields["answer_was"]


@pytest.mark.parametrize("change, status", [
    ({"consent": None}, 403),
    ({"token": "123.forged"}, 403),
    ({"answer": None}, 400),
    ({"other_label": "a scribble of mine"}, 400),
])
def test_the_form_writes_nothing_without_consent_or_a_valid_token(teach_client, db_url,
                                                                   cat_png, change, status):
    fields = teach_form_fields(results_page(teach_client, cat_png))
    form = {**fields, "answer": "no", "label": "", "other_label": "giraffe", "consent": "yes"}
    form.update(change)
    reply = teach_client.post("/teach", data={k: v for k, v in form.items() if v is not None})
    assert reply.status_code == status and 'id="error"' in reply.get_data(as_text=True)
    assert rows(db_url) == []


def test_a_typed_word_wins_over_the_list_left_as_it_was(teach_client, db_url, cat_png):
    """The list always has a choice selected; what the person typed is what they meant."""
    page = results_page(teach_client, cat_png)
    fields = teach_form_fields(page)
    first_choice = re.search(r'<select id="teach-label" name="label">\s*<option value="(\w+)"',
                             page).group(1)
    reply = teach_client.post("/teach", data={**fields, "answer": "no", "label": first_choice,
                                              "other_label": "giraffe", "consent": "yes"})
    assert reply.status_code == 201
    assert [row.label for row in rows(db_url)] == ["giraffe"]
    reply = teach_client.post("/teach", data={**fields, "answer": "no", "label": first_choice,
                                              "other_label": "  ", "consent": "yes"})
    assert reply.status_code == 201 and rows(db_url)[0].label == first_choice


def test_a_misconfigured_database_names_no_host_to_the_person(client_for, animals, cat_png,
                                                              monkeypatch):
    monkeypatch.setenv("SKETCHBOOK_SECRET", "test-secret")
    client = client_for(animals, FEEDBACK_DB="mysql://teacher@db.internal/taught")
    reply = taught(client)
    message = reply.get_json()["error"]
    assert reply.status_code == 503 and "teaching is not available" in message
    assert "db.internal" not in message and "teacher" not in message
    assert client.post("/api/predict", json={"image": data_url(cat_png)}).status_code == 200
