"""Fixtures of the web app's tests: tiny models that answer as chosen, apps and clients over
them, the drawings sent, and the production server.

The models are tiny Keras models (``testkit.models``). Some have a zero kernel and a chosen
bias, so their answer is the same for any drawing: that is how the "sure", "unsure" and
reject-class paths are tested without trained weights.
"""

import pytest
from PIL import Image

from sketch_model.inference.classifier import load_classifier
from sketch_model.training.recipe import load_recipe
from testkit import drawings
from testkit.drawings import ANIMALS, png_bytes
from testkit.models import make_tiny_model
from testkit.pngs import encoded
from testkit.server import ProductionServer
from web import create_app

ANIMAL_CLASSES = list(ANIMALS)  # the six animals, as the shipped model knows them


# --- models ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def animals_path(models_dir):
    """Untrained (random) weights over the six animals: any answer, any confidence."""
    return make_tiny_model(models_dir, ANIMAL_CLASSES, name="tiny-animals", seed=0,
                           unsure_threshold=0.3)


@pytest.fixture(scope="session")
def animals(animals_path):
    return load_classifier(animals_path)


def favouring(models_dir, favourite: str, shift: float, unsure_threshold: float):
    """A classifier over the six animals whose answer for any drawing leans to ``favourite``,
    ``shift`` ahead of every other animal in log probability."""
    bias = [shift if label == favourite else 0.0 for label in ANIMAL_CLASSES]
    path = make_tiny_model(models_dir, ANIMAL_CLASSES, name=f"{favourite}-by-{shift:g}",
                           bias=bias, seed=0, unsure_threshold=unsure_threshold)
    return load_classifier(path)


@pytest.fixture(scope="session")
def sure_cat(models_dir):
    """Answers "cat" for every drawing, about 98% sure."""
    return favouring(models_dir, "cat", 6.0, unsure_threshold=0.5)


@pytest.fixture(scope="session")
def unsure_octopus(models_dir):
    """Prefers "octopus" a little (about 26%), under its 50% threshold: always unsure."""
    return favouring(models_dir, "octopus", 0.5, unsure_threshold=0.5)


@pytest.fixture(scope="session")
def certain_cat(models_dir):
    """Answers "cat" for every drawing with a probability that rounds to 100%."""
    return favouring(models_dir, "cat", 30.0, unsure_threshold=0.0)


@pytest.fixture(scope="session")
def mostly_other(models_dir):
    """Three animals and an "other" reject class that always wins."""
    return load_classifier(make_tiny_model(models_dir, ["cat", "dog", "fish", "other"],
                                           name="with-other", reject_class="other",
                                           bias=[1.0, 0.5, 0.0, 4.0], seed=0,
                                           unsure_threshold=0.2))


@pytest.fixture(scope="session")
def zoo_lion(models_dir):
    """The zoo's seventeen animals and "other"; answers "lion" for every drawing, sure."""
    classes = [*load_recipe("zoo").classes, "other"]
    bias = [6.0 if label == "lion" else 0.0 for label in classes]
    return load_classifier(make_tiny_model(
        models_dir, classes, name="zoo-lion", reject_class="other", bias=bias, seed=0,
        unsure_threshold=0.5, title="Zoo (17)", accept_threshold=0.7))


@pytest.fixture(scope="session")
def fruit_path(models_dir):
    return make_tiny_model(models_dir, ["apple", "banana", "house"], name="fruit", seed=3,
                           unsure_threshold=0.0)


@pytest.fixture(scope="session")
def model_file(models_dir):
    """A tiny cat, dog and fish model, served by TensorFlow (it has no LiteRT export)."""
    return make_tiny_model(models_dir, name="tiny")


@pytest.fixture(scope="session")
def exported_model_file(models_dir):
    """The same with its LiteRT export: ``python app.py`` serves it from forked workers."""
    return make_tiny_model(models_dir, name="tiny-exported", export=True)


# --- apps and servers -----------------------------------------------------------------------

@pytest.fixture
def client_for():
    """Factory: a test client of an app serving this already loaded classifier."""

    def make(classifier, **config):
        return create_app({"CLASSIFIER": classifier, "TESTING": True, **config}).test_client()

    return make


@pytest.fixture
def client(client_for, animals):
    return client_for(animals)


@pytest.fixture(scope="session")
def production_server(exported_model_file, tmp_path_factory):
    """``python app.py`` with two gunicorn workers over the exported tiny model, shared by the
    tests that only send it requests; it must still be serving at the end."""
    log_path = tmp_path_factory.mktemp("production-server") / "server.log"
    with ProductionServer(exported_model_file, log_path) as running:
        yield running
        assert running.alive(), "the server died:\n" + running.log_tail(60)


# --- drawings -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def cat_png():
    return drawings.cat_png(400)


@pytest.fixture(scope="session")
def blank_png():
    return png_bytes(Image.new("RGBA", (400, 400), (0, 0, 0, 0)))


@pytest.fixture(scope="session")
def jpeg_bytes():
    return encoded(Image.new("RGB", (64, 64), "white"), "JPEG")
