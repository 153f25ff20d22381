"""'Other' trained as its named categories and served as one class (``training.heads``): the
heads and their labels, the merge, and a tiny model trained that way end to end."""

import json

import numpy as np
import pytest

from sketch_model.inference.classifier import load_classifier
from sketch_model.train import main as train_main
from sketch_model.training.dataset import Dataset, add_category, assemble
from sketch_model.training.heads import class_weights, head_labels, head_names, merging
from testkit.commands import run_module


def small_dataset() -> Dataset:
    """cat and dog, and "other" from apple, ant and the cat's stroke drawings' neighbour."""
    data = Dataset(classes=["cat", "dog", "other"])
    parts = {split: ([], [], []) for split in ("train", "validation", "test")}
    rows = np.zeros((6, 784), dtype=np.uint8)
    for category, label in (("cat", "cat"), ("apple", "other"), ("dog", "dog"),
                            ("cat (strokes)", "cat"), ("ant", "other")):
        add_category(data, parts, category, label, rows, np.array([0, 0, 0, 1, 1, 2]))
    assemble(data, parts)
    return data


def test_each_other_category_gets_a_head_and_classes_keep_theirs():
    data = small_dataset()
    assert head_names(data) == ["cat", "dog", "apple", "ant"]
    assert head_labels(data, "train").tolist() == [0] * 3 + [2] * 3 + [1] * 3 + [0] * 3 + [3] * 3
    assert data.y["train"].tolist() == [0] * 3 + [2] * 3 + [1] * 3 + [0] * 3 + [2] * 3
    assert head_labels(data, "test").tolist() == [0, 2, 1, 0, 3]
    kernel, bias = merging(data)
    assert kernel.tolist() == [[1, 0, -1], [0, 1, -1], [0, 0, 0], [0, 0, 0]]
    assert bias.tolist() == [0, 0, 1]
    heads = np.array([[0.5, 0.2, 0.1, 0.2], [0.0, 0.1, 0.6, 0.3]])
    assert np.allclose(heads @ kernel + bias, [[0.5, 0.2, 0.3], [0.0, 0.1, 0.9]]), \
        "\"other\" is the sum of its heads"


def test_each_head_weighs_as_its_class():
    """Training split: 6 cats, 3 dogs, 6 "other" drawings (3 apples, 3 ants): each class
    counts the same in the loss, and each "other" head weighs what "other" does."""
    data = small_dataset()
    coarse = class_weights(data, data.classes)
    assert coarse == {0: 15 / (3 * 6), 1: 15 / (3 * 3), 2: 15 / (3 * 6)}
    assert class_weights(data, head_names(data)) == {0: coarse[0], 1: coarse[1],
                                                     2: coarse[2], 3: coarse[2]}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, quickdraw_source, strokes_source):
    folder = tmp_path_factory.mktemp("heads")
    out = folder / "heads"
    code = train_main(["--classes", "cat", "fish", "--other-classes", "house",
                       "--other-strokes", "ant", "cow", "--scribbles", "40",
                       "--other-heads", "categories", "--limit", "200", "--other-limit", "100",
                       "--stroke-limit", "20", "--epochs", "1", "--out", str(out),
                       "--source", str(quickdraw_source), "--strokes-source",
                       str(strokes_source), "--cache", str(folder / "cache")])
    assert code == 0
    return out


def test_the_saved_model_sums_the_heads_into_one_other_column(trained):
    import keras

    meta = json.loads(trained.with_suffix(".json").read_text())
    assert meta["classes"] == ["cat", "fish", "other"] and meta["reject_class"] == "other"
    assert meta["trained_on"]["other_heads"] == "categories"
    model = keras.saving.load_model(trained.with_suffix(".keras"), compile=False,
                                    safe_mode=True)
    merge = model.layers[-1]
    assert merge.name == "merge_other" and not merge.trainable
    kernel, bias = (np.asarray(w) for w in merge.get_weights())
    assert kernel.shape == (2 + 4, 3)  # cat, fish, then house, ant, cow, the scribbles
    heads = keras.Model(model.input, model.layers[-2].output)
    x = np.random.default_rng(0).integers(0, 256, (8, 28, 28, 1)).astype(np.float32)
    inner = np.asarray(heads(x))
    served = np.asarray(model(x))
    assert np.allclose(served[:, :2], inner[:, :2], atol=1e-6)
    assert np.allclose(served[:, 2], inner[:, 2:].sum(axis=1), atol=1e-5)
    assert np.allclose(served.sum(axis=1), 1.0, atol=1e-5)


def test_the_app_serves_it_through_litert_like_any_model(trained):
    classifier = load_classifier(trained)
    assert classifier.runtime.name == "litert" and classifier.labels == ["cat", "fish"]
    probabilities = classifier.probabilities(np.zeros((2, 28, 28, 1), dtype=np.uint8))
    assert probabilities.shape == (2, 3) and np.allclose(probabilities.sum(1), 1, atol=1e-3)


def test_streamed_training_with_named_other_categories_is_refused(tmp_path):
    result = run_module("sketch_model.train", "--classes", "cat", "fish", "--other-classes",
                        "house", "--other-heads", "categories", "--stream", "--out",
                        str(tmp_path / "m"), unset="QUICKDRAW_")
    assert result.returncode == 2 and "leave out --stream" in result.stderr
    assert "Traceback" not in result.stderr
