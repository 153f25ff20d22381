"""Two ways to run a trained model; both answer with the mean over a drawing and its mirror.

People draw animals facing either way, and the average over both is steadier than either.

- ``LiteRuntime`` runs the LiteRT export (``<name>.tflite``, written by ``training.litert``)
  in LiteRT's interpreter. It is what the web app uses: no TensorFlow in the process, so the
  server starts in a fraction of a second, needs a fifth of the memory and, with the export's
  8-bit weights, answers in under half a millisecond.
- ``KerasRuntime`` runs the ``.keras`` model itself in TensorFlow: the source of truth, used
  for training and evaluation, and by the app for a model that has no up-to-date export.
"""

from __future__ import annotations

import queue
from pathlib import Path

import numpy as np

from ..facts import SHAPE as BITMAP
from ..facts import mirrored

SHAPE = (1, *BITMAP)  # the one drawing a runtime's single() takes


def mirror_averaged(model):
    """``model`` wrapped to take one drawing and answer the mean over it and its mirror image:
    what the app serves, traced by ``KerasRuntime`` and exported by ``training.litert``."""
    import keras

    inputs = keras.Input(batch_shape=SHAPE, name="bitmap")
    both = keras.ops.concatenate([inputs, keras.ops.flip(inputs, axis=2)], axis=0)  # mirrored
    outputs = keras.ops.mean(model(both, training=False), axis=0, keepdims=True)
    return keras.Model(inputs, outputs, name=f"{model.name}_mirror_averaged")


class KerasRuntime:
    """A Keras model, called through one traced graph for single drawings."""

    name = "keras"

    def __init__(self, model):
        import tensorflow as tf

        self.model = model
        self.outputs = int(model.output_shape[-1])
        # A concrete function of a fixed signature: no graph building and no retracing checks
        # per call, unlike model.predict (a loop made for big batches) or a polymorphic one.
        averaged = mirror_averaged(model)
        self._single = tf.function(
            lambda x: averaged(x, training=False)[0],
            input_signature=[tf.TensorSpec(SHAPE, tf.float32)]).get_concrete_function()
        self._constant = tf.constant
        self.single(np.zeros(SHAPE, np.float32))  # warm up now, not on the first request

    def single(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for one float32 bitmap of shape (1, 28, 28, 1)."""
        return self._single(self._constant(x)).numpy()

    def batch(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for float32 bitmaps of shape (N, 28, 28, 1), 512 at a time."""
        plain = self.model.predict(x, batch_size=512, verbose=0)
        flipped = self.model.predict(mirrored(x), batch_size=512, verbose=0)
        return (plain + flipped) / 2


class LiteRuntime:
    """A LiteRT export in interpreters, one per concurrent caller (an interpreter is not
    thread-safe; a pool lets the web server's threads each run their own)."""

    name = "litert"

    def __init__(self, path: Path, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        self._content = Path(path).read_bytes()
        self._make = lambda: Interpreter(model_content=self._content, num_threads=threads)
        self._idle: queue.SimpleQueue = queue.SimpleQueue()  # (interpreter, input, output)
        interpreter, _, _ = first = self._new()
        shape = tuple(interpreter.get_input_details()[0]["shape"])
        if shape != SHAPE:
            raise ValueError(f"{path} takes input of shape {shape}, not {SHAPE}")
        self.outputs = int(interpreter.get_output_details()[0]["shape"][-1])
        self._idle.put(first)
        self.single(np.zeros(SHAPE, np.float32))  # warm up now, not on the first request

    def _new(self):
        interpreter = self._make()
        interpreter.allocate_tensors()
        return (interpreter, interpreter.get_input_details()[0]["index"],
                interpreter.get_output_details()[0]["index"])

    def single(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for one float32 bitmap of shape (1, 28, 28, 1)."""
        try:
            taken = self._idle.get_nowait()
        except queue.Empty:
            taken = self._new()
        interpreter, source, target = taken
        try:
            interpreter.set_tensor(source, x)
            interpreter.invoke()
            return interpreter.get_tensor(target)[0].copy()
        finally:
            self._idle.put(taken)

    def batch(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for float32 bitmaps of shape (N, 28, 28, 1), one at a time (the
        export takes one drawing)."""
        return np.stack([self.single(row[np.newaxis]) for row in x]) if len(x) else \
            np.zeros((0, self.outputs), np.float32)
