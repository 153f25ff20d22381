"""The parts training is made of: the augmentation of doodles and the batch-norm recalibration."""

import numpy as np
import pytest

from sketch_model.facts import SHAPE, SIDE
from sketch_model.imaging.render import render_quickdraw

# A camel-ish outline: clearly not symmetric left to right, so a mirror image is told apart.
HUMPS = [[(0, 120), (40, 60), (80, 110), (120, 50), (170, 110), (230, 100), (250, 60)],
         [(20, 120), (20, 220)], [(200, 110), (200, 220)], [(250, 60), (255, 80)]]


@pytest.fixture(scope="module")
def doodle():
    return render_quickdraw(HUMPS).astype(np.float32)


def _centroid(image):
    rows, cols = np.mgrid[:SIDE, :SIDE]
    return (image * cols).sum() / image.sum(), (image * rows).sum() / image.sum()


def _transformed(image, **change):
    """``image`` through one ``augment.transforms`` row: no change but ``change``."""
    import tensorflow as tf

    from sketch_model.training.augment import resample, transforms

    values = {"angle": 0.0, "scale": 1.0, "mirror": False, "shift_x": 0.0, "shift_y": 0.0}
    values.update(change)
    row = transforms(**{k: tf.constant([v]) for k, v in values.items()},
                     height=float(SIDE), width=float(SIDE))
    return resample(image[np.newaxis, :, :, np.newaxis], row).numpy()[0, :, :, 0]


def test_transform_mirrors_rotates_shifts_and_zooms_about_the_centre(doodle):
    assert np.array_equal(_transformed(doodle), doodle)
    assert np.array_equal(_transformed(doodle, mirror=True), doodle[:, ::-1])
    right_down = _transformed(doodle, shift_x=2.0, shift_y=1.0)
    assert np.array_equal(right_down[1:, 2:], doodle[:-1, :-2])
    assert not right_down[:1].any() and not right_down[:, :2].any()
    quarter = _transformed(doodle, angle=np.pi / 2)  # clockwise, as seen on screen
    assert np.allclose(quarter, np.rot90(doodle, k=-1), atol=1e-3)
    half = _transformed(doodle, scale=2.0)  # half the size, about the centre
    assert np.allclose(_centroid(half), _centroid(doodle) + (13.5 - np.array(
        _centroid(doodle))) / 2, atol=0.3)
    assert 0.15 < half.sum() / doodle.sum() < 0.35


def test_augmentation_mirrors_half_and_keeps_the_drawing_in_place(doodle):
    from sketch_model.training.augment import augmenter

    batch = np.repeat(doodle[np.newaxis, :, :, np.newaxis], 400, axis=0)
    out = augmenter(seed=3)(batch).numpy()[..., 0]
    assert out.shape == (400, SIDE, SIDE) and out.min() >= 0 and out.max() <= 255
    as_is = [np.corrcoef(o.ravel(), doodle.ravel())[0, 1] for o in out]
    mirrored = [np.corrcoef(o.ravel(), doodle[:, ::-1].ravel())[0, 1] for o in out]
    assert 0.4 < np.mean(np.greater(mirrored, as_is)) < 0.6
    assert np.median(np.maximum(as_is, mirrored)) > 0.6  # changed a little, not scrambled
    x, y = _centroid(doodle)
    for cx, cy in map(_centroid, out):
        assert abs(cy - y) < 2.5 and min(abs(cx - x), abs(cx - (27 - x))) < 2.5
    ink = out.sum(axis=(1, 2)) / doodle.sum()
    assert ink.min() > 0.5 and ink.max() < 1.8 and ink.std() > 0.05  # lines thinner, thicker


def test_augmentation_resamples_once_so_lines_stay_sharp(doodle):
    """Every bilinear resampling softens lines. Measured by the energy of the differences
    between neighbouring pixels: resampled once, a drawing keeps about 45% of it; three
    resamplings in a row (rotate, then zoom, then shift) kept about 25%."""
    from sketch_model.training.augment import augmenter

    batch = np.repeat(doodle[np.newaxis, :, :, np.newaxis], 200, axis=0)
    out = augmenter(seed=5)(batch).numpy()

    def edges(images):
        return (np.square(np.diff(images, axis=1)).sum(axis=(1, 2, 3))
                + np.square(np.diff(images, axis=2)).sum(axis=(1, 2, 3)))

    assert np.median(edges(out) / edges(batch[:1])[0]) > 0.35


def test_augmentation_is_the_same_for_the_same_seed(doodle):
    from sketch_model.training.augment import augmenter

    batch = np.repeat(doodle[np.newaxis, :, :, np.newaxis], 8, axis=0)
    first, again = augmenter(seed=7)(batch).numpy(), augmenter(seed=7)(batch).numpy()
    other = augmenter(seed=8)(batch).numpy()
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_batch_norm_statistics_are_measured_layer_by_layer():
    import keras

    from sketch_model.training.batchnorm import recalibrate_batch_norm

    rng = np.random.default_rng(0)
    data = rng.normal(50.0, 20.0, (300, *SHAPE)).astype(np.float32)
    inputs = keras.Input(SHAPE)
    first = keras.layers.BatchNormalization()
    second = keras.layers.BatchNormalization()
    model = keras.Model(inputs, second(keras.layers.Rescaling(3.0)(first(inputs))))
    assert recalibrate_batch_norm(model, data) == 2
    assert np.allclose(first.moving_mean.numpy(), data.mean(), rtol=1e-4)
    assert np.allclose(first.moving_variance.numpy(), data.var(), rtol=1e-3)
    # The second layer sees the first one's output with the new statistics: data
    # normalised to mean 0 and variance 1, times 3.
    assert np.allclose(second.moving_mean.numpy(), 0.0, atol=1e-3)
    assert np.allclose(second.moving_variance.numpy(), 9.0, rtol=1e-2)
