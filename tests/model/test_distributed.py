"""Training under tf.distribute: two workers on loopback, a killed run that resumes, and the
cluster description a worker is given."""

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from sketch_model.inference.classifier import load_classifier
from sketch_model.modelcard import ModelCard, ModelError
from sketch_model.training import stream
from sketch_model.training.checkpoint import Checkpoint
from sketch_model.training.reload import reload_data
from sketch_model.training.distribute import read_tf_config
from testkit.paths import REPO
from testkit.server import free_port

WAIT = 420  # seconds a training of a few hundred drawings may take on a busy 2-core machine


def train_command(out, cache, quickdraw_source, *options) -> list[str]:
    return [sys.executable, "-m", "sketch_model.train", "--classes", "cat", "dog",
            "--other-classes", "house", "--limit", "200", "--other-limit", "100",
            "--batch-size", "32", "--out", str(out), "--source",
            str(quickdraw_source), "--cache", str(cache), *options]


def start(command, log, **env):
    return subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env})


def test_two_workers_train_one_model_that_loads_and_classifies(tmp_path, quickdraw_source,
                                                               shared_data, monkeypatch):
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    out = tmp_path / "model" / "pair"
    command = train_command(out, tmp_path / "cache", quickdraw_source, "--epochs", "2",
                            "--stream", "--strategy", "multi-worker")
    logs = [tmp_path / f"worker{index}.log" for index in (0, 1)]
    workers = []
    for index, log in enumerate(logs):
        config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        workers.append(start(command, log.open("w"), TF_CONFIG=config))
    try:
        codes = [worker.wait(timeout=WAIT) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    texts = [log.read_text() for log in logs]
    assert codes == [0, 0], texts
    assert "2 workers, 2 replicas; this is worker 0 (chief)" in texts[0]
    assert "worker 1: trained; the chief writes the model" in texts[1]
    assert not any("crashed" in text for text in texts)  # no worker left before the end
    # Every step was taken together: both saw the same averaged loss at each epoch.
    epochs = [[line for line in text.splitlines() if " - loss: " in line] for text in texts]
    assert len(epochs[0]) == 2
    assert [line.split(" - loss: ")[1] for line in epochs[0]] == \
        [line.split(" - loss: ")[1] for line in epochs[1]]
    card = ModelCard.read(out.with_suffix(".keras"))
    assert card.metadata["training"]["workers"] == 2
    assert card.metadata["training"]["replicas"] == 2
    classifier = load_classifier(out.with_suffix(".keras"))
    assert classifier.runtime.name == "litert"
    cats = np.asarray(shared_data("cat")[-50:])  # late rows: beyond the 200 trained on
    probabilities = classifier.probabilities(cats)
    assert probabilities.shape == (50, 3)
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    assert not out.with_name("pair.checkpoint").exists()
    # Measuring it again (evaluate, export) reloads its data streamed, as it was trained:
    # only a sample of the training split comes into memory.
    monkeypatch.setattr(stream, "SAMPLE", 12)
    again = reload_data(card.metadata, cache=tmp_path / "cache")
    assert again.counts == card.metadata["trained_on"]["drawings"]
    assert len(again.y["train"]) <= 12 < card.metadata["trained_on"]["split_sizes"]["train"]


def epochs_recorded(record) -> int:
    """The epochs in a BackupAndRestore record, 0 while there is none (or half of one)."""
    try:
        return json.loads(record.read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def run_until(command, log, done, timeout=WAIT) -> None:
    """Start ``command``, and SIGKILL it as soon as ``done()`` is true."""
    process = start(command, log.open("w"))
    deadline = time.monotonic() + timeout
    try:
        while not done() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert done(), log.read_text()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()


def test_a_killed_run_resumes_after_its_last_epoch_and_finishes_without_training_again(
        tmp_path, quickdraw_source):
    out = tmp_path / "model" / "again"
    folder = tmp_path / "checkpoint"
    # In memory, under MirroredStrategy (on this machine's one CPU device).
    command = train_command(out, tmp_path / "cache", quickdraw_source, "--epochs", "3",
                            "--strategy", "mirrored", "--checkpoint", str(folder))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    record = folder / "training_metadata.json"
    run_until(command, tmp_path / "first.log", lambda: epochs_recorded(record) >= 1)
    assert not out.with_suffix(".keras").exists()
    # Killed again once trained, while its model is being exported and measured.
    second = tmp_path / "second.log"
    run_until(command, second, lambda: (folder / "trained.json").is_file())
    assert f"resuming from {folder}:" in second.read_text()
    assert "Epoch 1/3" not in second.read_text() and "Epoch 3/3" in second.read_text()
    third = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=WAIT,
                           env=env)
    assert third.returncode == 0, third.stdout + third.stderr
    assert "holds this run's trained weights: finishing it" in third.stdout
    assert "Epoch " not in third.stdout
    training = ModelCard.read(out.with_suffix(".keras")).metadata["training"]
    assert training["epochs"] == 3  # all of them, though this run trained none
    assert 1 <= training["resumed_after_epoch"] < 3  # what the run that trained resumed from
    assert training["best_val_loss"] > 0
    assert (training["strategy"], training["data"]) == ("mirrored", "in memory")
    assert load_classifier(out.with_suffix(".keras")).classes == ["cat", "dog", "other"]
    assert not folder.exists()  # removed once the model was saved


def weights_file(path, epoch) -> None:
    """A small HDF5 file standing for the weights of an epoch."""
    with h5py.File(path, "w") as out:
        out.attrs["epoch"] = epoch


def weights_epoch(path) -> int:
    with h5py.File(path, "r") as weights:
        return int(weights.attrs["epoch"])


@pytest.mark.parametrize("torn", ["record", "weights"])
def test_a_checkpoint_torn_by_a_kill_gives_way_to_the_one_before(tmp_path, torn):
    identity = {"recipe": "same"}
    Checkpoint(tmp_path).prepare(identity)
    record, weights = tmp_path / "training_metadata.json", tmp_path / "latest.weights.h5"
    record.write_text('{"epoch": 3, "batch": 0}')
    weights_file(weights, 3)
    (tmp_path / "epochs.json").write_text('{"1": {}, "2": {}, "3": {}}')
    (tmp_path / "training_metadata.json.bkp").write_text('{"epoch": 2, "batch": 0}')
    weights_file(tmp_path / "latest.weights.h5.bkp", 2)
    if torn == "record":
        record.write_text('{"epoch": 3, "ba')  # killed while writing it
    else:
        weights.write_bytes(weights.read_bytes()[:100])
    Checkpoint(tmp_path).prepare(identity)
    assert Checkpoint(tmp_path).epochs_done() == 2 and weights_epoch(weights) == 2
    assert list(Checkpoint(tmp_path).epochs()) == ["1", "2"]  # epoch 3's log goes too


def test_a_checkpoint_torn_with_nothing_whole_before_it_starts_again(tmp_path):
    identity = {"recipe": "same"}
    Checkpoint(tmp_path).prepare(identity)
    (tmp_path / "training_metadata.json").write_text("{")
    (tmp_path / "latest.weights.h5").write_bytes(b"")
    (tmp_path / "training_metadata.json.bkp").write_text("")  # torn as well
    Checkpoint(tmp_path).prepare(identity)
    assert Checkpoint(tmp_path).epochs_done() == 0
    assert Checkpoint(tmp_path).epochs() == {}
    assert {path.name for path in tmp_path.iterdir()} <= {"run.json", "epochs.json"}


def test_only_a_checkpoint_with_training_in_it_is_kept_from_another_run(tmp_path):
    Checkpoint(tmp_path).prepare({"recipe": "first"})
    (tmp_path / "epochs.json").write_text('{"1": {"loss": 1.0}}')
    Checkpoint(tmp_path).prepare({"recipe": "second"})  # the first never trained: replaced
    assert Checkpoint(tmp_path).epochs() == {}  # and its logs with it
    (tmp_path / "training_metadata.json").write_text('{"epoch": 1, "batch": 0}')
    for process in (Checkpoint(tmp_path), Checkpoint(tmp_path, chief=False)):
        with pytest.raises(ModelError, match="holds the checkpoint of another training run"):
            process.prepare({"recipe": "third"})
    Checkpoint(tmp_path, chief=False).prepare({"recipe": "second"})  # its own: no error
    (tmp_path / "run.json").write_text("{")
    with pytest.raises(ModelError, match="unreadable run.json"):
        Checkpoint(tmp_path).prepare({"recipe": "second"})
    a_file = tmp_path / "a file"
    a_file.write_text("")
    with pytest.raises(ModelError, match="cannot be used"):
        Checkpoint(a_file).prepare({"recipe": "second"})


def test_a_checkpoint_of_another_run_is_refused_by_the_command(tmp_path, quickdraw_source):
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    (checkpoint / "run.json").write_text(json.dumps({"recipe": {"classes": ["other"]}}))
    (checkpoint / "training_metadata.json").write_text('{"epoch": 1, "batch": 0}')
    command = train_command(tmp_path / "m", tmp_path / "cache", quickdraw_source,
                            "--epochs", "1", "--checkpoint", str(checkpoint))
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=WAIT,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 1
    assert "holds the checkpoint of another training run" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("config, problem", [
    (None, "needs TF_CONFIG"),
    ("{not json", "is not a cluster description"),
    ('{"cluster": {"worker": ["a:1"]}}', "is not a cluster description"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}',
     "is not one of its cluster's"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}',
     "is not one of its cluster's"),
])
def test_a_cluster_description_that_cannot_work_is_refused(config, problem):
    with pytest.raises(ModelError, match=problem):
        read_tf_config(config)


def test_the_chief_is_the_chief_task_else_worker_zero():
    two = {"worker": ["a:1", "b:1"]}
    assert read_tf_config(json.dumps({"cluster": two, "task": {"type": "worker",
                                                                "index": 1}})) == (2, 1, False)
    assert read_tf_config(json.dumps({"cluster": two, "task": {"type": "worker",
                                                                "index": 0}})) == (2, 0, True)
    led = {"chief": ["c:1"], **two}
    assert read_tf_config(json.dumps({"cluster": led, "task": {"type": "worker",
                                                                "index": 0}})) == (3, 1, False)
    assert read_tf_config(json.dumps({"cluster": led, "task": {"type": "chief",
                                                                "index": 0}})) == (3, 0, True)


def test_multi_worker_without_tf_config_stops_before_tensorflow_loads(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    result = subprocess.run([sys.executable, "-m", "sketch_model.train", "--classes", "cat",
                             "dog", "--out", str(tmp_path / "m"), "--strategy",
                             "multi-worker"], cwd=REPO, capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 2
    assert "--strategy multi-worker needs TF_CONFIG" in result.stderr
    assert "Traceback" not in result.stderr
