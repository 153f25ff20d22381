"""The model the app serves: chosen by config or the environment, its classes shown everywhere
(never its reject class), loaded in safe mode; a missing or broken one stops ``create_app`` with
a ``ModelError``, and ``python app.py`` with one line for the operator."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import app as webapp
from sketch_model.facts import SHAPE
from sketch_model.modelcard import ModelCard, ModelError
from testkit.drawings import ANIMALS, data_url
from testkit.pages import SENTENCE, Page, check_answer, page_of
from testkit.paths import REPO
from testkit.server import free_port
from web.limits import MAX_CONTENT_LENGTH
from web.models import runtimes

# --- choosing the model ---------------------------------------------------------------------

def test_model_path_config_loads_that_model(animals_path):
    app = webapp.create_app({"MODEL_PATH": str(animals_path), "TESTING": True})
    assert next(iter(app.extensions["models"].values())).classifier.labels == list(ANIMALS)  # the tiny animals' classes
    assert app.config["MAX_CONTENT_LENGTH"] == MAX_CONTENT_LENGTH
    assert not app.debug


def test_model_from_environment_is_used_everywhere(fruit_path, monkeypatch, cat_png):
    monkeypatch.setenv("SKETCHBOOK_MODEL", str(fruit_path))
    monkeypatch.setenv("SKETCHBOOK_MODELS", str(fruit_path))
    client = webapp.create_app().test_client()
    fruit = ["apple", "banana", "house"]

    page = page_of(client.get("/"))
    assert [c["attrs"]["data-label"] for c in page.find("li", inside="known-animals")] == fruit
    assert not {"cat", "dog"} & set(client.get("/").get_data(as_text=True).split())
    assert client.get("/healthz").get_json() == {"status": "ok", "model": "fruit",
                                                 "classes": fruit, "models": {"fruit": fruit}}
    answer = client.post("/api/predict", json={"image": data_url(cat_png)}).get_json()
    check_answer(answer, fruit)
    results = page_of(client.post("/predict", data={"url": data_url(cat_png)}))
    assert sorted(i["attrs"]["data-label"] for i in results.find("li", inside="ranking")) == \
        sorted(fruit)


def test_reject_class_is_never_shown(client_for, mostly_other, cat_png):
    client = client_for(mostly_other)
    known = ["cat", "dog", "fish"]

    index = client.get("/").get_data(as_text=True)
    assert [c["attrs"]["data-label"] for c in Page(index).find("li", inside="known-animals")] \
        == known
    assert "other" not in index.replace(mostly_other.name, "")  # (its name is with-other)
    assert client.get("/healthz").get_json()["classes"] == known

    answer = client.post("/api/predict", json={"image": data_url(cat_png)}).get_json()
    check_answer(answer, known)
    assert answer["label"] == "unsure"  # "other" outweighs every animal
    assert "other" not in json.dumps(answer["ranking"])

    response = client.post("/predict", data={"url": data_url(cat_png)})
    page = page_of(response)
    assert page.by_id("prediction")["attrs"]["data-label"] == "unsure"
    assert [i["attrs"]["data-label"] for i in page.find("li", inside="ranking")] == \
        [g["label"] for g in answer["ranking"]]
    assert "other" not in response.get_data(as_text=True)


def test_missing_or_broken_model_raises_model_error(tmp_path, monkeypatch):
    with pytest.raises(ModelError):
        webapp.create_app({"MODEL_PATH": str(tmp_path / "nothing.keras")})
    monkeypatch.setenv("SKETCHBOOK_MODEL", str(tmp_path / "nothing.keras"))
    with pytest.raises(ModelError):
        webapp.create_app()
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"this is not a keras archive")
    ModelCard.new(broken, classes=["a", "b"], reject_class=None).save()
    with pytest.raises(ModelError):
        webapp.create_app({"MODEL_PATH": str(broken)})


def test_command_line_without_a_model_says_so_in_one_line(tmp_path):
    env = {**os.environ, "SKETCHBOOK_MODEL": str(tmp_path / "missing.keras")}
    result = subprocess.run([sys.executable, "app.py", "--port", str(free_port())], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "missing.keras" in lines[0], result.stderr


def test_command_line_rejects_a_bad_port():
    result = subprocess.run([sys.executable, "app.py", "--port", "http"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "port" in result.stderr


# --- the model at start-up --------------------------------------------------------------------

def test_a_missing_model_stops_create_app_with_a_clear_message(tmp_path):
    missing = tmp_path / "nothing-here.keras"
    with pytest.raises(ModelError) as raised:
        webapp.create_app({"MODEL_PATH": str(missing)})
    message = str(raised.value)
    assert str(missing) in message and "missing" in message.lower()
    assert "\n" not in message and SENTENCE.match(message), message


def test_the_model_is_loaded_in_safe_mode(model_file, monkeypatch):
    import keras

    calls = []
    original = keras.saving.load_model

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(keras.saving, "load_model", spy)
    webapp.create_app({"MODEL_PATH": str(model_file)})
    assert calls and all(call.get("safe_mode") is True for call in calls)


def test_a_model_with_code_in_it_is_refused(tmp_path):
    """A Lambda layer is Python bytecode: safe mode refuses to deserialise it."""
    import keras

    model = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                              keras.layers.Lambda(lambda x: x * 2),
                              keras.layers.Dense(3, activation="softmax")])
    path = tmp_path / "lambda.keras"
    model.save(path)
    ModelCard.new(path, classes=["a", "b", "c"], reject_class=None).save()
    with pytest.raises(ModelError, match="cannot be loaded"):
        webapp.create_app({"MODEL_PATH": str(path)})


def _corrupt(kind: str, directory: Path, good: Path) -> Path:
    path = directory / f"{kind}.keras"
    meta = json.loads(good.with_suffix(".json").read_text())
    if kind == "random-bytes":
        path.write_bytes(np.random.default_rng(1).bytes(5000))
    elif kind == "truncated-archive":
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "garbage-inside-archive":
        import zipfile

        with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w") as target:
            for item in source.infolist():
                target.writestr(item, b"{not json" if item.filename.endswith(".json")
                                else source.read(item))
    elif kind == "metadata-not-json":
        path.write_bytes(good.read_bytes())
    path.with_suffix(".json").write_text(
        "{classes: [" if kind == "metadata-not-json" else json.dumps(meta))
    return path


@pytest.mark.parametrize("kind", ["random-bytes", "truncated-archive",
                                  "garbage-inside-archive", "metadata-not-json"])
def test_a_corrupt_model_stops_the_server_with_one_clear_line(tmp_path, model_file, kind):
    corrupt = _corrupt(kind, tmp_path, model_file)
    env = {**os.environ, "SKETCHBOOK_MODEL": str(corrupt)}
    result = subprocess.run([sys.executable, "app.py", "--port", str(free_port())], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode != 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("sketchbook: cannot start:") and corrupt.stem in lines[0]
    assert len(lines[0]) < 1000


def test_the_model_file_is_hashed_once_at_start_up(monkeypatch, tmp_path):
    """Loading checks the export against the .keras file's digest, and the app keeps the
    digest for taught drawings: one reading of the file serves both. A file that changes is
    hashed again."""
    import hashlib

    from sketch_model.modelcard import DEFAULT_MODEL

    hashed = []
    real = hashlib.file_digest

    def counting(file, digest):
        hashed.append(file.name)
        return real(file, digest)

    monkeypatch.setattr("sketch_model.modelcard.hashlib.file_digest", counting)
    app = webapp.create_app({"MODEL_PATH": str(DEFAULT_MODEL), "MODEL_PATHS": [],
                             "TESTING": True})
    assert runtimes(app) == {"litert"}, "the export was checked"
    assert hashed == [str(DEFAULT_MODEL)]
    copy = tmp_path / "copy.keras"
    copy.write_bytes(b"first")
    card = ModelCard(copy, {})
    first = card.digest()
    assert card.digest() == first and len(hashed) == 2
    copy.write_bytes(b"second, longer")
    assert card.digest() != first and len(hashed) == 3
