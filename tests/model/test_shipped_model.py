"""The shipped models (sketch_model/models/animals, the default, and zoo): the quality each
one's metadata states, re-measured on its test split and held-out categories, and its answers
on drawings, hand-made and real, on a canvas as the app gets them."""

import itertools
from dataclasses import dataclass

import numpy as np
import pytest

import quickdraw
from sketch_model.facts import SIDE
from sketch_model.imaging.render import render_simplified
from sketch_model.imaging.restroke import to_bitmap
from sketch_model.inference.classifier import load_classifier
from sketch_model.modelcard import SHIPPED, SHIPPED_MODELS
from sketch_model.training.calibration import reliability
from sketch_model.training.dataset import class_strokes, split_ids
from sketch_model.training.recipe import Recipe, load_recipe
from testkit.drawings import (
    ANIMALS,
    canvas_from_bitmap,
    random_strokes,
    render_canvas,
    render_quickdraw,
)


@dataclass(frozen=True)
class Guards:
    """The least a shipped model may measure, each figure a little below what it reached, so
    that no retraining ships worse (the README's "The models" says what each one aimed at)."""

    balanced: float
    top3: float
    lowest_recall: float
    known_unsure: float  # its own classes' test drawings answered "unsure", at most
    ece: float
    things_unsure: float  # never-seen things answered "unsure", at least
    animals_unsure: float  # never-seen animals answered "unsure", at least


GUARDS = {
    # issue 27 aimed at 0.92, 0.99, 0.85, 5%, 0.03, 88% and 60%
    "animals": Guards(0.915, 0.985, 0.85, 0.05, 0.035, 0.85, 0.42),
    # issue 28 aimed at 0.82, 0.95, 0.65, 6%, 0.03, 85% and 50%
    "zoo": Guards(0.83, 0.945, 0.64, 0.06, 0.02, 0.82, 0.30),
}


@pytest.fixture(scope="module", params=SHIPPED_MODELS)
def shipped(request):
    """Each model a new user gets. Committed: missing is a failure, never a skip."""
    path = SHIPPED / f"{request.param}.keras"
    if not path.is_file():
        pytest.fail(f"the shipped model {path} is missing")
    return load_classifier(path)


def test_shipped_model_keeps_its_measured_quality(shipped):
    guards, metrics = GUARDS[shipped.name], shipped.metadata["metrics"]
    assert metrics["balanced_accuracy"] >= guards.balanced
    assert metrics["top3_accuracy"] >= guards.top3
    assert min(c["recall"] for c in metrics["per_class"].values()) >= guards.lowest_recall
    assert metrics["rejection"]["known_unsure_rate"] <= guards.known_unsure
    assert metrics["calibration"]["ece"] <= guards.ece
    assert shipped.path.stat().st_size < 2 * 1024 * 1024
    assert shipped.labels == list(load_recipe(shipped.name).classes)
    assert shipped.card.title == load_recipe(shipped.name).title


def test_canvas_drawings_get_the_answer_of_their_dataset_rendering(shipped):
    """Parity where it matters: the same strokes, drawn on any canvas, get the same answer:
    the same animal, or "unsure". (Which animal an unsure answer names as "maybe", and
    whether it is unsure as "unfamiliar" or as "low confidence", are left out: for a scribble
    that is none of the animals, both are near ties, at a few percent each.)"""
    def answer(prediction) -> str:
        return "unsure" if prediction.unsure else prediction.label

    sets = [make() for make in ANIMALS.values()] + [random_strokes(s) for s in range(14)]
    canvases = [(300, 2, 0.5), (400, 8, 0.7), (800, 16, 0.3), (600, 5, 0.25), (500, 12, 0.6)]
    same = [answer(shipped.classify(to_bitmap(render_canvas(strokes, c, pen, size))))
            == answer(shipped.classify(render_quickdraw(strokes)))
            for strokes, (c, pen, size) in itertools.product(sets, canvases)]
    print(f"\nsame answer as the dataset rendering: {np.mean(same):.1%} of {len(same)}")
    assert np.mean(same) >= 0.95


def test_hand_drawn_animals_are_recognised(shipped):
    for name, make in ANIMALS.items():
        prediction = shipped.classify(to_bitmap(render_canvas(make(), 400, 8, 0.7)))
        assert name in [g.label for g in prediction.ranking[:3]], (name, prediction.ranking)


def test_real_drawings_on_a_canvas_keep_their_label(shipped, mirror_sources, tmp_path):
    """Redrawn on a canvas, real drawings keep their answer, and are not called "unsure" much
    more often (synthetic "other" drawings must not teach the model our rendering's look)."""
    rng = np.random.default_rng(11)
    same, unsure = [], []
    for name in shipped.labels:
        rows = quickdraw.load(name, 900, source=mirror_sources[0], cache=tmp_path)
        for index in rng.choice(len(rows), 12, replace=False):
            original = np.asarray(rows[index]).reshape(SIDE, SIDE)
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


def test_never_seen_categories_are_unsure_as_measured(shipped, mirror_sources,
                                                     tmp_path_factory):
    """Rejection re-measured on the categories the shipped model never trained on (its recipe
    names them; each is out of all four folders): the figures its metadata states."""
    recipe = Recipe.from_metadata(shipped.metadata["trained_on"])
    trained = set(recipe.classes) | set(recipe.other_bitmaps) | set(recipe.other_strokes)
    assert len(recipe.holdout) >= 27 and not set(recipe.holdout) & trained
    assert len(recipe.held_out_animals()) >= 6
    bitmaps, strokes = mirror_sources
    cache = tmp_path_factory.mktemp("cache")
    rates = {}
    for name in recipe.holdout:
        rows = (quickdraw.load(name, recipe.holdout_limit, source=bitmaps, cache=cache)
                if name in recipe.holdout_bitmaps else render_simplified(quickdraw.load_strokes(
                    name, recipe.stroke_limit, source=strokes, cache=cache)))
        rates[name] = float(shipped.unsure(shipped.probabilities(rows)).mean())
    stated = shipped.metadata["metrics"]["rejection"]
    assert rates == pytest.approx(stated["holdout_unsure_rate_per_class"], abs=1e-9)
    things = np.mean([rates[n] for n in recipe.held_out_things()])
    animals = np.mean([rates[n] for n in recipe.held_out_animals()])
    assert things == pytest.approx(stated["holdout_things_unsure_rate"], abs=1e-9)
    assert animals == pytest.approx(stated["holdout_animals_unsure_rate"], abs=1e-9)
    print(f"\n{shipped.name} unsure: never-seen things {things:.1%}, never-seen animals "
          f"{animals:.1%}, its own animals {stated['known_unsure_rate']:.1%}")
    guards = GUARDS[shipped.name]
    assert things >= guards.things_unsure and animals >= guards.animals_unsure


def test_shipped_confidence_means_what_it_says(shipped, mirror_sources, tmp_path):
    """The expected calibration error on the classes' test split (their bitmaps of both
    folders and their stroke drawings), re-measured: what the metadata says, and small (of
    the answers given with 80%, about 80% are right)."""
    recipe = Recipe.from_metadata(shipped.metadata["trained_on"])
    bitmaps, strokes = mirror_sources
    confidence, correct = [], []
    for index, name in enumerate(shipped.labels):
        rows = quickdraw.load(name, recipe.limit, source=bitmaps, cache=tmp_path)
        if recipe.class_stroke_limit:
            rows = np.concatenate([rows, class_strokes(
                lambda: quickdraw.load_strokes(name, recipe.class_stroke_limit,
                                               source=strokes, cache=tmp_path), rows)])
        test = rows[split_ids(rows, recipe.seed) == 2]
        known = shipped.probabilities(test)[:, shipped.answer_columns]
        confidence.append(known.max(axis=1))
        correct.append(known.argmax(axis=1) == index)
    assert sum(map(len, correct)) == sum(
        c["support"] for c in shipped.metadata["metrics"]["per_class"].values())
    ece = reliability(np.concatenate(confidence), np.concatenate(correct))["ece"]
    assert ece == pytest.approx(shipped.metadata["metrics"]["calibration"]["ece"], abs=1e-9)
    assert ece <= GUARDS[shipped.name].ece
