"""Train a sketch classifier on QuickDraw categories and save it with its metadata.

    python -m sketch_model.train --classes cat dog fish bird octopus camel \\
        --other-classes airplane apple ... --holdout-classes book flower \\
        --limit 20000 --out sketch_model/models/animals

Writes ``<out>.keras``, ``<out>.json`` (classes, input, unsure threshold, training data, test
metrics), ``<out>-confusion.png`` and ``<out>.tflite`` (the LiteRT export the web app serves).
Any QuickDraw category names work; the data comes through the ``quickdraw`` loader
(``--source`` / QUICKDRAW_SOURCE: the official bucket, a mirror URL or a local folder).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import quickdraw

DEFAULT_LIMIT = 20000
DEFAULT_OTHER_LIMIT = 1500


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sketch_model.train",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--classes", nargs="+", required=True, metavar="NAME",
                        help="QuickDraw categories the model recognises")
    parser.add_argument("--other-classes", nargs="*", default=[], metavar="NAME",
                        help="categories pooled into an 'other' class, so the model can say "
                             "it is unsure about drawings of none of --classes")
    parser.add_argument("--holdout-classes", nargs="*", default=[], metavar="NAME",
                        help="categories never trained on, used only to measure how often "
                             "the model is unsure about unseen things")
    parser.add_argument("--scribbles", type=_not_negative, default=0, metavar="N",
                        help="add N synthetic scribbles and plain shapes to the 'other' class "
                             "(default 0)")
    parser.add_argument("--limit", type=_positive, default=DEFAULT_LIMIT,
                        help=f"drawings per class at most (default {DEFAULT_LIMIT})")
    parser.add_argument("--other-limit", type=_positive, default=DEFAULT_OTHER_LIMIT,
                        help="drawings per 'other' or held-out category at most "
                             f"(default {DEFAULT_OTHER_LIMIT})")
    parser.add_argument("--out", required=True, type=Path,
                        help="output path without suffix, e.g. sketch_model/models/animals")
    parser.add_argument("--arch", choices=("sketchnet", "baseline"), default="sketchnet",
                        help="sketchnet (ours) or baseline (the original app's network)")
    parser.add_argument("--epochs", type=_positive, default=20,
                        help="epochs of the cosine learning-rate schedule; in its second "
                             "half, training stops early if validation loss stalls for 5")
    parser.add_argument("--batch-size", type=_positive, default=128)
    parser.add_argument("--seed", type=int, default=1, help="decides the split and the init")
    parser.add_argument("--source", help="QuickDraw source: base URL or local folder "
                                         "(default: QUICKDRAW_SOURCE or the official bucket)")
    parser.add_argument("--cache", help="QuickDraw cache folder (default: QUICKDRAW_CACHE)")
    args = parser.parse_args(argv)
    names = args.classes + args.other_classes + args.holdout_classes
    if len(set(names)) != len(names):
        parser.error("a category may appear only once across --classes, --other-classes "
                     "and --holdout-classes")
    if len(args.classes) < 2:
        parser.error("--classes needs at least two categories")
    return args


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a whole number of at least 1")
    return value


def _not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be a whole number, 0 or more")
    return value


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        for name in args.classes + args.other_classes + args.holdout_classes:
            quickdraw.validate(name)  # fail in a second, before TensorFlow loads
        return train(args)
    except quickdraw.QuickDrawError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def train(args: argparse.Namespace) -> int:
    # --- setup
    import keras
    import tensorflow as tf

    from . import network
    from .augment import augmenter
    from .batchnorm import recalibrate_batch_norm
    from .classifier import Classifier
    from .export import export_litert
    from .runtimes import LiteRuntime
    from .dataset import OTHER, SPLITS, load_dataset
    from .evaluate import format_report, save_confusion_picture, tune_and_score

    keras.utils.set_random_seed(args.seed)
    started = time.monotonic()

    # --- data
    source = str(quickdraw.config.source(args.source))
    data = load_dataset(args.classes, limit=args.limit, seed=args.seed,
                        other_classes=args.other_classes, other_limit=args.other_limit,
                        holdout_classes=args.holdout_classes, scribbles=args.scribbles,
                        source=args.source, cache=args.cache)
    for label, counts in data.counts.items():
        print(f"{label:>12}: " + ", ".join(f"{counts[s]} {s}" for s in SPLITS))
    classes = data.classes
    counts = np.bincount(data.y["train"], minlength=len(classes))
    class_weight = {i: len(data.y["train"]) / (len(classes) * max(c, 1))
                    for i, c in enumerate(counts)}

    augment = augmenter(args.seed)
    train_set = (tf.data.Dataset.from_tensor_slices((data.x["train"], data.y["train"]))
                 .shuffle(len(data.y["train"]), seed=args.seed, reshuffle_each_iteration=True)
                 .batch(args.batch_size)
                 .map(lambda x, y: (augment(tf.cast(x, tf.float32)), y),
                      num_parallel_calls=tf.data.AUTOTUNE)
                 .prefetch(tf.data.AUTOTUNE))
    validation = (data.x["validation"].astype(np.float32), data.y["validation"])

    # --- model
    model = network.build(args.arch, len(classes))
    steps = int(np.ceil(len(data.y["train"]) / args.batch_size)) * args.epochs
    schedule = keras.optimizers.schedules.CosineDecay(  # warm up one epoch, then anneal to 0
        1e-4, decay_steps=steps, warmup_target=3e-3, warmup_steps=steps // args.epochs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    # --- train
    history = model.fit(
        train_set, validation_data=validation, epochs=args.epochs, verbose=2,
        shuffle=False,  # train_set reshuffles itself every epoch
        class_weight=class_weight,
        # Validation loss jumps about while the learning rate is high, and the schedule's
        # gains come as it anneals: only the second half of the schedule may stop it.
        callbacks=[keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True,
                                                 start_from_epoch=args.epochs // 2)])
    # The batch-norm statistics came from augmented drawings; people's are not augmented.
    recalibrated = recalibrate_batch_norm(model, data.x["train"])
    seconds = time.monotonic() - started

    # --- save, with the export the web app serves
    out = args.out.with_suffix("") if args.out.suffix == ".keras" else args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    path = out.with_name(out.name + ".keras")
    metadata = {
        "name": out.name,
        "classes": classes,
        "reject_class": OTHER if OTHER in classes else None,
        "input": {"shape": [28, 28, 1], "dtype": "float32", "range": [0, 255],
                  "ink": "bright (255) strokes on black (0), like QuickDraw numpy_bitmap",
                  "preprocess": "sketch_model.preprocess.to_bitmap"},
        "unsure_threshold": 0.0,
        "other_threshold": 1.0,
        "architecture": args.arch,
        "parameters": int(model.count_params()),
        "trained_on": {
            "classes": args.classes, "other_classes": args.other_classes,
            "holdout_classes": args.holdout_classes, "scribbles": args.scribbles,
            "limit": args.limit,
            "other_limit": args.other_limit, "seed": args.seed, "source": source,
            "drawings": data.counts,
            "split_sizes": {split: int(len(data.y[split])) for split in SPLITS},
            "data": "Quick, Draw! dataset by Google, CC BY 4.0",
        },
        "training": {"epochs": len(history.history["loss"]),
                     "best_val_loss": float(min(history.history["val_loss"])),
                     "batch_norm_recalibrated": recalibrated,  # layers, on clean drawings
                     "seconds": round(seconds, 1)},
    }
    inference = network.build(args.arch, len(classes))  # uncompiled: no optimizer state saved
    inference.set_weights(model.get_weights())
    inference.save(path)
    metadata["litert"] = export_litert(inference, path, data.x["train"], data.x["validation"])

    # --- evaluate the export: people meet it, so the threshold and test metrics are its own
    served = LiteRuntime(path.with_name(metadata["litert"]["file"]))
    classifier = Classifier(served, metadata, path)
    metrics = tune_and_score(classifier, data)  # also records the tuning in metadata
    metadata["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    path.with_suffix(".json").write_text(json.dumps(metadata, indent=2) + "\n")
    picture = out.with_name(out.name + "-confusion.png")
    save_confusion_picture(metrics, f"{out.name} ({args.arch}) on its test split", picture)
    print(format_report(metrics, metrics["rejection"], classifier.class_bias))
    print(f"trained in {seconds:.0f} s; saved {path} ({path.stat().st_size / 1e6:.2f} MB), "
          f"{path.with_suffix('.json')}, {path.with_suffix('.tflite')} and {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
