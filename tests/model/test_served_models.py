"""Which models the app serves (``modelcard.served_model_paths``): $SKETCHBOOK_MODELS (else both
shipped models) and $SKETCHBOOK_MODEL (the default, served first), names or paths, each once."""

import pytest

from sketch_model.modelcard import (DEFAULT_MODEL, SHIPPED, SHIPPED_MODELS, ModelError,
                                    model_path, served_model_paths)

ANIMALS, ZOO = SHIPPED / "animals.keras", SHIPPED / "zoo.keras"


@pytest.fixture(autouse=True)
def unset(monkeypatch):
    monkeypatch.delenv("SKETCHBOOK_MODEL", raising=False)
    monkeypatch.delenv("SKETCHBOOK_MODELS", raising=False)


def test_both_shipped_models_are_served_by_default_the_six_animals_first():
    assert SHIPPED_MODELS == ("animals", "zoo") and DEFAULT_MODEL == ANIMALS
    assert served_model_paths() == [ANIMALS, ZOO]
    assert all(path.is_file() for path in served_model_paths()), "both ship in the repository"


def test_a_shipped_model_is_named_by_its_name(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert model_path("zoo") == ZOO and model_path("zoo.keras") == ZOO
    (tmp_path / "zoo.keras").write_bytes(b"a model of this folder")
    assert str(model_path("zoo")) == "zoo.keras", "a file here wins over the shipped one"
    assert str(model_path("nothing")) == "nothing.keras", "no such model: the error says where"


def test_the_default_comes_first_and_the_list_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SKETCHBOOK_MODEL", "zoo")
    assert served_model_paths() == [ZOO, ANIMALS]
    monkeypatch.setenv("SKETCHBOOK_MODELS", "zoo")
    assert served_model_paths() == [ZOO]
    monkeypatch.delenv("SKETCHBOOK_MODEL")
    monkeypatch.setenv("SKETCHBOOK_MODELS", "zoo animals")
    assert served_model_paths() == [ZOO, ANIMALS], "the first listed is the default"
    mine = tmp_path / "my models" / "birds.keras"
    monkeypatch.setenv("SKETCHBOOK_MODELS", f"'{mine}' animals")
    assert served_model_paths() == [mine, ANIMALS], "quoted as in a shell"


def test_a_model_of_one_s_own_is_served_beside_the_shipped_ones(monkeypatch, tmp_path):
    monkeypatch.setenv("SKETCHBOOK_MODEL", str(tmp_path / "fruit"))
    assert served_model_paths() == [tmp_path / "fruit.keras", ANIMALS, ZOO]
    assert served_model_paths(tmp_path / "veg", others=[]) == [tmp_path / "veg.keras"]
    assert served_model_paths("zoo", others=["zoo", ZOO, "zoo.keras"]) == [ZOO], \
        "one model named three ways is served once"


def test_two_models_of_one_name_are_refused(tmp_path):
    with pytest.raises(ModelError, match="Two models are named 'animals'"):
        served_model_paths(tmp_path / "animals", others=["animals"])


def test_an_unreadable_list_of_models_is_a_sentence(monkeypatch):
    monkeypatch.setenv("SKETCHBOOK_MODELS", "animals 'zoo")
    with pytest.raises(ModelError, match="SKETCHBOOK_MODELS cannot be read"):
        served_model_paths()
