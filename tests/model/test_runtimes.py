"""The LiteRT export the app serves: the Keras model's answers, and never a stale export."""

import json
import logging
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from sketch_model.export import main as export_main
from sketch_model.facts import as_batch
from sketch_model.imaging.restroke import to_bitmap
from sketch_model.inference.classifier import load_classifier
from sketch_model.modelcard import DEFAULT_MODEL, ModelCard, ModelError
from sketch_model.training import litert
from testkit.drawings import ANIMALS, render_canvas
from testkit.models import tiny_network
from testkit.paths import REPO


def export_beside(path, drawings) -> dict:
    """Export the model at ``path`` calibrated and checked on ``drawings``, as training does."""
    card = ModelCard.read(path)
    card.metadata["litert"] = litert.export_litert(card.load_keras(), card, drawings[::2],
                                                   drawings[1::2])
    card.save()
    return card.metadata["litert"]


@pytest.fixture
def drawings(shared_data):
    """Real drawings of the small model's classes and of its "other"."""
    return np.concatenate([np.asarray(shared_data(name)[:200])
                           for name in ("cat", "dog", "house")])


@pytest.fixture
def exported(tiny_model, drawings):
    """A small model with a fresh LiteRT export beside it."""
    path = tiny_model(["cat", "dog", "other"], reject_class="other", name="small")
    export_beside(path, drawings)
    return path


def test_export_answers_like_the_keras_model(exported, drawings):
    # The export promises its bounds on the drawings it was checked on (the calibration half
    # is not part of the promise), and records what it measured there.
    check = drawings[1::2]
    served = load_classifier(exported)
    reference = load_classifier(exported, runtime="keras")
    assert (served.runtime.name, reference.runtime.name) == ("litert", "keras")
    ours, theirs = served.probabilities(check), reference.probabilities(check)
    entry = served.metadata["litert"]
    tolerance = litert.TOLERANCE if entry["quantization"] == "int8" else litert.FLOAT_TOLERANCE
    difference = np.abs(ours - theirs).max()
    agreement = (ours.argmax(1) == theirs.argmax(1)).mean()
    assert difference <= tolerance and agreement >= litert.AGREEMENT
    assert entry["checked_on"] == len(check)
    assert entry["top_answer_agreement"] == pytest.approx(agreement)
    assert entry["max_difference"] == pytest.approx(difference, abs=1e-6)


def test_an_int8_export_that_strays_gives_way_to_a_float_one(tiny_model, drawings,
                                                             monkeypatch):
    path = tiny_model(["cat", "dog", "other"], reject_class="other", name="strict")
    monkeypatch.setattr(litert, "AGREEMENT", 1.01)  # no int8 export can pass this
    entry = export_beside(path, drawings)
    assert entry["quantization"] == "float32" and "int8_rejected" in entry
    assert entry["max_difference"] <= litert.FLOAT_TOLERANCE
    served, reference = load_classifier(path), load_classifier(path, runtime="keras")
    assert served.runtime.name == "litert"
    assert np.abs(served.probabilities(drawings) - reference.probabilities(drawings)).max() \
        <= litert.FLOAT_TOLERANCE
    assert not list(path.parent.glob("*.partial.tflite"))


def test_export_of_another_version_is_never_served(exported, caplog):
    exported.write_bytes(exported.read_bytes())  # same bytes: still the same model
    assert load_classifier(exported).runtime.name == "litert"
    tiny_network(3).save(exported)  # a retrained model saved over the old one
    with caplog.at_level(logging.WARNING, logger="sketch_model.inference.classifier"):
        assert load_classifier(exported).runtime.name == "keras"
    assert "another version" in caplog.text and "sketch_model.export" in caplog.text
    with pytest.raises(ModelError, match="another version"):
        load_classifier(exported, runtime="litert")


@pytest.mark.parametrize("damage, words", [
    (lambda export: export.unlink(), "is missing"),
    (lambda export: export.write_bytes(b"not a flatbuffer" * 10), "cannot be loaded"),
], ids=["missing", "damaged"])
def test_missing_or_damaged_export_falls_back_to_keras(exported, caplog, damage, words):
    damage(exported.with_suffix(".tflite"))
    with caplog.at_level(logging.WARNING, logger="sketch_model.inference.classifier"):
        assert load_classifier(exported).runtime.name == "keras"
    assert words in caplog.text
    with pytest.raises(ModelError, match=words):
        load_classifier(exported, runtime="litert")


def test_model_without_export_is_served_by_keras(tiny_model):
    path = tiny_model(["a", "b"])
    assert "litert" not in json.loads(path.with_suffix(".json").read_text())
    assert load_classifier(path).runtime.name == "keras"


def test_export_command_explains_a_missing_model(tmp_path, capsys):
    assert export_main(["--model", str(tmp_path / "nothing")]) == 1
    error = capsys.readouterr().err
    assert "nothing.keras" in error and "missing" in error and "Traceback" not in error


def test_export_command_needs_to_know_the_training_data(tiny_model, capsys):
    path = tiny_model(["a", "b"])
    assert export_main(["--model", str(path)]) == 1
    error = capsys.readouterr().err
    assert "trained on" in error and "Traceback" not in error
    assert not path.with_suffix(".tflite").exists()


def test_many_threads_get_the_answers_one_thread_gets():
    classifier = load_classifier()
    bitmaps = [to_bitmap(render_canvas(draw(), pen=pen)) for draw in ANIMALS.values()
               for pen in (3, 8, 14)]
    alone = [classifier.runtime.single(as_batch(b)) for b in bitmaps]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda b: classifier.runtime.single(as_batch(b)), bitmaps * 8))
    for number, probabilities in enumerate(together):
        assert np.array_equal(probabilities, alone[number % len(bitmaps)])


def test_shipped_model_is_served_by_its_export_and_agrees_on_real_drawings(shared_data):
    served = load_classifier()
    assert served.runtime.name == "litert"
    reference = load_classifier(runtime="keras")
    assert served.metadata["litert"]["quantization"] == "int8"
    rows = np.concatenate([np.asarray(shared_data(name)[-300:]) for name in served.labels])
    ours, theirs = served.probabilities(rows), reference.probabilities(rows)
    assert np.abs(ours - theirs).max() <= litert.TOLERANCE
    assert (ours.argmax(1) == theirs.argmax(1)).mean() >= litert.AGREEMENT


def test_the_web_server_process_never_loads_tensorflow():
    """The point of the export: start in a fraction of a second, in a fifth of the memory."""
    code = ("import sys, app; app.create_app(); "
            "loaded = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
            "print(loaded); sys.exit(1 if loaded else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={"SKETCHBOOK_MODEL": str(DEFAULT_MODEL),
                                                      "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr
