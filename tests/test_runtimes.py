"""The LiteRT export the app serves: same answers as the Keras model, and never a stale one."""

import json
import logging
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from sketch_model.classifier import DEFAULT_MODEL, ModelError, load_classifier
from sketch_model.export import main as export_main
from sketch_model.preprocess import to_bitmap
from sketch_model.scribbles import scribbles
from tests.conftest import REPO
from tests.drawing import ANIMALS, render_canvas


@pytest.fixture
def exported(tiny_model):
    """A small model with a fresh LiteRT export beside it."""
    path = tiny_model(["cat", "dog", "other"], reject="other", name="small")
    assert export_main(["--model", str(path)]) == 0
    return path


def test_export_answers_like_the_keras_model(exported):
    served = load_classifier(exported)
    reference = load_classifier(exported, runtime="keras")
    assert (served.runtime.name, reference.runtime.name) == ("litert", "keras")
    bitmaps = scribbles(40, seed=7)
    assert np.abs(served.probabilities(bitmaps) - reference.probabilities(bitmaps)).max() < 1e-4
    for bitmap in bitmaps[:10]:
        assert served.classify(bitmap).label == reference.classify(bitmap).label


def test_export_of_another_version_is_never_served(exported, caplog):
    exported.write_bytes(exported.read_bytes())  # same bytes: still the same model
    assert load_classifier(exported).runtime.name == "litert"
    from keras import Sequential, layers  # a retrained model saved over the old one

    Sequential([layers.Input((28, 28, 1)), layers.Flatten(),
                layers.Dense(3, activation="softmax")]).save(exported)
    with caplog.at_level(logging.WARNING, logger="sketch_model.classifier"):
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
    with caplog.at_level(logging.WARNING, logger="sketch_model.classifier"):
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


def test_many_threads_get_the_answers_one_thread_gets():
    classifier = load_classifier()
    bitmaps = [to_bitmap(render_canvas(draw(), pen=pen)) for draw in ANIMALS.values()
               for pen in (3, 8, 14)]
    alone = [classifier.runtime.single(b.reshape(1, 28, 28, 1).astype(np.float32))
             for b in bitmaps]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(
            lambda b: classifier.runtime.single(b.reshape(1, 28, 28, 1).astype(np.float32)),
            bitmaps * 8))
    for number, probabilities in enumerate(together):
        assert np.array_equal(probabilities, alone[number % len(bitmaps)])


def test_shipped_model_is_served_by_its_export_and_agrees_on_real_drawings(shared_data):
    served = load_classifier()
    assert served.runtime.name == "litert"
    reference = load_classifier(runtime="keras")
    rows = np.concatenate([np.asarray(shared_data(name)[:100]) for name in served.labels])
    ours, theirs = served.probabilities(rows), reference.probabilities(rows)
    assert np.abs(ours - theirs).max() < 1e-4
    assert np.array_equal(ours.argmax(1), theirs.argmax(1))


def test_the_web_server_process_never_loads_tensorflow():
    """The point of the export: start in a fraction of a second, in a fifth of the memory."""
    code = ("import sys, app; app.create_app(); "
            "loaded = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
            "print(loaded); sys.exit(1 if loaded else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={"SKETCHBOOK_MODEL": str(DEFAULT_MODEL),
                                                      "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr
