"""The classifier: the "unsure" rule, the decisions its card's fields drive, and loading a
model (``sketch_model.inference.classifier``, ``sketch_model.modelcard``)."""

import json

import numpy as np
import pytest

from sketch_model.facts import SIDE, as_batch
from sketch_model.inference.classifier import load_classifier, unsure_reasons, unsure_rows
from sketch_model.modelcard import ModelError, model_path

# --- the rule for "unsure" ------------------------------------------------------------------

def test_unsure_when_best_known_class_is_below_threshold():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25]])
    assert unsure_rows(probabilities, np.arange(3), None, 0.5).tolist() == [False, True]
    assert unsure_rows(probabilities, np.arange(3), None, 0.0).tolist() == [False, False]


def test_the_reason_says_whether_it_looks_like_none_of_them_or_is_torn():
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


# --- what the card decides ------------------------------------------------------------------

def test_other_threshold_is_read_from_metadata(tiny_model):
    path = tiny_model(["cat", "dog", "other"], reject_class="other", unsure_threshold=0.0,
                      other_threshold=0.2)
    classifier = load_classifier(path, runtime="keras")
    assert classifier.other_threshold == 0.2
    assert classifier.decide(np.array([0.55, 0.2, 0.25])).unsure
    assert not classifier.decide(np.array([0.65, 0.2, 0.15])).unsure


def test_prediction_ranks_known_classes_and_hides_other(tiny_model):
    classifier = load_classifier(tiny_model(["cat", "dog", "other"], reject_class="other",
                                            unsure_threshold=0.4))
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
    strict = load_classifier(tiny_model(["a", "b"], unsure_threshold=0.9))
    lenient = load_classifier(tiny_model(["a", "b"], unsure_threshold=0.1, name="lenient"))
    row = np.array([0.8, 0.2])
    assert strict.decide(row).unsure and not lenient.decide(row).unsure


def test_class_bias_comes_from_metadata_and_shifts_every_answer(tiny_model):
    biased = load_classifier(tiny_model(["a", "b"], unsure_threshold=0.0, name="biased",
                                        class_bias={"b": float(np.log(3))}))
    assert biased.adjusted(np.array([[0.5, 0.5]])) == pytest.approx(np.array([[0.25, 0.75]]))
    bitmap = np.random.default_rng(3).integers(0, 256, (SIDE, SIDE), dtype=np.uint8)
    raw = biased.runtime.single(as_batch(bitmap))  # no bias
    expected = raw * [1, 3] / (raw * [1, 3]).sum()
    answer = biased.classify(bitmap)  # the app's path
    assert {g.label: g.probability for g in answer.ranking} == pytest.approx(
        dict(zip("ab", expected)), abs=1e-6)
    assert biased.probabilities(bitmap[np.newaxis]) == pytest.approx(expected[np.newaxis],
                                                                       abs=1e-6)


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
