"""Where training runs: one device, all local GPUs, or a cluster of workers (tf.distribute).

    --strategy default       one device (this machine's CPU, or its one GPU)
    --strategy mirrored      every local GPU (MirroredStrategy)
    --strategy multi-worker  the machines named in TF_CONFIG (MultiWorkerMirroredStrategy)

Every worker runs the same command with its own ``TF_CONFIG``, reads its own shard of the data
and takes part in every step; the chief (the task ``chief``, else worker 0) alone writes the
checkpoint (``checkpoint``) and the model files. The checkpoint folder must be one that every
worker can read (a shared disk), so that all of them resume from the same epoch.

Keras 3.15 trains with ``MultiWorkerMirroredStrategy`` once two of its steps are mended (its
open issue keras-team/keras#20585): building the model reduces a first batch across workers,
and the step's metrics are averaged across workers along an axis scalars do not have.
``_mend_keras_for_workers`` replaces those two with what they mean: the build takes this
worker's own batch (only its shapes matter), and each metric is averaged over the workers.
The multi-worker test trains through both.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from ..modelcard import ModelError

STRATEGIES = ("default", "mirrored", "multi-worker")


@dataclass
class Cluster:
    """The strategy to train under, and this process's place in it."""

    strategy: object
    workers: int = 1  # processes taking part
    worker: int = 0  # this one's index among them (0 is the chief)
    chief: bool = True  # this process writes the checkpoint and the model files

    def describe(self) -> str:
        replicas = self.strategy.num_replicas_in_sync
        if self.workers == 1:
            return f"{replicas} replica{'s' if replicas > 1 else ''} on this machine"
        role = "chief" if self.chief else "worker"
        return f"{self.workers} workers, {replicas} replicas; this is worker {self.worker} " \
               f"({role})"

    def barrier(self) -> None:
        """Wait until every worker gets here (a one-number all-reduce), so that no worker
        leaves while the chief still writes: the cluster would report it as crashed."""
        if self.workers > 1:
            import tensorflow as tf

            self.strategy.reduce("SUM", self.strategy.run(lambda: tf.constant(1.0)),
                                 axis=None)


def read_tf_config(text: str | None) -> tuple[int, int, bool]:
    """(workers, this worker's index, is chief) from a ``TF_CONFIG`` value; ModelError with a
    sentence if it cannot describe a cluster this process belongs to."""
    if not text:
        raise ModelError("--strategy multi-worker needs TF_CONFIG: the cluster's addresses and "
                         'this task, e.g. {"cluster": {"worker": ["host1:12345", '
                         '"host2:12345"]}, "task": {"type": "worker", "index": 0}}.')
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        chiefs = list(cluster.get("chief", []))
        workers = list(cluster.get("worker", []))
        kind, index = task["type"], task["index"]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ModelError("TF_CONFIG is not a cluster description: it must be JSON with "
                         '"cluster" (lists of "host:port" under "worker", and "chief" if '
                         'there is one) and "task" ("type" and "index").') from None
    members = {"chief": chiefs, "worker": workers}
    if len(chiefs) > 1:
        raise ModelError("TF_CONFIG names more than one chief; a cluster has at most one.")
    if kind not in members or not isinstance(index, int) or not 0 <= index < len(members[kind]):
        raise ModelError(f"TF_CONFIG's task ({kind!r}, index {index!r}) is not one of its "
                         f"cluster's {len(chiefs)} chief and {len(workers)} worker tasks.")
    place = index + (len(chiefs) if kind == "worker" else 0)
    return len(chiefs) + len(workers), place, place == 0


def check_strategy(name: str) -> None:
    """Fail at once (before TensorFlow loads) on a strategy this process cannot join."""
    if name == "multi-worker":
        read_tf_config(os.environ.get("TF_CONFIG"))


def connect(name: str) -> Cluster:
    """The strategy called ``name``; with "multi-worker", this process joins its cluster (it
    waits for the other workers). Must come before TensorFlow does any other work."""
    import tensorflow as tf

    if name == "default":
        return Cluster(tf.distribute.get_strategy())
    if name == "mirrored":
        return Cluster(tf.distribute.MirroredStrategy())
    if name == "multi-worker":
        workers, worker, chief = read_tf_config(os.environ.get("TF_CONFIG"))
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        return Cluster(strategy, workers, worker, chief)
    raise ModelError(f"Unknown strategy {name!r}; one of: {', '.join(STRATEGIES)}.")


def prepare_model(model, cluster: Cluster) -> None:
    """Ready a compiled ``model`` to train under ``cluster``."""
    if cluster.workers > 1:
        _mend_keras_for_workers(model, cluster.strategy)


def _mend_keras_for_workers(model, strategy) -> None:
    """The two mends of the module's docstring, for this model and this process."""
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    if not (hasattr(trainer, "reduce_per_replica") and hasattr(model, "_symbolic_build")
            and hasattr(trainer, "_collective_all_reduce_multi_worker")):
        raise ModelError("This Keras version is not the one multi-worker training was mended "
                         "and tested for (3.15); see sketch_model/training/distribute.py.")

    def local(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def symbolic_build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(local, next(batches))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    model._maybe_symbolic_build = symbolic_build
    if getattr(trainer.reduce_per_replica, "mended", False):
        return
    original = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(
                strategy):
            return tree.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None)
                if isinstance(v, tf.distribute.DistributedValues) else v, values)
        return original(values, strategy, reduction)

    reduce_per_replica.mended = True
    trainer.reduce_per_replica = reduce_per_replica
