"""The CNNs that classify 28x28 sketches.

Both take the dataset's bitmaps as they are (float32 in 0..255, ink bright on black, shape
28x28x1) and rescale inside the model, so the saved ``.keras`` file is the one source of truth
for input scaling.
"""

import keras
from keras import layers

from ..facts import SHAPE

INPUT_SHAPE = SHAPE
ARCHITECTURES = ("sketchnet", "baseline")


def build(arch: str, num_classes: int) -> keras.Model:
    """Return an uncompiled model of architecture ``arch`` with ``num_classes`` outputs."""
    if arch == "sketchnet":
        return sketchnet(num_classes)
    if arch == "baseline":
        return baseline(num_classes)
    raise ValueError(f"Unknown architecture {arch!r}: choose one of {', '.join(ARCHITECTURES)}.")


def sketchnet(num_classes: int) -> keras.Model:
    """Our network: three VGG-style blocks with batch norm, then global pooling.

    Doodles are thin lines whose evidence is spread over the whole frame, so the network keeps
    full resolution for two convolutions before pooling, and global average pooling keeps the
    parameter count (and the file) small: about 0.3 M weights, ~1.3 MB on disk.
    """
    inputs = keras.Input(shape=INPUT_SHAPE, name="bitmap")
    x = layers.Rescaling(1 / 255.0)(inputs)
    for filters, convs in ((32, 2), (64, 2), (128, 2)):
        for _ in range(convs):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        if filters < 128:
            x = layers.MaxPooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="sketchnet")


def baseline(num_classes: int) -> keras.Model:
    """The network of the Flask drawing app this project grew from, for comparison."""
    inputs = keras.Input(shape=INPUT_SHAPE, name="bitmap")
    x = layers.Rescaling(1 / 255.0)(inputs)
    x = layers.Conv2D(30, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(15, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="baseline")
