"""Random changes to training doodles that people's drawings really show.

People draw animals facing either way, a little tilted, a little off-centre, with a heavier or
lighter hand; the dataset's renderer already fixes size and line width, so the changes stay
small. Runs on batches inside ``tf.data``; nothing here is saved with the model.

Mirror, rotation, zoom and shift are one affine transform per drawing, so each drawing is
resampled once: every bilinear resampling blurs a 28x28 doodle's lines a little more, and
three in a row (one per Keras preprocessing layer) made training drawings visibly softer than
the ones the model is asked about.
"""

import math

import tensorflow as tf

ROTATION = 9.0  # degrees, either way
ZOOM = (-0.05, 0.08)  # share of the frame sampled beyond it: <0 enlarges, >0 shrinks
SHIFT = 0.04  # share of the side, either way: about 1.1 px
STROKE = (-0.3, 0.4)  # thinner .. thicker, in parts of the 3x3 max (or min) filter


def augmenter(seed: int):
    """Return a function: float32 batch (B, 28, 28, 1) in 0..255 -> augmented batch."""
    generator = tf.random.Generator.from_seed(seed)

    def augment(x):
        x = resample(x, _random_transforms(generator, tf.shape(x)))
        return tf.clip_by_value(_stroke_width(x, generator), 0.0, 255.0)

    return augment


def resample(x, rows):
    """The batch ``x`` (B, H, W, 1) resampled once, bilinearly, through the ``transforms``
    rows; whatever comes from beyond the frame is blank paper (0)."""
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=rows, output_shape=tf.shape(x)[1:3], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="CONSTANT")


def _random_transforms(generator, shape):
    """One random mirror-rotate-zoom-shift per drawing of a batch of ``shape``."""
    batch = shape[0]
    height, width = tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
    return transforms(
        angle=generator.uniform((batch,), -1.0, 1.0) * (ROTATION * math.pi / 180),
        scale=1.0 + generator.uniform((batch,), *ZOOM),
        mirror=generator.uniform((batch,)) < 0.5,
        shift_x=generator.uniform((batch,), -SHIFT, SHIFT) * width,
        shift_y=generator.uniform((batch,), -SHIFT, SHIFT) * height,
        height=height, width=width)


def transforms(angle, scale, mirror, shift_x, shift_y, height, width):
    """The (B, 8) rows of ``ImageProjectiveTransformV3`` that mirror (where ``mirror``),
    rotate by ``angle`` radians clockwise on screen, shrink by ``scale`` (> 1 samples beyond
    the frame) about the frame's centre, then shift by whole or part pixels. Each row maps
    an output pixel back to the point of the input it is sampled from."""
    # input = centre + scale * mirror(rotate(-angle, output - centre - shift))
    sign = tf.where(mirror, -1.0, 1.0)
    cos, sin = tf.cos(angle) * scale, tf.sin(angle) * scale
    a0, a1 = sign * cos, sign * sin
    b0, b1 = -sin, cos
    cx, cy = (width - 1) / 2, (height - 1) / 2
    ox, oy = cx + shift_x, cy + shift_y
    a2 = cx - a0 * ox - a1 * oy
    b2 = cy - b0 * ox - b1 * oy
    zeros = tf.zeros_like(a0)
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def _stroke_width(x, generator):
    """Thicken or thin each drawing's lines by up to about half a pixel."""
    amount = generator.uniform((tf.shape(x)[0], 1, 1, 1), *STROKE)
    thicker = tf.nn.max_pool2d(x, 3, 1, "SAME")
    thinner = -tf.nn.max_pool2d(-x, 3, 1, "SAME")
    return tf.where(amount > 0, x + amount * (thicker - x), x - amount * (thinner - x))
