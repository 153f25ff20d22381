"""Score a model on its held-out test split, and print the report training prints.

    python -m sketch_model.evaluate --model sketch_model/models/animals [--source DIR_OR_URL]

The test split is rebuilt from the model's metadata (its recipe: categories, limits, seed), so
this re-evaluates exactly the drawings the saved metrics were computed on.
"""

from __future__ import annotations

import argparse
import sys

from .inference.classifier import load_classifier
from .modelcard import ModelError
from .training.reload import reload_data
from .training.metrics import measure
from .training.report import format_report


def model_arguments(prog: str, doc: str) -> argparse.ArgumentParser:
    """The parser of every command that works on a saved model and its drawings: ``--model``,
    and where its training data is (``reload_data``)."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0])
    parser.add_argument("--model", default=None,
                        help="model path, with or without .keras (default: the shipped model)")
    parser.add_argument("--source", action="append",
                        help="QuickDraw source of the model's bitmaps: base URL or local "
                             "folder; repeatable (default: those recorded at training)")
    parser.add_argument("--strokes-source", action="append",
                        help="QuickDraw source of the model's stroke drawings; repeatable "
                             "(default: those recorded at training)")
    parser.add_argument("--cache", help="QuickDraw cache folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = model_arguments("python -m sketch_model.evaluate", __doc__).parse_args(argv)

    import quickdraw

    try:
        classifier = load_classifier(args.model)
        data = reload_data(classifier.metadata, args.source, args.strokes_source, args.cache)
    except (ModelError, quickdraw.QuickDrawError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    metrics = measure(classifier, data)
    print(f"model {classifier.path} on {len(data.y['test'])} test drawings")
    print(format_report(metrics, classifier.class_bias))
    return 0


if __name__ == "__main__":
    sys.exit(main())
