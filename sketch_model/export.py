"""Export a trained ``.keras`` model to LiteRT, so the web app can serve it without TensorFlow.

    python -m sketch_model.export --model sketch_model/models/animals [--source DIR_OR_URL]

Writes ``<name>.tflite`` beside the model (``training.litert``). The command reloads the
model's training data from its metadata (``--source`` as in ``sketch_model.evaluate``) to
quantise and check the export on, then tunes and measures the export again: its unsure
thresholds and test metrics replace those in the metadata, since it is what people meet.
"""

from __future__ import annotations

import sys

from .evaluate import model_arguments
from .modelcard import ModelCard, ModelError
from .training.reload import reload_data


def main(argv: list[str] | None = None) -> int:
    args = model_arguments("python -m sketch_model.export", __doc__).parse_args(argv)

    import quickdraw

    from .training.finish import finish_model

    try:
        card = ModelCard.read(args.model)
        data = reload_data(card.metadata, args.source, args.strokes_source, args.cache,
                           holdout_strokes=True)
        finish_model(card.load_keras(), card, data)
    except (ModelError, quickdraw.QuickDrawError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    entry = card.metadata["litert"]
    print(f"saved {card.litert_path} ({card.litert_path.stat().st_size / 1e6:.2f} MB, "
          f"{entry['quantization']}): same top answer as the Keras model on "
          f"{entry['top_answer_agreement']:.1%} of {entry['checked_on']} validation drawings, "
          f"probabilities at most {entry['max_difference']:.2g} apart; metrics and tuning "
          f"updated in {card.json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
