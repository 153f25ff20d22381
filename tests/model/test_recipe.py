"""Recipes: the shipped model's categories named in one place, and the held-out draw."""

import json

import pytest

import quickdraw
from sketch_model.training.recipe import Recipe, RecipeError, draw_holdout, load_recipe


@pytest.fixture(scope="module")
def recipe():
    return load_recipe("animals")


def test_the_shipped_recipe_holds_out_24_stroke_categories_and_book_flower_house(recipe):
    assert recipe.classes == ("cat", "dog", "fish", "bird", "octopus", "camel")
    drawn = recipe.holdout_draw["drawn"]
    assert len(drawn) >= 24 and len(set(drawn) & set(recipe.animals)) >= 6
    assert set(recipe.holdout) == set(drawn) | {"book", "flower", "house"}
    assert len(recipe.held_out_animals()) >= 6 and len(recipe.held_out_things()) >= 18
    assert {"book", "flower", "house"} <= set(recipe.holdout_bitmaps)
    trained = set(recipe.classes) | set(recipe.other_bitmaps) | set(recipe.other_strokes)
    assert not set(recipe.holdout) & trained and not set(recipe.excluded) & trained
    assert "animal migration" in recipe.excluded  # birds in flight: a kind of a class
    assert load_recipe("animals") == recipe  # drawn once: the same every time


def test_the_zoo_recipe_names_seventeen_animals_and_holds_out_others(recipe):
    zoo = load_recipe("zoo")
    assert zoo.classes == ("cat", "dog", "fish", "bird", "octopus", "camel", "frog", "horse",
                           "butterfly", "bee", "sea turtle", "snail", "bear", "lion",
                           "monkey", "rabbit", "sheep")
    assert zoo.title == "Zoo (17)" and recipe.title == "Six animals"
    assert zoo.holdout_draw["seed"] == 28 and zoo.holdout_draw["seed"] != \
        recipe.holdout_draw["seed"]
    animals = zoo.held_out_animals()
    assert len(animals) == 6 and not set(animals) & set(zoo.classes)
    assert len(zoo.held_out_things()) >= 18 + 3 and {"book", "flower", "house"} <= \
        set(zoo.holdout)
    trained = set(zoo.classes) | set(zoo.other_bitmaps) | set(zoo.other_strokes)
    assert not set(zoo.holdout) & trained and not set(zoo.excluded) & trained
    assert {"animal migration", "teddy-bear"} <= set(zoo.excluded)
    assert zoo.other_heads == "categories" and 0.04 < zoo.known_unsure <= 0.06
    assert load_recipe("zoo") == zoo  # drawn once: the same every time


@pytest.mark.parametrize("name", ["animals", "zoo"])
def test_every_category_of_the_mirror_is_trained_on_held_out_or_left_out(name,
                                                                          mirror_sources):
    """All four folders: each category is a class, "other", held out (then out of every
    folder, since a category's drawings are those of all its sources) or left out as a kind
    of a class; a category in both kinds is read as bitmaps, of both bitmap folders."""
    recipe = load_recipe(name)
    bitmap_folders, stroke_folders = mirror_sources
    bitmaps = {p.stem for folder in bitmap_folders for p in folder.glob("*.npy")}
    strokes = {p.name.removesuffix(".ndjson") for folder in stroke_folders
               for p in folder.glob("*.ndjson")}
    assert {"lion", "bear", "monkey", "rabbit", "sheep", "cookie"} <= bitmaps, "the new folders"
    assert set(recipe.classes) | set(recipe.other_bitmaps) | set(recipe.holdout_bitmaps) == \
        bitmaps - set(recipe.excluded)
    accounted = set(recipe.categories) | set(recipe.excluded)
    assert strokes <= accounted and bitmaps <= accounted
    assert set(recipe.other_strokes) <= strokes and set(recipe.other_bitmaps) <= bitmaps
    assert not set(recipe.other_strokes) & bitmaps  # a category in both is read as bitmaps
    assert set(recipe.holdout) - set(recipe.holdout_bitmaps) <= strokes - bitmaps
    recipe.validate_names()


def test_the_classes_stroke_drawings_and_the_new_animals_are_read(recipe, mirror_sources):
    """The -more folders' drawings of the classes go to the classes (all of them), and the
    new animals to "other", up to the animal limit, which takes all the mirror has of most."""
    _, stroke_folders = mirror_sources
    for name in recipe.classes:
        lines = sum(len((folder / f"{name}.ndjson").read_bytes().splitlines())
                    for folder in stroke_folders if (folder / f"{name}.ndjson").is_file())
        assert lines <= recipe.class_stroke_limit
    new_animals = {"bear", "lion", "monkey", "sheep"}
    assert new_animals <= set(recipe.other_bitmaps) and new_animals <= set(recipe.animals)
    assert all(recipe.other_limit_of(name) == recipe.animal_limit >= 800
               for name in new_animals)
    assert recipe.other_limit_of("apple") == recipe.other_limit
    assert {"ant", "bat", "cow"} <= set(recipe.other_strokes) and recipe.stroke_limit >= 125


def test_everything_puts_the_held_out_categories_back_into_other(recipe):
    everything = load_recipe("animals", with_holdout=False)
    assert everything.holdout == () and everything.holdout_draw == {}
    assert set(everything.other_bitmaps) == set(recipe.other_bitmaps) | set(
        recipe.holdout_bitmaps)
    assert set(everything.other_strokes) == set(recipe.other_strokes) | (
        set(recipe.holdout) - set(recipe.holdout_bitmaps))
    assert everything.classes == recipe.classes and everything.seed == recipe.seed


def test_the_draw_is_seeded_stratified_and_bounded():
    names = [f"thing {i}" for i in range(40)] + [f"animal {i}" for i in range(10)]
    animals = {n for n in names if n.startswith("animal")}
    first = draw_holdout(names, animals, seed=3, animal_count=4, thing_count=6)
    assert first == draw_holdout(list(reversed(names)), animals, seed=3, animal_count=4,
                                 thing_count=6)
    assert first != draw_holdout(names, animals, seed=4, animal_count=4, thing_count=6)
    assert len(set(first) & animals) == 4 and len(first) == 10 and first == sorted(first)
    with pytest.raises(RecipeError, match="11 animals"):
        draw_holdout(names, animals, seed=3, animal_count=11, thing_count=0)


def test_metadata_keeps_the_recipe_and_gives_it_back(recipe):
    again = Recipe.from_metadata(json.loads(json.dumps(recipe.to_metadata())))
    assert again == recipe
    old = Recipe.from_metadata({"classes": ["cat", "dog"], "other_classes": ["apple"],
                                "holdout_classes": ["book"], "limit": 300, "other_limit": 150,
                                "scribbles": 90, "seed": 2, "source": "x"})
    assert old.other_bitmaps == ("apple",) and old.holdout == old.holdout_bitmaps == ("book",)
    assert old.holdout_limit == 150 and old.seed == 2 and old.scribbles == 90


@pytest.mark.parametrize("fields, words", [
    ({"classes": ["cat"]}, "at least two classes"),
    ({"classes": ["cat", "dog"], "other_bitmaps": ["cat"]}, "'cat' is among the classes"),
    ({"classes": ["cat", "dog"], "holdout": ["book"], "other_strokes": ["book"]},
     "'book' is among the other categories and the held-out"),
    ({"classes": ["cat", "dog"], "limit": 0}, "limit must be"),
    ({"classes": ["cat", "dog"], "scribbles": -1}, "scribbles must be"),
    ({"classes": ["cat", "dog"], "holdout_bitmaps": ["book"]}, "holdout_bitmaps"),
    ({"classes": ["cat", "dog"], "known_unsure": 0.5}, "known_unsure must be"),
    ({"classes": ["cat", "dog"], "known_unsure": 0}, "known_unsure must be"),
    ({"classes": ["cat", "dog"], "known_unsure": True}, "known_unsure must be"),
])
def test_a_recipe_that_cannot_be_used_says_why(fields, words):
    with pytest.raises(RecipeError, match=words):
        Recipe(**fields)


def test_recipe_files_that_cannot_be_read(tmp_path):
    with pytest.raises(RecipeError, match=r"no recipe .*the recipes are: animals, everything, "
                                          "zoo"):
        load_recipe("aquarium")
    broken = tmp_path / "broken.toml"
    broken.write_text("classes = [cat")
    with pytest.raises(RecipeError, match="cannot be read"):
        load_recipe(broken)
    nameless = tmp_path / "nameless.toml"
    nameless.write_text("limit = 5\n")
    with pytest.raises(RecipeError, match="'classes'"):
        load_recipe(nameless)
    small = tmp_path / "small.toml"
    small.write_text('classes = ["cat", "dog"]\n[other]\nstrokes = ["ant", "bee"]\n'
                     '[holdout]\nthings = 1\nseed = 2\n[training]\nepochs = 3\n'
                     'known_unsure = 0.05\n')
    recipe = load_recipe(small)
    assert recipe.name == "small" and recipe.epochs == 3 and len(recipe.holdout) == 1
    assert recipe.known_unsure == 0.05 and Recipe(classes=["a", "b"]).known_unsure == 0.04
    assert set(recipe.holdout) | set(recipe.other_strokes) == {"ant", "bee"}


@pytest.mark.parametrize("text, words", [
    ('classes = ["cat", "dog"]\nlimt = 5\n', "'limt' is not a setting"),
    ('classes = ["cat", "dog"]\n[other]\nstroke = ["ant"]\n', "'other.stroke' is not a setting"),
    ('classes = ["cat", "dog"]\n[holdout]\nseed = "abc"\n', "'holdout.seed' must be a whole"),
    ('classes = "cat"\n', "'classes' must be a list of category names"),
    ('classes = ["cat", "dog"]\nother = 3\n', "'other' must be a dict"),
    ('classes = ["cat", "dog"]\n[training]\nknown_unsure = "5%"\n',
     "'training.known_unsure' must be a number"),
])
def test_a_misspelt_or_mistyped_setting_is_refused(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(RecipeError, match=words):
        load_recipe(path)


def test_other_held_out_categories_put_the_recipes_own_back_into_other(recipe):
    changed = recipe.with_holdout(["apple"], ["yoga"])
    assert changed.holdout == ("apple", "yoga") and changed.holdout_bitmaps == ("apple",)
    assert {"book", "flower", "house"} <= set(changed.other_bitmaps)  # bitmaps stay bitmaps
    assert set(recipe.holdout) - set(recipe.holdout_bitmaps) <= set(changed.other_strokes)
    assert "apple" not in changed.other_bitmaps and "yoga" not in changed.other_strokes
    assert len(changed.categories) == len(recipe.categories)


def test_the_scale_recipe_is_every_official_category(tmp_path):
    everything = load_recipe("everything")
    assert list(everything.classes) == quickdraw.categories() and len(everything.classes) == 345
    assert not everything.has_other and everything.measure_limit == 500
    spelt = tmp_path / "some.toml"
    spelt.write_text('classes = "every"\n')
    with pytest.raises(RecipeError, match="'classes' must be"):
        load_recipe(spelt)
