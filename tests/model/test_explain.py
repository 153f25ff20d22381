"""Why an answer (issue 29): occlusion lights the parts a model's answer depends on, and the
gallery finds a drawing's nearest drawings, each one itself first."""

import logging

import numpy as np
import pytest

from sketch_model.inference.classifier import Classifier
from sketch_model.inference.explain import WEIGHED, explain
from sketch_model.inference.gallery import Gallery
from sketch_model.inference.occlusion import occlusion_map
from sketch_model.modelcard import SHIPPED, SHIPPED_MODELS, ModelCard
from testkit.drawings import ANIMALS, render_quickdraw
from testkit.models import STAND_IN


class CornerRuntime:
    """A stand-in network that answers "cat" by the ink in the drawing's top-left 9x9 corner
    and "dog" otherwise: nothing else in the drawing matters to it."""

    name = "corner"
    outputs = 2

    def single(self, x: np.ndarray) -> np.ndarray:
        return self.batch(x)[0]

    def batch(self, x: np.ndarray) -> np.ndarray:
        ink = np.asarray(x, np.float64).reshape(len(x), 28, 28)[:, :9, :9].mean(axis=(1, 2))
        cat = 1 / (1 + np.exp(-(ink / 10 - 2)))
        return np.stack([cat, 1 - cat], axis=1).astype(np.float32)


@pytest.fixture
def corner():
    return Classifier(CornerRuntime(), ModelCard(STAND_IN, {"classes": ["cat", "dog"]}))


def drawing_everywhere() -> np.ndarray:
    """Strokes all over the frame: a grid of lines every 4 pixels."""
    bitmap = np.zeros((28, 28), np.uint8)
    bitmap[2::4, 1:27] = 255
    bitmap[1:27, 2::4] = 255
    return bitmap


def test_occlusion_lights_the_corner_the_answer_depends_on(corner):
    bitmap = drawing_everywhere()
    assert corner.classify(bitmap).best.label == "cat"
    heat = occlusion_map(corner, bitmap, "cat")
    assert heat.shape == (28, 28) and heat.dtype == np.float32
    assert heat.max() == pytest.approx(1.0) and heat.min() >= 0.0
    rest = np.ones((28, 28), bool)
    rest[:9, :9] = False
    assert heat[:9, :9].mean() > 4 * heat[rest].mean(), "the corner is lit"
    assert heat[14:, 14:].max() == 0.0, "the far side does not matter to this model"
    assert all(index < 9 for index in np.unravel_index(heat.argmax(), heat.shape))


def test_occlusion_of_a_class_the_drawing_does_not_support_is_dark(corner):
    """Hiding ink only ever raises "dog" here: no part pushed the answer towards it."""
    heat = occlusion_map(corner, drawing_everywhere(), "dog")
    assert heat.max() == 0.0


def test_a_blank_corner_and_a_blank_drawing_give_no_heat(corner):
    bitmap = drawing_everywhere()
    bitmap[:12, :12] = 0
    assert occlusion_map(corner, bitmap, "cat")[:12, :12].max() == 0.0
    assert occlusion_map(corner, np.zeros((28, 28), np.uint8), "cat").max() == 0.0


def test_an_explanation_without_a_gallery_has_the_heat_map_only(corner):
    bitmap = drawing_everywhere()
    why = explain(corner, None, bitmap, corner.classify(bitmap))
    assert why.label == "cat" and why.others == {} and why.weighed == ()
    assert np.array_equal(why.heatmap, occlusion_map(corner, bitmap, "cat"))


# --- the shipped galleries ----------------------------------------------------------------------

@pytest.fixture(scope="module", params=SHIPPED_MODELS)
def shipped_gallery(request):
    from sketch_model.inference.classifier import load_classifier

    classifier = load_classifier(SHIPPED / f"{request.param}.keras")
    gallery = Gallery.load(classifier.card)
    assert gallery is not None, "each shipped model travels with its gallery"
    return classifier, gallery


def test_the_nearest_drawings_of_a_gallery_drawing_are_itself_first(shipped_gallery):
    classifier, gallery = shipped_gallery
    rng = np.random.default_rng(29)
    for row in rng.choice(len(gallery.labels), 40, replace=False):
        label = gallery.classes[gallery.labels[row]]
        nearest = gallery.nearest(gallery.vector(gallery.bitmaps[row]), label, 6)
        assert nearest[0] == row, (label, row, nearest)
        assert len(nearest) == 6 and len(set(nearest)) == 6
        assert all(gallery.labels[r] == gallery.labels[row] for r in nearest)


def test_a_shipped_gallery_is_small_and_has_each_class(shipped_gallery):
    classifier, gallery = shipped_gallery
    entry = classifier.metadata["gallery"]
    assert entry["bytes"] == classifier.card.gallery_path.stat().st_size < 0.5 * 2**20
    assert entry["features_bytes"] == classifier.card.features_path.stat().st_size
    counts = {label: len(gallery.rows_of[label]) for label in classifier.labels}
    assert counts == entry["per_class"]
    assert all(32 <= count <= 64 for count in counts.values()), counts
    assert "other" not in {gallery.classes[i] for i in gallery.labels}
    assert "CC BY 4.0" in entry["data"]


def test_the_explanation_of_a_hand_drawn_animal_weighs_two_classes(shipped_gallery):
    classifier, gallery = shipped_gallery
    bitmap = render_quickdraw(ANIMALS["fish"]())
    prediction = classifier.classify(bitmap)
    why = explain(classifier, gallery, bitmap, prediction)
    assert why.weighed == tuple(g.label for g in prediction.ranking[:WEIGHED])
    assert list(why.others) == [g.label for g in prediction.ranking]
    assert all(len(rows) == 6 for rows in why.others.values())
    assert why.label == prediction.best.label


# --- a gallery that does not fit is left out ------------------------------------------------------

def test_a_missing_stale_or_damaged_gallery_is_left_out(tmp_path, caplog):
    source = ModelCard.read(SHIPPED / "animals.keras")
    card = ModelCard(tmp_path / "animals.keras", dict(source.metadata))
    card.path.write_bytes(source.path.read_bytes())
    assert Gallery.load(card) is None, "no gallery files beside it"
    card.gallery_path.write_bytes(source.gallery_path.read_bytes())
    card.features_path.write_bytes(source.features_path.read_bytes())
    assert Gallery.load(card) is not None
    card.metadata["gallery"] = {**card.metadata["gallery"], "keras_sha256": "0" * 64}
    assert Gallery.load(card) is None, "made from another version of the model"
    card.metadata["gallery"] = source.metadata["gallery"]
    card.gallery_path.write_bytes(b"not a gallery")
    with caplog.at_level(logging.WARNING):
        assert Gallery.load(card) is None
    assert "served without it" in caplog.text
