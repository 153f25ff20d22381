"""Random changes to training doodles that people's drawings really show.

People draw animals facing either way, a little tilted, a little off-centre, with a heavier or
lighter hand; the dataset's renderer already fixes size and line width, so the changes stay
small. Runs on batches inside ``tf.data``; nothing here is saved with the model.
"""

import keras
import tensorflow as tf
from keras import layers


def augmenter(seed: int):
    """Return a function: float32 batch (B, 28, 28, 1) in 0..255 -> augmented batch."""
    geometry = keras.Sequential([
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomRotation(0.025, fill_mode="constant", seed=seed + 1),  # about +-9 degrees
        layers.RandomZoom((-0.05, 0.08), fill_mode="constant", seed=seed + 2),
        layers.RandomTranslation(0.04, 0.04, fill_mode="constant", seed=seed + 3),  # +-1.1 px
    ], name="augment")
    generator = tf.random.Generator.from_seed(seed + 4)

    def augment(x):
        x = geometry(x, training=True)
        return tf.clip_by_value(_stroke_width(x, generator), 0.0, 255.0)

    return augment


def _stroke_width(x, generator):
    """Thicken or thin each drawing's lines by up to about half a pixel."""
    amount = generator.uniform((tf.shape(x)[0], 1, 1, 1), -0.3, 0.4)
    thicker = tf.nn.max_pool2d(x, 3, 1, "SAME")
    thinner = -tf.nn.max_pool2d(-x, 3, 1, "SAME")
    return tf.where(amount > 0, x + amount * (thicker - x), x - amount * (thinner - x))
