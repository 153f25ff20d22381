"""Training end to end on a few hundred drawings, and the split it relies on."""

import json
from pathlib import Path

import numpy as np
import pytest

import feedback
from sketch_model.evaluate import main as evaluate_main
from sketch_model.export import main as export_main
from sketch_model.facts import PIXELS, SHAPE
from sketch_model.imaging.restroke import to_bitmap
from sketch_model.inference.classifier import load_classifier
from sketch_model.train import main as train_main
from sketch_model.training.dataset import split_ids
from sketch_model.training.reload import reload_data
from sketch_model.training.litert import AGREEMENT, FLOAT_TOLERANCE, TOLERANCE
from testkit.drawings import ANIMALS, render_canvas

CLASSES = ["cat", "fish", "camel"]
TAUGHT = 5  # camels people taught, exported by `python -m feedback export`


def taught_camels(folder) -> Path:
    """A feedback database holding TAUGHT camels, exported as a QuickDraw source folder."""
    store = feedback.Store.open(f"sqlite:///{folder / 'taught.sqlite3'}", rate=100)
    strokes = [[[x for x, _ in s], [y for _, y in s]] for s in ANIMALS["camel"]()]
    for number in range(TAUGHT):
        moved = [[[x + number for x in xs], ys] for xs, ys in strokes]
        store.save(drawing=feedback.simplify(feedback.parse_drawing(moved)), label="camel",
                   guess="cat", confidence=0.5, model="test", model_sha256="0" * 64,
                   client="127.0.0.1")
    assert store.export(folder / "taught") == {"camel": TAUGHT}
    store.close()
    return folder / "taught"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, quickdraw_source, strokes_source):
    """A tiny model trained for real through the command line entry point, with taught
    drawings from the feedback database."""
    folder = tmp_path_factory.mktemp("train")
    out = folder / "tiny"
    taught = taught_camels(folder)
    code = train_main(["--classes", *CLASSES, "--other-classes", "house", "--other-strokes",
                       "ant", "cow", "--holdout-classes", "book", "--holdout-strokes", "crab",
                       "--limit", "300", "--other-limit", "150", "--stroke-limit", "20",
                       "--scribbles", "90", "--epochs", "2",
                       "--out", str(out), "--source", str(quickdraw_source),
                       "--strokes-source", str(strokes_source),
                       "--cache", str(folder / "cache"), "--extra-source", str(taught)])
    assert code == 0
    return out


def test_training_writes_model_metadata_export_and_pictures(trained):
    for suffix in (".keras", ".json", ".tflite"):
        assert trained.with_name(trained.name + suffix).is_file()
    for picture in ("-confusion.png", "-reliability.png"):
        assert trained.with_name(trained.name + picture).read_bytes().startswith(b"\x89PNG")


def test_metadata_has_what_the_app_and_reports_need(trained):
    meta = json.loads(trained.with_suffix(".json").read_text())
    assert meta["classes"] == CLASSES + ["other"] and meta["reject_class"] == "other"
    assert meta["input"]["shape"] == list(SHAPE)
    assert 0.0 <= meta["unsure_threshold"] < 1.0
    assert 0.0 < meta["other_threshold"] <= 1.0
    assert meta["metrics"]["rejection"]["other_threshold"] == meta["other_threshold"]
    assert set(meta["class_bias"]) <= set(CLASSES)  # tuned shifts for known classes only
    assert all(abs(shift) <= 1.0 for shift in meta["class_bias"].values())
    trained_on = meta["trained_on"]
    assert trained_on["classes"] == CLASSES and trained_on["holdout"] == ["book", "crab"]
    assert trained_on["holdout_bitmaps"] == ["book"] and trained_on["other_strokes"] == [
        "ant", "cow"]
    assert trained_on["scribbles"] == 90
    assert sum(trained_on["split_sizes"].values()) == 3 * 300 + 150 + 2 * 20 + 90 + TAUGHT
    assert sum(trained_on["drawings"]["other"].values()) == 150 + 2 * 20 + 90
    for label in CLASSES:
        assert sum(trained_on["drawings"][label].values()) == 300 + (
            TAUGHT if label == "camel" else 0)
    assert trained_on["taught"]["drawings"] == {"camel": TAUGHT}  # the training split only
    metrics = meta["metrics"]
    for key in ("accuracy", "balanced_accuracy", "top3_accuracy"):
        assert 0.0 <= metrics[key] <= 1.0
    assert set(metrics["per_class"]) == set(CLASSES)
    confusion = np.array(metrics["confusion_matrix"])
    assert confusion.shape == (3, 3)
    assert confusion.sum() == sum(trained_on["drawings"][c]["test"] for c in CLASSES)
    assert [metrics["per_class"][c]["support"] for c in CLASSES] == confusion.sum(1).tolist()
    rejection = metrics["rejection"]
    assert 0.0 <= rejection["holdout_unsure_rate"] <= 1.0
    assert set(rejection["holdout_unsure_rate_per_class"]) == {"book", "crab"}
    calibration = metrics["calibration"]
    assert meta["temperature"] == calibration["temperature"] > 0
    assert 0.0 <= calibration["ece"] <= 1.0 and len(calibration["bins"]) == 15
    app = metrics["app_path"]  # canvases of the held-out strokes, and of test drawings
    assert set(app["holdout_unsure_rate_per_class"]) == {"book", "crab"}
    assert set(app["recall_per_class"]) == set(CLASSES) and 0 <= app["top3_accuracy"] <= 1
    assert "created" in meta
    assert meta["litert"]["file"] == trained.name + ".tflite"
    litert = meta["litert"]
    assert litert["quantization"] in ("int8", "float32") and litert["checked_on"] > 0
    assert litert["max_difference"] <= (TOLERANCE if litert["quantization"] == "int8"
                                        else FLOAT_TOLERANCE)
    assert litert["top_answer_agreement"] >= AGREEMENT


def test_saved_batch_norm_statistics_are_those_of_clean_drawings(trained, quickdraw_source):
    """Training ends by measuring batch norm again on clean drawings: doing it once more
    finds the same statistics (the running averages of augmented batches would differ)."""
    import keras

    from sketch_model.training.batchnorm import recalibrate_batch_norm

    meta = json.loads(trained.with_suffix(".json").read_text())
    assert meta["training"]["batch_norm_recalibrated"] == 6
    model = keras.saving.load_model(trained.with_suffix(".keras"), compile=False)
    layers = [layer for layer in model.layers
              if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [np.array(layer.moving_variance) for layer in layers]
    data = reload_data(meta, source=str(quickdraw_source), cache=trained.parent / "cache")
    assert recalibrate_batch_norm(model, data.x["train"]) == 6
    for before, layer in zip(saved, layers):
        assert np.allclose(before, np.array(layer.moving_variance), rtol=1e-3)


def test_saved_model_reloads_and_classifies(trained):
    classifier = load_classifier(trained)
    assert classifier.runtime.name == "litert"  # what the app serves, without TensorFlow
    prediction = classifier.classify(to_bitmap(render_canvas(ANIMALS["fish"]())))
    assert [g.label for g in sorted(prediction.ranking, key=lambda g: g.label)] == sorted(CLASSES)
    assert prediction.label in CLASSES + ["unsure"]
    assert abs(sum(g.probability for g in prediction.ranking) - 1.0) < 0.5  # "other" holds rest
    assert [g.probability for g in prediction.ranking] == \
        sorted((g.probability for g in prediction.ranking), reverse=True)


def test_evaluate_reproduces_the_saved_metrics(trained, quickdraw_source, capsys):
    meta = json.loads(trained.with_suffix(".json").read_text())
    assert evaluate_main(["--model", str(trained), "--source", str(quickdraw_source),
                          "--cache", str(trained.parent / "cache")]) == 0
    printed = capsys.readouterr().out
    assert f"balanced accuracy  {meta['metrics']['balanced_accuracy']:.4f}" in printed
    assert "confusion matrix" in printed


def test_export_command_exports_again_from_the_training_data(trained, quickdraw_source,
                                                           tmp_path, capsys):
    """A model copied without its export gets one, with threshold and metrics its own."""
    copy = tmp_path / "copy"
    for suffix in (".keras", ".json"):
        copy.with_suffix(suffix).write_bytes(trained.with_suffix(suffix).read_bytes())
    assert load_classifier(copy).runtime.name == "keras"  # the export it names is not there
    assert export_main(["--model", str(copy), "--source", str(quickdraw_source),
                        "--cache", str(trained.parent / "cache")]) == 0
    printed = capsys.readouterr().out
    meta = json.loads(copy.with_suffix(".json").read_text())
    assert meta["litert"]["file"] == "copy.tflite" and "copy.tflite" in printed
    assert f"balanced accuracy  {meta['metrics']['balanced_accuracy']:.4f}" in printed
    assert load_classifier(copy).runtime.name == "litert"
    assert (tmp_path / "copy-confusion.png").read_bytes().startswith(b"\x89PNG")


def test_split_is_deterministic_and_disjoint(shared_data):
    rows = np.asarray(shared_data("octopus")[:600])
    first, again = split_ids(rows, seed=1), split_ids(rows, seed=1)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, split_ids(rows, seed=2))
    shares = np.bincount(first, minlength=3) / len(rows)
    assert abs(shares[0] - 0.7) < 0.07 and abs(shares[1] - 0.15) < 0.05
    keys = [{rows[i].tobytes() for i in np.flatnonzero(first == s)} for s in range(3)]
    assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])


def test_identical_drawings_share_a_split():
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 256, (200, PIXELS), dtype=np.uint8)
    doubled = np.concatenate([rows, rows[::-1]])
    ids = split_ids(doubled, seed=5)
    assert np.array_equal(ids[:200], ids[200:][::-1])


def test_bad_category_name_fails_clearly(capsys, tmp_path):
    code = train_main(["--classes", "cat", "dgo", "--out", str(tmp_path / "m")])
    assert code == 1
    error = capsys.readouterr().err
    assert "dgo" in error and "dog" in error and "Traceback" not in error
    assert not (tmp_path / "m.keras").exists()


def test_category_used_twice_is_refused(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        train_main(["--classes", "cat", "dog", "--other-classes", "cat",
                    "--out", str(tmp_path / "m")])
    assert exit_info.value.code == 2
