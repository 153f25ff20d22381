"""What a model is trained on, as one saved object: its classes, what "other" is learned from,
what is held out to measure it, and how long it trains.

The shipped model's recipe is a file (``recipes/animals.toml``) that training, the README and
the benchmarks all read: ``python -m sketch_model.train --recipe animals``. A model trained
from any command line has a recipe too, written into its metadata (``trained_on``), so that
``evaluate`` and ``export`` reload exactly its drawings.

Held-out categories are drawn at random, once, from a fixed seed: ``holdout.animals`` animals
and ``holdout.things`` other things among the stroke categories, plus ``holdout.always``. A
held-out category is out of both kinds of data, bitmaps and strokes.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import quickdraw

RECIPES = Path(__file__).resolve().parent / "recipes"
ALL = "all"  # as a recipe's classes: every official category
OTHER_HEADS = ("one", "categories")  # "other" as one output, or one a category (``heads``)
# The share of the classes' validation drawings that tuning may leave "unsure" (its threshold
# is set so that no more are), unless a recipe says otherwise; below one half.
KNOWN_UNSURE = 0.04


class RecipeError(ValueError):
    """A recipe file or option that cannot be used; the message says why."""


@dataclass(frozen=True)
class Recipe:
    """Everything about a model's data and training that its metadata keeps."""

    classes: tuple[str, ...]
    limit: int | None = 20000  # drawings per class at most (None: all)
    other_bitmaps: tuple[str, ...] = ()  # "other" categories read from numpy_bitmap files
    other_limit: int = 1500  # drawings per such category at most
    animal_limit: int | None = None  # per such category that is an animal (None: other_limit)
    other_strokes: tuple[str, ...] = ()  # "other" categories read from simplified strokes
    stroke_limit: int = 25  # drawings per stroke category at most
    class_stroke_limit: int = 0  # stroke drawings per class too, where a stroke source has it
    scribbles: int = 0  # synthetic scribbles and plain shapes in "other"
    holdout: tuple[str, ...] = ()  # never trained on: measures "unsure" on unseen things
    holdout_bitmaps: tuple[str, ...] = ()  # those measured on bitmaps (the rest on strokes)
    holdout_limit: int = 1000  # bitmaps per held-out category at most (strokes: stroke_limit)
    measure_limit: int | None = None  # validation and test drawings per category at most
    animals: tuple[str, ...] = ()  # which other or held-out categories are animals (reports)
    excluded: tuple[str, ...] = ()  # left out altogether (kinds of the classes)
    seed: int = 1  # of the split, the augmentation and the initial weights
    arch: str = "sketchnet"
    other_heads: str = "one"  # "categories": "other" trained as its categories (``heads``)
    epochs: int = 20
    batch_size: int = 128
    known_unsure: float = KNOWN_UNSURE  # see KNOWN_UNSURE
    name: str = ""
    title: str = ""  # the model's name for people, on the pages' model switch ("Zoo (17)")
    holdout_draw: dict = field(default_factory=dict)  # how the held-out names were drawn

    def __post_init__(self) -> None:
        for name in ("classes", "other_bitmaps", "other_strokes", "holdout", "holdout_bitmaps",
                     "animals", "excluded"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for name in ("limit", "other_limit", "animal_limit", "stroke_limit", "holdout_limit",
                     "measure_limit", "epochs", "batch_size"):
            value = getattr(self, name)
            if value is None and name.endswith("limit"):
                continue  # every drawing there is
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise RecipeError(f"{name} must be a whole number of at least 1.")
        for name in ("scribbles", "class_stroke_limit"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise RecipeError(f"{name} must be a whole number, 0 or more.")
        if isinstance(self.known_unsure, bool) or \
                not isinstance(self.known_unsure, (int, float)) or \
                not 0 < self.known_unsure < 0.5:
            raise RecipeError("known_unsure must be a share above 0 and below 0.5, not "
                              f"{self.known_unsure!r}.")
        if self.other_heads not in OTHER_HEADS:
            raise RecipeError(f"other_heads must be one of {', '.join(OTHER_HEADS)}, not "
                              f"{self.other_heads!r}.")
        if len(self.classes) < 2:
            raise RecipeError("A model needs at least two classes.")
        if not set(self.holdout_bitmaps) <= set(self.holdout):
            raise RecipeError("holdout_bitmaps must be among the held-out categories.")
        groups = {"classes": self.classes, "other categories": self.other_bitmaps
                  + self.other_strokes, "held-out categories": self.holdout,
                  "excluded categories": self.excluded}
        seen: dict[str, str] = {}
        for group, names in groups.items():
            for name in names:
                if name in seen:
                    raise RecipeError(f"'{name}' is among the {seen[name]} and the {group}: "
                                      "a category may be used once.")
                seen[name] = group

    @property
    def categories(self) -> list[str]:
        """Every category the recipe reads, in order: classes, other, held out."""
        return [*self.classes, *self.other_bitmaps, *self.other_strokes, *self.holdout]

    @property
    def has_other(self) -> bool:
        return bool(self.other_bitmaps or self.other_strokes or self.scribbles)

    def validate_names(self) -> None:
        """Every name an official QuickDraw category (UnknownCategory otherwise, at once)."""
        for name in (*self.categories, *self.excluded):
            quickdraw.validate(name)

    def other_limit_of(self, name: str) -> int | None:
        """Bitmaps of the "other" category ``name`` at most: more of an animal, since other
        animals are what the model most often mistakes for its classes."""
        if name in self.animals and self.animal_limit is not None:
            return self.animal_limit
        return self.other_limit

    def held_out_animals(self) -> list[str]:
        return [name for name in self.holdout if name in self.animals]

    def held_out_things(self) -> list[str]:
        return [name for name in self.holdout if name not in self.animals]

    def to_metadata(self) -> dict:
        """The recipe as the JSON the model's metadata keeps under ``trained_on``."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in asdict(self).items()}

    @classmethod
    def from_metadata(cls, trained_on: dict) -> "Recipe":
        """The recipe of a model's metadata; also reads the keys of models trained before
        recipes (``other_classes``, ``holdout_classes``)."""
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in trained_on.items() if key in known}
        if "other_classes" in trained_on and "other_bitmaps" not in trained_on:
            values["other_bitmaps"] = trained_on["other_classes"]
        if "holdout_classes" in trained_on and "holdout" not in trained_on:
            values["holdout"] = values["holdout_bitmaps"] = trained_on["holdout_classes"]
            values["holdout_limit"] = trained_on.get("other_limit") or cls.holdout_limit
        try:
            return cls(**values)
        except TypeError as error:
            raise RecipeError(f"The model's metadata holds no usable recipe: {error}") from None

    def with_options(self, **options) -> "Recipe":
        """This recipe with the given fields changed (None leaves a field as it is)."""
        return replace(self, **{key: value for key, value in options.items()
                                if value is not None})

    def with_holdout(self, bitmaps=(), strokes=()) -> "Recipe":
        """This recipe measured on other held-out categories (``bitmaps`` read as bitmaps,
        ``strokes`` as strokes): the ones it held out join "other" again, read as before,
        and the new ones leave it."""
        held = set(bitmaps) | set(strokes)
        all_bitmaps = [*self.other_bitmaps, *self.holdout_bitmaps]
        all_strokes = [*self.other_strokes,
                       *(n for n in self.holdout if n not in self.holdout_bitmaps)]
        return replace(self, other_bitmaps=[n for n in all_bitmaps if n not in held],
                       other_strokes=[n for n in all_strokes if n not in held],
                       holdout=[*bitmaps, *strokes], holdout_bitmaps=list(bitmaps),
                       holdout_draw={})


def draw_holdout(candidates: list[str], animals: set[str], *, seed: int, animal_count: int,
                 thing_count: int) -> list[str]:
    """``animal_count`` animals and ``thing_count`` other things of ``candidates``, drawn at
    random from ``seed`` (the same for the same inputs), in alphabetical order."""
    pool_animals = sorted(name for name in candidates if name in animals)
    pool_things = sorted(name for name in candidates if name not in animals)
    if animal_count > len(pool_animals) or thing_count > len(pool_things):
        raise RecipeError(f"Cannot hold out {animal_count} animals and {thing_count} things "
                          f"from {len(pool_animals)} animals and {len(pool_things)} things.")
    rng = random.Random(seed)
    return sorted(rng.sample(pool_animals, animal_count) + rng.sample(pool_things, thing_count))


def load_recipe(spec: str | Path, *, with_holdout: bool = True) -> Recipe:
    """The recipe named ``spec`` (a file of ``recipes/``, e.g. "animals") or at path ``spec``.

    ``with_holdout=False`` gives the same recipe trained on everything: the held-out
    categories join "other" (as is usual for the model one ships after measuring).
    """
    path = Path(spec)
    if path.suffix != ".toml":
        path = RECIPES / f"{spec}.toml" if not path.parent.parts else path.with_suffix(".toml")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(sorted(p.stem for p in RECIPES.glob("*.toml")))
        raise RecipeError(f"There is no recipe {path} (the recipes are: {known}).") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise RecipeError(f"The recipe {path} cannot be read: {error}") from None
    try:
        return _resolve(raw, with_holdout, path.stem)
    except RecipeError as error:
        raise RecipeError(f"The recipe {path} cannot be used: {error}.") from None


# The settings a recipe file may hold, by table, and their types.
_NAMES, _COUNT, _SHARE = "a list of category names", "a whole number", "a number"
SETTINGS = {
    "": {"name": str, "title": str, "classes": _NAMES, "limit": _COUNT, "class_strokes": _COUNT,
         "seed": _COUNT, "other": dict, "holdout": dict, "animals": dict, "training": dict},
    "other": {"bitmaps": _NAMES, "limit": _COUNT, "animal_limit": _COUNT, "strokes": _NAMES,
              "stroke_limit": _COUNT, "scribbles": _COUNT, "excluded": _NAMES},
    "holdout": {"seed": _COUNT, "animals": _COUNT, "things": _COUNT, "always": _NAMES,
                "limit": _COUNT},
    "animals": {"names": _NAMES},
    "training": {"arch": str, "epochs": _COUNT, "batch_size": _COUNT, "measure_limit": _COUNT,
                 "other_heads": str, "known_unsure": _SHARE},
}


def _check(raw: dict) -> None:
    """Every setting known and of its type, so a misspelt one is not silently ignored."""
    if "classes" not in raw:
        raise RecipeError("it names no 'classes'")
    for table, known in SETTINGS.items():
        values = raw if not table else raw.get(table, {})
        if not isinstance(values, dict):
            raise RecipeError(f"[{table}] must be a table")
        for key, value in values.items():
            where = f"{table}.{key}" if table else key
            if key not in known:
                raise RecipeError(f"'{where}' is not a setting (known: {', '.join(known)})")
            kind = known[key]
            if where == "classes" and value == ALL:
                continue
            if kind == _NAMES:
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            elif kind == _COUNT:
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif kind == _SHARE:
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            else:
                ok, kind = isinstance(value, kind), f"a {kind.__name__}"
            if not ok:
                raise RecipeError(f"'{where}' must be {kind}")


def _resolve(raw: dict, with_holdout: bool, stem: str) -> Recipe:
    _check(raw)
    other, holdout, training = raw.get("other", {}), raw.get("holdout", {}), raw.get("training", {})
    classes = quickdraw.categories() if raw["classes"] == ALL else list(raw["classes"])
    excluded = set(other.get("excluded", []))
    animals = set(raw.get("animals", {}).get("names", []))
    bitmaps = [n for n in other.get("bitmaps", []) if n not in classes and n not in excluded]
    strokes = [n for n in other.get("strokes", []) if n not in classes and n not in excluded]
    always = list(holdout.get("always", []))
    drawn = draw_holdout([n for n in strokes if n not in always], animals,
                         seed=holdout.get("seed", 0), animal_count=holdout.get("animals", 0),
                         thing_count=holdout.get("things", 0))
    held = sorted(set(drawn) | set(always)) if with_holdout else []
    draw = {"seed": holdout.get("seed", 0), "animals": holdout.get("animals", 0),
            "things": holdout.get("things", 0), "always": always,
            "drawn": drawn} if with_holdout else {}
    return Recipe(
        name=raw.get("name", stem), title=raw.get("title", ""), classes=classes, limit=raw.get("limit", Recipe.limit),
        seed=raw.get("seed", Recipe.seed),
        other_bitmaps=[n for n in bitmaps if n not in held],
        other_limit=other.get("limit", Recipe.other_limit),
        animal_limit=other.get("animal_limit", Recipe.animal_limit),
        class_stroke_limit=raw.get("class_strokes", Recipe.class_stroke_limit),
        other_strokes=[n for n in strokes if n not in bitmaps and n not in held],
        stroke_limit=other.get("stroke_limit", Recipe.stroke_limit),
        scribbles=other.get("scribbles", 0),
        holdout=held, holdout_bitmaps=[n for n in held if n in bitmaps],
        holdout_limit=holdout.get("limit", Recipe.holdout_limit),
        animals=sorted(animals & set(bitmaps + strokes)), excluded=sorted(excluded),
        arch=training.get("arch", Recipe.arch),
        other_heads=training.get("other_heads", Recipe.other_heads),
        epochs=training.get("epochs", Recipe.epochs),
        batch_size=training.get("batch_size", Recipe.batch_size),
        known_unsure=training.get("known_unsure", Recipe.known_unsure),
        measure_limit=training.get("measure_limit", Recipe.measure_limit), holdout_draw=draw)
