"""Re-estimate a trained network's batch-norm statistics on clean drawings.

During training, each batch-norm layer keeps running averages of its inputs' mean and variance,
and the model uses them when it classifies. Those averages come from augmented drawings, which
are resampled and so a little softer than the drawings the model is asked about: on the six
animals the first layer's variance on clean drawings was 2.5 times the running average. The
model then meets inputs it was not normalised for, and validation scores jump from epoch to
epoch. Measuring the statistics again on the clean training drawings ("precise BN", Wu and
Johnson, *Rethinking "Batch" in BatchNorm*, 2021) fixed it: on the model shipped before it,
test balanced accuracy (float, before class bias) went from 0.911 to 0.920 with no other change.
"""

from __future__ import annotations

import numpy as np

from ..facts import mirrored

BATCH = 256  # the first layer's inputs for 256 drawings take 26 MB
SAMPLE = 4096  # drawings, and as many mirror images


def recalibrate_batch_norm(model, bitmaps: np.ndarray, limit: int = SAMPLE) -> int:
    """Set every BatchNormalization layer's moving mean and variance of ``model`` to the
    mean and variance of its inputs over ``bitmaps`` (N, 28, 28, 1) and their mirror
    images, layer by layer in order, so each layer sees the ones before it already
    corrected. Returns the number of layers recalibrated.

    Mirror images count because the runtimes classify every drawing together with its
    mirror image. Evenly spaced rows, at most ``limit`` of them, are enough: each drawing
    gives hundreds of positions per channel, and every class is in the sample in its share.
    """
    import keras

    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers or not len(bitmaps):
        return 0
    for layer in layers:
        if layer.axis not in (-1, len(layer.input.shape) - 1):
            raise ValueError(f"{layer.name} normalises axis {layer.axis}; only channels-last "
                             "batch norm can be recalibrated here.")
    sample = bitmaps[::max(1, -(-len(bitmaps) // limit))]
    sample = np.concatenate([sample, mirrored(sample)])
    for layer in layers:
        inputs_of = keras.Model(model.input, layer.input)
        total = np.zeros(layer.moving_mean.shape, dtype=np.float64)
        squares = np.zeros_like(total)
        count = 0
        for start in range(0, len(sample), BATCH):
            batch = np.asarray(sample[start:start + BATCH], dtype=np.float32)
            values = np.asarray(inputs_of(batch, training=False))
            values = values.reshape(-1, values.shape[-1])
            total += values.sum(axis=0, dtype=np.float64)
            squares += np.square(values).sum(axis=0, dtype=np.float64)
            count += len(values)
        mean = total / count
        variance = np.maximum(squares / count - np.square(mean), 0.0)
        layer.moving_mean.assign(mean.astype(np.float32))
        layer.moving_variance.assign(variance.astype(np.float32))
    return len(layers)
