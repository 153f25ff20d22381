"""``feedback.check_label``: the model's classes and the 345 Quick, Draw! names, however typed;
close names suggested for a typo; anything else refused with a sentence."""

import pytest

import quickdraw
from feedback import Rejected, check_label

CLASSES = ["cat", "dog", "fish", "bird", "octopus", "camel", "other"]


def refusal(text, classes=CLASSES) -> Rejected:
    with pytest.raises(Rejected) as refused:
        check_label(text, classes)
    assert refused.value.status == 400
    return refused.value


@pytest.mark.parametrize("typed, label", [
    ("camel", "camel"), ("Camel", "camel"), ("  OCTOPUS ", "octopus"),
    ("giraffe", "giraffe"), ("Sea Turtle", "sea turtle"), ("sea_turtle", "sea turtle"),
    ("sea   turtle", "sea turtle"), ("the eiffel tower", "The Eiffel Tower"),
    ("THE GREAT WALL OF CHINA", "The Great Wall of China"), ("t-shirt", "t-shirt"),
])
def test_classes_and_categories_in_any_case_and_spacing(typed, label):
    assert check_label(typed, CLASSES) == label


def test_every_category_is_a_label():
    for name in quickdraw.categories():
        assert check_label(name, []) == name
        assert check_label(name.upper(), CLASSES) == name


def test_a_class_of_the_model_that_is_no_category_is_a_label_as_the_model_spells_it():
    assert check_label("wibble", ["Wibble", "cat"]) == "Wibble"
    assert check_label("Cat", ["Cat"]) == "Cat"  # the model's spelling wins
    assert str(refusal("wibble")).startswith("There is no Quick, Draw! category called")


def test_a_typo_gets_the_close_names():
    assert str(refusal("girafe")) == ("There is no Quick, Draw! category called 'girafe'. "
                                      "Did you mean 'giraffe'?")
    assert str(refusal("Elefant")) == ("There is no Quick, Draw! category called 'Elefant'. "
                                       "Did you mean 'elephant'?")
    assert str(refusal("cta")) == ("There is no Quick, Draw! category called 'cta'. "
                                   "Did you mean 'cat' or 'car'?")
    assert "Did you mean 'octopus'?" in str(refusal("octopuss"))


def test_free_text_is_refused():
    assert str(refusal("my aunt's new hat")) == (
        "There is no Quick, Draw! category called 'my aunt's new hat'. Choose one of the "
        "model's classes or a Quick, Draw! category name.")
    # What was typed is quoted on one line, printable and short.
    shown = str(refusal("zz\n\x00" + "q" * 80))
    assert "\n" not in shown and "\x00" not in shown and "q" * 40 not in shown
    assert shown.startswith("There is no Quick, Draw! category called 'zz ")


@pytest.mark.parametrize("typed", ["other", "Other", " OTHER "])
def test_other_is_not_a_label(typed):
    assert str(refusal(typed)) == ("'other' is not something I can learn: say which Quick, "
                                   "Draw! category the drawing is.")
    assert str(refusal(typed, ["other"])).startswith("'other' is not")


@pytest.mark.parametrize("value, sentence", [
    (None, "The label must be text: the name of what you drew."),
    (3, "The label must be text: the name of what you drew."),
    ("", "The label is empty: say what you drew."),
    ("   ", "The label is empty: say what you drew."),
    ("x" * 101, ("The label is longer than 100 characters: say what you drew with the name "
                 "of a Quick, Draw! category.")),
])
def test_no_label_or_a_wrong_kind_of_label(value, sentence):
    assert str(refusal(value)) == sentence
