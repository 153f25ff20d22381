"""Loading models, the "unsure" rule, and the shipped model's answers on drawings."""

import itertools
import json
import shutil

import numpy as np
import pytest

from sketch_model.classifier import (DEFAULT_MODEL, ModelError, load_classifier, model_path,
                                     unsure_rows)
from sketch_model.dataset import split_ids
from sketch_model.preprocess import to_bitmap
from tests.drawing import (ANIMALS, canvas_from_bitmap, random_strokes, render_canvas,
                           render_quickdraw)


@pytest.fixture(scope="session")
def shipped():
    """The model a new user gets; it is committed, so it must be there."""
    assert DEFAULT_MODEL.is_file(), f"the shipped model {DEFAULT_MODEL} is missing"
    return load_classifier()


# --- the rule for "unsure" ------------------------------------------------------------------

def test_unsure_when_best_known_class_is_below_threshold():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25]])
    assert unsure_rows(probabilities, np.arange(3), None, 0.5).tolist() == [False, True]
    assert unsure_rows(probabilities, np.arange(3), None, 0.0).tolist() == [False, False]


def test_the_reason_says_whether_it_looks_like_none_of_them_or_is_torn():
    from sketch_model.classifier import unsure_reasons

    # columns: cat, dog, other; thresholds: best known 0.3, other 0.25
    probabilities = np.array([[0.3, 0.2, 0.5],     # other outweighs cat: none of them
                              [0.65, 0.05, 0.3],   # other above its threshold, cat far ahead
                              [0.28, 0.27, 0.05],  # torn between cat and dog
                              [0.9, 0.05, 0.05]])  # sure
    reasons = unsure_reasons(probabilities, np.array([0, 1]), 2, 0.3, 0.25)
    assert reasons.tolist() == ["unfamiliar", "low_confidence", "low_confidence", ""]
    assert unsure_rows(probabilities, np.array([0, 1]), 2, 0.3, 0.25).tolist() == \
        [True, True, True, False]
    assert unsure_reasons(probabilities, np.array([0, 1]), None, 0.3).tolist() == \
        ["", "", "low_confidence", ""]


def test_unsure_when_other_outweighs_every_known_class():
    # columns: cat, dog, other
    probabilities = np.array([[0.3, 0.2, 0.5], [0.6, 0.1, 0.3]])
    assert unsure_rows(probabilities, np.array([0, 1]), 2, 0.0).tolist() == [True, False]


def test_unsure_when_other_passes_its_own_threshold():
    # columns: cat, dog, other. Class weights make "other" come out low, so it has a
    # threshold of its own, below the best known class.
    probabilities = np.array([[0.6, 0.2, 0.2], [0.7, 0.2, 0.1], [0.3, 0.2, 0.5]])
    assert unsure_rows(probabilities, np.array([0, 1]), 2, 0.0, 0.15).tolist() == \
        [True, False, True]
    assert unsure_rows(probabilities, np.array([0, 1]), 2, 0.0).tolist() == \
        [False, False, True]


def test_other_threshold_is_read_from_metadata(tiny_model):
    path = tiny_model(["cat", "dog", "other"], reject="other", threshold=0.0)
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["other_threshold"] = 0.2
    path.with_suffix(".json").write_text(json.dumps(meta))
    classifier = load_classifier(path, runtime="keras")
    assert classifier.other_threshold == 0.2
    assert classifier.decide(np.array([0.55, 0.2, 0.25])).unsure
    assert not classifier.decide(np.array([0.65, 0.2, 0.15])).unsure


def test_prediction_ranks_known_classes_and_hides_other(tiny_model):
    classifier = load_classifier(tiny_model(["cat", "dog", "other"], reject="other",
                                            threshold=0.4))
    assert classifier.labels == ["cat", "dog"]
    sure = classifier.decide(np.array([0.1, 0.8, 0.1]))
    assert (sure.label, sure.unsure) == ("dog", False)
    assert [g.label for g in sure.ranking] == ["dog", "cat"]
    assert sure.confidence == pytest.approx(0.8)
    doubtful = classifier.decide(np.array([0.3, 0.2, 0.5]))
    assert (doubtful.label, doubtful.unsure) == ("unsure", True)
    assert doubtful.best.label == "cat"  # the closest guess is still there to show
    low = classifier.decide(np.array([0.35, 0.33, 0.32]))
    assert low.unsure  # under the metadata's threshold of 0.4


def test_threshold_comes_from_metadata(tiny_model):
    strict = load_classifier(tiny_model(["a", "b"], threshold=0.9))
    lenient = load_classifier(tiny_model(["a", "b"], threshold=0.1, name="lenient"))
    row = np.array([0.8, 0.2])
    assert strict.decide(row).unsure and not lenient.decide(row).unsure


def test_class_bias_comes_from_metadata_and_shifts_every_answer(tiny_model):
    biased_path = tiny_model(["a", "b"], threshold=0.0, name="biased")
    meta = json.loads(biased_path.with_suffix(".json").read_text())
    biased_path.with_suffix(".json").write_text(json.dumps({**meta,
                                                            "class_bias": {"b": np.log(3)}}))
    biased = load_classifier(biased_path)
    assert biased.adjusted(np.array([[0.5, 0.5]])) == pytest.approx(np.array([[0.25, 0.75]]))
    bitmap = np.random.default_rng(3).integers(0, 256, (28, 28), dtype=np.uint8)
    raw = biased.runtime.single(bitmap.reshape(1, 28, 28, 1).astype(np.float32))  # no bias
    expected = raw * [1, 3] / (raw * [1, 3]).sum()
    answer = biased.classify(bitmap)  # the app's path
    assert {g.label: g.probability for g in answer.ranking} == pytest.approx(
        dict(zip("ab", expected)), abs=1e-6)
    assert biased.probabilities(bitmap[np.newaxis]) == pytest.approx(expected[np.newaxis],
                                                                       abs=1e-6)


class TableRuntime:
    """A stand-in model: the probabilities of drawing i are row i of a table (the drawing's
    first pixel holds i)."""

    name = "table"

    def __init__(self, table):
        self.table = np.asarray(table, dtype=np.float64)
        self.outputs = self.table.shape[1]

    def batch(self, x):
        return self.table[x.reshape(len(x), -1)[:, 0].astype(int)]


def test_class_bias_is_tuned_on_validation_for_balanced_accuracy(tmp_path):
    """A model that leans towards "cat": every dog it sees is a near tie it loses. The tuned
    shift favours "dog" just enough, raising balanced accuracy, and the tuning is recorded."""
    from sketch_model.classifier import Classifier
    from sketch_model.dataset import Dataset
    from sketch_model.evaluate import tune_and_score, tune_class_bias

    cats = [[0.9, 0.1]] * 60 + [[0.6, 0.4]] * 40
    dogs = [[0.55, 0.45]] * 30 + [[0.2, 0.8]] * 70
    table = np.array(cats + dogs)
    x = np.zeros((200, 28, 28, 1), dtype=np.uint8)
    x[:, 0, 0, 0] = np.arange(200)
    y = np.array([0] * 100 + [1] * 100)
    data = Dataset(["cat", "dog"], x={"validation": x, "test": x}, y={"validation": y, "test": y})
    metadata = {"classes": ["cat", "dog"], "unsure_threshold": 0.0}
    classifier = Classifier(TableRuntime(table), metadata, tmp_path / "table.keras")
    assert classifier.probabilities(x).argmax(1)[100:].mean() == pytest.approx(0.7)

    bias = tune_class_bias(classifier, data)
    assert bias["dog"] > 0 > bias["cat"] and bias["dog"] - bias["cat"] <= 1.0
    classifier.class_bias = bias
    predicted = classifier.probabilities(x).argmax(1)
    assert (predicted[:100] == 0).mean() == 1.0 and (predicted[100:] == 1).mean() == 1.0

    metrics = tune_and_score(classifier, data)
    assert metrics["balanced_accuracy"] == 1.0
    assert metadata["class_bias"] == bias and metadata["metrics"] is metrics


def _validation_set(known_rows, other_rows):
    """A Dataset whose validation split has these probability rows (cat, dog, other)."""
    from sketch_model.dataset import Dataset

    table = list(known_rows) + list(other_rows)
    labels = [int(np.argmax(row[:2])) for row in known_rows] + [2] * len(other_rows)
    data = Dataset(classes=["cat", "dog", "other"])
    data.x["validation"] = np.repeat(np.arange(len(table), dtype=np.uint8), 784).reshape(
        -1, 28, 28, 1)
    data.y["validation"] = np.array(labels)
    return TableRuntime(table), data


def test_thresholds_are_tuned_to_catch_other_while_sparing_the_animals():
    from sketch_model.classifier import Classifier
    from sketch_model.evaluate import MAX_KNOWN_UNSURE, tune_thresholds

    rng = np.random.default_rng(3)
    known = [(p, 0.95 - p - o, o) for p, o in zip(rng.uniform(0.5, 0.9, 100),
                                                   rng.uniform(0.0, 0.05, 100))]
    other = [(0.7 - o, 0.3, o) for o in rng.uniform(0.1, 0.3, 50)]  # "other" never outweighs
    runtime, data = _validation_set(known, other)
    classifier = Classifier(runtime, {"classes": data.classes, "reject_class": "other"},
                            DEFAULT_MODEL)
    floor, other_threshold = tune_thresholds(classifier, data)
    assert other_threshold < 0.1  # a threshold of its own catches them
    classifier.unsure_threshold, classifier.other_threshold = floor, other_threshold
    probabilities = classifier.probabilities(data.x["validation"])
    unsure = classifier.unsure(probabilities)
    assert unsure[:100].mean() <= MAX_KNOWN_UNSURE and unsure[100:].mean() == 1.0

    runtime, data = _validation_set(known, [])
    classifier = Classifier(runtime, {"classes": data.classes, "reject_class": "other"},
                            DEFAULT_MODEL)
    assert tune_thresholds(classifier, data)[1] == 1.0  # no "other" drawings: no evidence


# --- loading ----------------------------------------------------------------------------------

def test_model_path_accepts_a_name_without_suffix(tmp_path, monkeypatch):
    assert model_path(tmp_path / "m") == tmp_path / "m.keras"
    monkeypatch.setenv("SKETCHBOOK_MODEL", str(tmp_path / "other"))
    assert model_path() == tmp_path / "other.keras"


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="missing"):
        load_classifier(tmp_path / "nothing")


def test_corrupt_model_file_is_a_clear_error(tiny_model):
    path = tiny_model(["a", "b"])
    path.write_bytes(b"this is not a keras archive")
    with pytest.raises(ModelError, match="cannot be loaded"):
        load_classifier(path)


@pytest.mark.parametrize("metadata, words", [
    (None, "missing"),
    ("{not json", "cannot be read"),
    ({"classes": ["only"]}, "at least two"),
    ({"classes": ["a", "b"], "reject_class": "c"}, "reject_class"),
    ({"classes": ["a", "b"], "unsure_threshold": 1.5}, "unsure_threshold"),
    ({"classes": ["a", "b"], "other_threshold": 0}, "other_threshold"),
    ({"classes": ["a", "b"], "other_threshold": "high"}, "other_threshold"),
    ({"classes": ["a", "b"], "class_bias": {"c": 0.1}}, "class_bias"),
    ({"classes": ["a", "b"], "class_bias": {"a": 9}}, "class_bias"),
    ({"classes": ["a", "b"], "class_bias": [0.1, 0.2]}, "class_bias"),
    ({"classes": ["a", "b", "c"]}, "outputs"),
])
def test_bad_metadata_is_a_clear_error(tiny_model, metadata, words):
    path = tiny_model(["a", "b"])
    meta = path.with_suffix(".json")
    if metadata is None:
        meta.unlink()
    else:
        meta.write_text(metadata if isinstance(metadata, str) else json.dumps(metadata))
    with pytest.raises(ModelError, match=words):
        load_classifier(path)


# --- the shipped model ------------------------------------------------------------------------

def test_shipped_model_keeps_its_measured_quality(shipped):
    """Guards the figures the shipped model reached on its test split, a little below each
    (issue 18 aimed at balanced accuracy 0.92, top-3 0.99 and a calibration error of 0.03;
    the README's "The model" says how close it came), so that no retraining ships worse."""
    metrics = shipped.metadata["metrics"]
    assert metrics["balanced_accuracy"] >= 0.915
    assert metrics["top3_accuracy"] >= 0.985
    assert min(c["recall"] for c in metrics["per_class"].values()) >= 0.85
    assert metrics["rejection"]["known_unsure_rate"] <= 0.05
    assert metrics["calibration"]["ece"] <= 0.035
    assert DEFAULT_MODEL.stat().st_size < 2 * 1024 * 1024
    assert shipped.labels == ["cat", "dog", "fish", "bird", "octopus", "camel"]


def test_canvas_drawings_get_the_label_of_their_dataset_rendering(shipped):
    """Parity where it matters: the same strokes, drawn on any canvas, get the same answer."""
    sets = [make() for make in ANIMALS.values()] + [random_strokes(s) for s in range(14)]
    canvases = [(300, 2, 0.5), (400, 8, 0.7), (800, 16, 0.3), (600, 5, 0.25), (500, 12, 0.6)]
    same = [shipped.classify(to_bitmap(render_canvas(strokes, c, pen, size))).best.label
            == shipped.classify(render_quickdraw(strokes)).best.label
            for strokes, (c, pen, size) in itertools.product(sets, canvases)]
    print(f"\nsame label as the dataset rendering: {np.mean(same):.1%} of {len(same)}")
    assert np.mean(same) >= 0.95


def test_hand_drawn_animals_are_recognised(shipped):
    for name, make in ANIMALS.items():
        prediction = shipped.classify(to_bitmap(render_canvas(make(), 400, 8, 0.7)))
        assert name in [g.label for g in prediction.ranking[:3]], (name, prediction.ranking)


def test_real_drawings_on_a_canvas_keep_their_label(shipped, shared_data):
    """Redrawn on a canvas, real drawings keep their answer, and are not called "unsure" much
    more often (synthetic "other" drawings must not teach the model our rendering's look)."""
    rng = np.random.default_rng(11)
    same, unsure = [], []
    for name in shipped.labels:
        rows = shared_data(name)
        for index in rng.choice(len(rows), 12, replace=False):
            original = np.asarray(rows[index]).reshape(28, 28)
            png = canvas_from_bitmap(original, canvas=480, size=rng.uniform(0.35, 0.8),
                                     corner=tuple(rng.uniform(0.0, 0.15, 2)))
            redrawn, answer = shipped.classify(to_bitmap(png)), shipped.classify(original)
            same.append(redrawn.best.label == answer.best.label)
            unsure.append((redrawn.unsure, answer.unsure))
    print(f"\nreal drawings keep their label on a canvas: {np.mean(same):.1%} of {len(same)}; "
          f"unsure {np.mean(unsure, axis=0)} (canvas, dataset)")
    assert np.mean(same) >= 0.9
    on_canvas, in_dataset = np.mean(unsure, axis=0)
    assert on_canvas <= in_dataset + 0.07


def test_never_seen_categories_are_unsure_as_measured(shipped, quickdraw_source, strokes_source,
                                                     tmp_path_factory):
    """Rejection re-measured on the categories the shipped model never trained on (its recipe
    names them): the figures its metadata states, and issue 18's floor for things."""
    import quickdraw
    from sketch_model.recipe import Recipe
    from sketch_model.render import render_simplified

    recipe = Recipe.from_metadata(shipped.metadata["trained_on"])
    trained = set(recipe.classes) | set(recipe.other_bitmaps) | set(recipe.other_strokes)
    assert len(recipe.holdout) >= 27 and not set(recipe.holdout) & trained
    assert len(recipe.held_out_animals()) >= 6
    cache = tmp_path_factory.mktemp("cache")
    rates = {}
    for name in recipe.holdout:
        rows = (quickdraw.load(name, recipe.holdout_limit, source=quickdraw_source, cache=cache)
                if name in recipe.holdout_bitmaps else render_simplified(quickdraw.load_strokes(
                    name, recipe.stroke_limit, source=strokes_source, cache=cache)))
        rates[name] = float(shipped.unsure(shipped.probabilities(rows)).mean())
    stated = shipped.metadata["metrics"]["rejection"]
    assert rates == pytest.approx(stated["holdout_unsure_rate_per_class"], abs=1e-9)
    things = np.mean([rates[n] for n in recipe.held_out_things()])
    animals = np.mean([rates[n] for n in recipe.held_out_animals()])
    print(f"\nunsure: never-seen things {things:.1%}, never-seen animals {animals:.1%}, "
          f"the six animals {stated['known_unsure_rate']:.1%}")
    assert things >= 0.85
    assert animals >= 8 * stated["known_unsure_rate"]


def test_shipped_confidence_means_what_it_says(shipped, shared_data):
    """The expected calibration error on the six animals' test split, re-measured: what the
    metadata says, and small (of the answers given with 80%, about 80% are right)."""
    from sketch_model.calibration import reliability

    trained_on = shipped.metadata["trained_on"]
    confidence, correct = [], []
    for index, name in enumerate(shipped.labels):
        rows = np.asarray(shared_data(name)[:trained_on["limit"]])
        test = rows[split_ids(rows, trained_on["seed"]) == 2]
        known = shipped.probabilities(test)[:, shipped.known]
        confidence.append(known.max(axis=1))
        correct.append(known.argmax(axis=1) == index)
    ece = reliability(np.concatenate(confidence), np.concatenate(correct))["ece"]
    assert ece == pytest.approx(shipped.metadata["metrics"]["calibration"]["ece"], abs=1e-9)
    assert ece <= 0.035
