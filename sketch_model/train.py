"""Train a sketch classifier on QuickDraw categories and save it with its metadata.

    python -m sketch_model.train --recipe animals --out sketch_model/models/animals
    python -m sketch_model.train --classes giraffe camel octopus --other-classes house car \\
        --out runs/zoo

A recipe (``sketch_model/recipes/<name>.toml``, see ``recipe``) names everything a model is
trained on; options given beside it change that one setting. Without a recipe, the options
are the recipe. Writes ``<out>.keras``, ``<out>.json`` (classes, recipe, tuned decisions, test
metrics), ``<out>-confusion.png``, ``<out>-reliability.png`` and ``<out>.tflite`` (the LiteRT
export the web app serves). Any QuickDraw category names work; the data come through the
``quickdraw`` loader (``--source`` / QUICKDRAW_SOURCE for bitmaps, ``--strokes-source`` /
QUICKDRAW_STROKES_SOURCE for strokes: the official bucket, a mirror URL or local folders, each
option repeatable to read a category from several sources in order).

The drawings are held in memory, which is fastest where they fit; ``--stream`` reads the
training split from the cache files as it trains instead (``training.stream``). ``--strategy``
says where it trains: one device, every local GPU, or the workers of a ``TF_CONFIG`` cluster
(``training.distribute``). Each epoch is checkpointed (``--checkpoint``), so the same command
run again after a stop resumes where it was.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import quickdraw
from quickdraw.arguments import bounded

from .modelcard import ModelCard, ModelError, keras_path
from .training.distribute import STRATEGIES, check_strategy
from .training.recipe import OTHER_HEADS, Recipe, RecipeError, load_recipe
from .training.stream import SHUFFLE_BUFFER


def parse_args(argv=None) -> tuple[argparse.Namespace, Recipe]:
    parser = argparse.ArgumentParser(prog="python -m sketch_model.train",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", metavar="NAME_OR_PATH",
                        help="a recipe of sketch_model/recipes (e.g. animals) or a .toml file")
    parser.add_argument("--everything", action="store_true",
                        help="with --recipe: train on its held-out categories too (the model "
                             "to ship once the held-out ones have measured the recipe)")
    parser.add_argument("--classes", nargs="+", metavar="NAME",
                        help="QuickDraw categories the model recognises")
    parser.add_argument("--other-classes", nargs="*", metavar="NAME",
                        help="categories (bitmaps) pooled into an 'other' class, so the model "
                             "can say it is unsure about drawings of none of --classes")
    parser.add_argument("--other-strokes", nargs="*", metavar="NAME",
                        help="more 'other' categories, read as simplified strokes")
    parser.add_argument("--holdout-classes", nargs="*", metavar="NAME",
                        help="categories (bitmaps) never trained on, used only to measure how "
                             "often the model is unsure about unseen things")
    parser.add_argument("--holdout-strokes", nargs="*", metavar="NAME",
                        help="more held-out categories, read as simplified strokes")
    parser.add_argument("--scribbles", type=bounded("scribbles", 0), metavar="N",
                        help="add N synthetic scribbles and plain shapes to the 'other' class")
    parser.add_argument("--limit", type=bounded("limit", 1),
                        help=f"drawings per class at most (default {Recipe.limit})")
    parser.add_argument("--other-limit", type=bounded("other-limit", 1),
                        help="bitmaps per 'other' category at most "
                             f"(default {Recipe.other_limit})")
    parser.add_argument("--stroke-limit", type=bounded("stroke-limit", 1),
                        help="drawings per stroke category at most "
                             f"(default {Recipe.stroke_limit})")
    parser.add_argument("--arch", choices=("sketchnet", "baseline"),
                        help="sketchnet (ours, the default) or baseline (the original app's)")
    parser.add_argument("--other-heads", choices=OTHER_HEADS,
                        help="train 'other' as one class, or as one output per category, "
                             "summed into 'other' in the saved model (default: the recipe's)")
    parser.add_argument("--epochs", type=bounded("epochs", 1),
                        help="epochs of the cosine learning-rate schedule "
                             f"(default {Recipe.epochs})")
    parser.add_argument("--batch-size", type=bounded("batch-size", 1))
    parser.add_argument("--seed", type=bounded("seed", 0, 2**32 - 1),
                        help="decides the split and the init (default 1)")
    parser.add_argument("--measure-limit", type=bounded("measure-limit", 1), metavar="N",
                        help="validation and test drawings per category at most (default: "
                             "all); they are held in memory to tune and measure the model")
    parser.add_argument("--stream", action="store_true",
                        help="read the training split from the cache files as it trains "
                             "(tf.data), for data larger than memory; without it the drawings "
                             "are held in memory, which is faster where they fit")
    parser.add_argument("--shuffle-buffer", type=bounded("shuffle-buffer", 1), metavar="N",
                        default=SHUFFLE_BUFFER, help="with --stream: drawings shuffled at a "
                        f"time (default {SHUFFLE_BUFFER})")
    parser.add_argument("--steps-per-epoch", type=bounded("steps-per-epoch", 1), metavar="N",
                        help="with --stream: batches in an epoch (default: one pass over the "
                             "training split); the learning-rate schedule follows it")
    parser.add_argument("--strategy", choices=STRATEGIES, default="default",
                        help="one device (default), every local GPU (mirrored), or the cluster "
                             "of TF_CONFIG (multi-worker: run the same command on each worker)")
    parser.add_argument("--checkpoint", type=Path, metavar="DIR",
                        help="where a stopped run resumes from, written each epoch (default: "
                             "<out>.checkpoint; removed once the model is saved)")
    parser.add_argument("--out", required=True, type=Path,
                        help="output path without suffix, e.g. sketch_model/models/animals")
    parser.add_argument("--source", action="append",
                        help="QuickDraw source of bitmaps: base URL or local folder; repeat it "
                             "to read each category from several, in order (default: "
                             "QUICKDRAW_SOURCE or the official bucket)")
    parser.add_argument("--strokes-source", action="append",
                        help="QuickDraw source of simplified strokes; repeatable, as --source "
                             "(default: QUICKDRAW_STROKES_SOURCE or the official bucket)")
    parser.add_argument("--cache", help="QuickDraw cache folder (default: QUICKDRAW_CACHE)")
    parser.add_argument("--extra-source", action="append", default=[], type=Path,
                        metavar="DIR", help="a folder of drawings people taught (python -m "
                        "feedback export --out DIR), added to the training split; repeatable")
    args = parser.parse_args(argv)
    _warn_if_half_offline(args)
    if args.recipe is None and not args.classes:
        parser.error("give a --recipe or the --classes to recognise")
    if args.everything and args.recipe is None:
        parser.error("--everything goes with --recipe")
    if args.steps_per_epoch and not args.stream:
        parser.error("--steps-per-epoch goes with --stream (in memory, an epoch is one pass)")
    try:
        recipe = load_recipe(args.recipe, with_holdout=not args.everything) if args.recipe \
            else Recipe(classes=args.classes, name=keras_path(args.out).stem)
        if args.holdout_classes is not None or args.holdout_strokes is not None:
            recipe = recipe.with_holdout(args.holdout_classes or [], args.holdout_strokes or [])
        recipe = recipe.with_options(
            classes=args.classes, other_bitmaps=args.other_classes,
            other_strokes=args.other_strokes,
            scribbles=args.scribbles, limit=args.limit, other_limit=args.other_limit,
            stroke_limit=args.stroke_limit, arch=args.arch, other_heads=args.other_heads,
            epochs=args.epochs,
            batch_size=args.batch_size, seed=args.seed, measure_limit=args.measure_limit)
        check_strategy(args.strategy)
    except (RecipeError, ModelError) as error:
        parser.error(str(error))
    if recipe.other_heads == "categories" and args.stream:
        parser.error("'other' as its categories (other_heads) trains in memory: leave out "
                     "--stream, or train 'other' as one class with --other-heads one")
    return args, recipe


def _warn_if_half_offline(args: argparse.Namespace) -> None:
    """One source a local folder and the other the official bucket is most likely a
    forgotten option: say so before hundreds of files are asked of the network."""
    bitmaps = quickdraw.config.source(args.source)
    strokes = quickdraw.config.strokes_source(args.strokes_source)
    online = [any(s.startswith(("http://", "https://")) for s in kind)
              for kind in (bitmaps, strokes)]
    if online[0] != online[1]:
        print(f"note: bitmaps come from {' + '.join(bitmaps)} and strokes from "
              f"{' + '.join(strokes)} (set "
              "--source and --strokes-source, or QUICKDRAW_SOURCE and "
              "QUICKDRAW_STROKES_SOURCE, to use one place for both)", file=sys.stderr)


def main(argv=None) -> int:

    args, recipe = parse_args(argv)
    try:
        recipe.validate_names()  # fail in a second, before TensorFlow loads
        return train(recipe, args)
    except (quickdraw.QuickDrawError, ModelError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def train(recipe: Recipe, args: argparse.Namespace) -> int:
    # --- setup
    import keras

    from .training import distribute, network
    from .training.augment import augmenter
    from .training.batchnorm import recalibrate_batch_norm
    from .training.checkpoint import Checkpoint
    from .training.dataset import SPLITS, in_memory_batches, load_dataset
    from .training.finish import finish_model
    from .training.heads import class_weights, head_labels, head_names, merged
    from .training.stream import load_streamed, training_batches

    cluster = distribute.connect(args.strategy)  # first: a cluster forms before other work
    keras.utils.set_random_seed(recipe.seed)
    started = time.monotonic()
    print(f"training on {cluster.describe()}")
    path = keras_path(args.out)
    checkpoint = Checkpoint(args.checkpoint or path.with_suffix(".checkpoint"), cluster.chief)
    checkpoint.prepare(run_identity(recipe, args))  # the chief; the others wait for it
    cluster.barrier()
    resumed, finished = checkpoint.epochs_done(), checkpoint.finished()
    if finished:
        print(f"{checkpoint.folder} holds this run's trained weights: finishing it")
    elif resumed:
        print(f"resuming from {checkpoint.folder}: {resumed} epochs done (remove it to start "
              "again)")

    # --- data
    sources = {"source": args.source, "strokes_source": args.strokes_source,
               "cache": args.cache, "extra_sources": args.extra_source}
    if args.stream:
        streamed = load_streamed(recipe, holdout_strokes=True, **sources)
        data, train_count = streamed.data, streamed.train_count
    else:
        data = load_dataset(recipe, holdout_strokes=True, **sources)
        train_count = len(data.y["train"])
    for label, counts in data.counts.items():
        print(f"{label:>12}: " + ", ".join(f"{counts[s]} {s}" for s in SPLITS))
    print(f"'other' from {len(recipe.other_bitmaps)} bitmap and {len(recipe.other_strokes)} "
          f"stroke categories; held out: {', '.join(recipe.holdout) or 'none'}")
    if data.taught:
        print("taught drawings in the training split: " + ", ".join(
            f"{count} {name}" for name, count in data.taught.items()))
    classes = data.classes
    by_category = recipe.other_heads == "categories"  # else "other" is one output
    heads = head_names(data) if by_category else classes
    labels = {split: head_labels(data, split) if by_category else data.y[split]
              for split in ("train", "validation")}
    if by_category:
        print(f"'other' trained as {len(heads) - len(classes) + 1} named categories")
    augment = augmenter(recipe.seed + resumed)  # a resumed run does not replay its start
    if args.stream:  # classes balanced by sampling
        train_set = training_batches(streamed, batch_size=recipe.batch_size, seed=recipe.seed,
                                     augment=augment, shuffle_buffer=args.shuffle_buffer,
                                     workers=cluster.workers, worker=cluster.worker,
                                     first_epoch=resumed)
        steps_per_epoch = args.steps_per_epoch or max(1, train_count // recipe.batch_size)
        class_weight = None
    else:  # classes balanced by weighting the loss (each head weighs as its class)
        train_set, steps_per_epoch = in_memory_batches(data, recipe, augment, cluster.workers,
                                                       cluster.worker, seed=recipe.seed + resumed,
                                                       labels=labels["train"])
        class_weight = class_weights(data, heads)
    validation = (data.x["validation"].astype(np.float32), labels["validation"])

    # --- model
    steps = (steps_per_epoch or int(np.ceil(train_count / recipe.batch_size))) * recipe.epochs
    with cluster.strategy.scope():
        model = network.build(recipe.arch, len(heads))
        schedule = keras.optimizers.schedules.CosineDecay(  # warm up one epoch, then anneal
            1e-4, decay_steps=steps, warmup_target=3e-3, warmup_steps=steps // recipe.epochs)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    distribute.prepare_model(model, cluster)

    # --- train
    trained_before = finished is not None
    if not trained_before:
        model.fit(
            train_set, validation_data=validation, epochs=recipe.epochs, verbose=2,
            steps_per_epoch=steps_per_epoch,
            shuffle=False,  # train_set reshuffles itself every epoch
            class_weight=class_weight,
            # Validation loss jumps about while the learning rate is high, and the schedule's
            # gains come as it anneals: only the second half of the schedule may stop it.
            callbacks=[keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True,
                                                     start_from_epoch=recipe.epochs // 2),
                       *checkpoint.callbacks()])
    if not cluster.chief:
        print(f"worker {cluster.worker}: trained; the chief writes the model")
        cluster.barrier()
        return 0
    inference = network.build(recipe.arch, len(heads))  # uncompiled, outside the strategy
    if trained_before:
        checkpoint.load_trained(inference)
    else:
        inference.set_weights(model.get_weights())
        finished = {"resumed_after_epoch": resumed,
                    "strategy": args.strategy, "workers": cluster.workers,
                    "replicas": int(cluster.strategy.num_replicas_in_sync),
                    "steps_per_epoch": steps_per_epoch,
                    "seconds": round(time.monotonic() - started, 1)}
        checkpoint.save_trained(inference, finished)  # a rerun finishes from here
    # The batch-norm statistics came from augmented drawings; people's are not augmented.
    recalibrated = recalibrate_batch_norm(inference, data.x["train"])
    if by_category:  # served with one "other" column: the sum of its categories'
        inference = merged(inference, data)
    epochs = checkpoint.epochs()

    # --- save, with the export the web app serves
    path.parent.mkdir(parents=True, exist_ok=True)
    card = ModelCard.new(
        path, classes=classes, reject_class="other" if recipe.has_other else None,
        title=recipe.title or path.stem, architecture=recipe.arch, parameters=int(model.count_params()),
        trained_on={
            **recipe.to_metadata(),
            "source": quickdraw.config.source(args.source),
            "strokes_source": quickdraw.config.strokes_source(args.strokes_source),
            "drawings": data.counts,
            "taught": {"sources": [str(folder) for folder in args.extra_source],
                       "drawings": data.taught},  # in the training split only
            "split_sizes": {split: int(train_count if split == "train" else len(data.y[split]))
                            for split in SPLITS},
            "data": "Quick, Draw! dataset by Google, CC BY 4.0",
        },
        training={"epochs": len(epochs),
                  "best_val_loss": min((epoch["val_loss"] for epoch in epochs.values()
                                        if "val_loss" in epoch), default=None),
                  "batch_norm_recalibrated": recalibrated,  # layers, on clean drawings
                  "data": "streamed" if args.stream else "in memory",
                  **finished})  # where and how it trained, and for how long
    inference.save(path)
    finish_model(inference, card, data)
    checkpoint.remove()
    cluster.barrier()
    print(f"trained in {finished['seconds']:.0f} s, finished in "
          f"{time.monotonic() - started:.0f} s; saved {path} ({path.stat().st_size / 1e6:.2f} "
          f"MB), {card.json_path}, {card.litert_path} and its pictures")
    return 0


def run_identity(recipe: Recipe, args: argparse.Namespace) -> dict:
    """What a checkpoint must have been written by for this run to resume from it: the
    recipe, where its drawings come from, and the options that shape the training. (Where
    it runs may change: a cluster's run can resume on one machine.)"""
    return {"recipe": recipe.to_metadata(),
            "source": quickdraw.config.source(args.source),
            "strokes_source": quickdraw.config.strokes_source(args.strokes_source),
            "extra_sources": [str(folder) for folder in args.extra_source],
            "stream": args.stream, "steps_per_epoch": args.steps_per_epoch,
            "shuffle_buffer": args.shuffle_buffer if args.stream else None}


if __name__ == "__main__":
    sys.exit(main())
