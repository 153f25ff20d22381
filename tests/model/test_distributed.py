"""Training under tf.distribute: two workers on loopback, a killed run that resumes, and the
cluster description a worker is given."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from sketch_model.inference.classifier import load_classifier
from sketch_model.modelcard import ModelCard, ModelError
from sketch_model.train import epochs_done
from sketch_model.training import stream
from sketch_model.training.dataset import reload_data
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


def test_a_run_killed_after_its_first_epoch_resumes_and_finishes(tmp_path, quickdraw_source):
    out = tmp_path / "model" / "again"
    checkpoint = tmp_path / "checkpoint"
    # In memory, under MirroredStrategy (on this machine's one CPU device).
    command = train_command(out, tmp_path / "cache", quickdraw_source, "--epochs", "3",
                            "--strategy", "mirrored", "--checkpoint", str(checkpoint))
    first = start(command, (tmp_path / "first.log").open("w"))
    done = checkpoint / "training_metadata.json"
    deadline = time.monotonic() + WAIT
    try:
        while not epochs_recorded(done) and first.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        assert epochs_recorded(done), (tmp_path / "first.log").read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        first.kill()
    assert epochs_recorded(done) >= 1
    assert not out.with_suffix(".keras").exists()
    second = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=WAIT,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"resuming from {checkpoint}:" in second.stdout
    assert "Epoch 1/3" not in second.stdout and "Epoch 3/3" in second.stdout
    training = ModelCard.read(out.with_suffix(".keras")).metadata["training"]
    assert training["resumed_after_epoch"] >= 1 and training["epochs"] == 3
    assert (training["strategy"], training["data"]) == ("mirrored", "in memory")
    assert load_classifier(out.with_suffix(".keras")).classes == ["cat", "dog", "other"]
    assert not checkpoint.exists()  # removed once the model was saved


def test_a_record_torn_by_a_kill_gives_way_to_the_one_before(tmp_path):
    record, weights = tmp_path / "training_metadata.json", tmp_path / "latest.weights.h5"
    record.write_text('{"epoch": 3, "ba')  # killed while writing it
    weights.write_bytes(b"epoch 3")
    (tmp_path / "training_metadata.json.bkp").write_text('{"epoch": 2, "batch": 0}')
    (tmp_path / "latest.weights.h5.bkp").write_bytes(b"epoch 2")
    assert epochs_done(tmp_path) == 2
    assert weights.read_bytes() == b"epoch 2"
    record.write_text("{")
    for earlier in tmp_path.glob("*.bkp"):
        earlier.unlink()
    assert epochs_done(tmp_path) == 0 and not record.exists() and not weights.exists()


def test_a_checkpoint_of_another_run_is_refused(tmp_path, quickdraw_source):
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    (checkpoint / "run.json").write_text(json.dumps({"recipe": {"classes": ["other"]}}))
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
