"""A saved model's drawings again: the same split of the same categories, from the recipe its
metadata keeps (``trained_on``), for ``evaluate`` and ``export``. In memory, or streamed for a
model trained on streamed data (``stream``). Kept apart from both, so that imports run one
way: ``stream`` builds on ``dataset``, and this module on both.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..modelcard import ModelError
from .dataset import Dataset, load_dataset
from .recipe import Recipe, RecipeError
from .stream import load_streamed


def reload_data(metadata: dict, source=None, strokes_source=None, cache=None,
                holdout_strokes: bool = False) -> Dataset:
    """The same drawings the model was trained and tested on, from its metadata's recipe
    (and the taught drawings it was trained with, where their folders still exist: they only
    ever join the training split). A model trained on streamed data gets them streamed
    (``stream.load_streamed``): its training split stays in the cache files."""
    if "trained_on" not in metadata:
        raise ModelError("The model's metadata does not say what it was trained on, so its "
                         "drawings cannot be reloaded.")
    trained = metadata["trained_on"]
    try:
        recipe = Recipe.from_metadata(trained)
    except RecipeError as error:
        raise ModelError(f"The model's metadata ('trained_on') cannot be read: {error}") from None
    extra = []
    for folder in (trained.get("taught") or {}).get("sources", []):
        if Path(folder).is_dir():
            extra.append(folder)
        else:
            print(f"warning: the taught drawings of {folder} are gone; the training split is "
                  "reloaded without them", file=sys.stderr)
    options = {"source": source or trained.get("source"),
               "strokes_source": strokes_source or trained.get("strokes_source"),
               "cache": cache, "holdout_strokes": holdout_strokes, "extra_sources": extra}
    if metadata.get("training", {}).get("data") == "streamed":  # too large to hold, maybe
        return load_streamed(recipe, **options).data
    return load_dataset(recipe, **options)
