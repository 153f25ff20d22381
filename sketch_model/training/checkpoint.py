"""Resumable training: a checkpoint every epoch, and what a rerun of the same command resumes.

Keras's ``BackupAndRestore`` saves the weights with the optimizer's state
(``latest.weights.h5``) and the epochs done (``training_metadata.json``) after every epoch, each
with the one before it (``.bkp``), so a kill while writing leaves a whole one. Beside them,
this module keeps:

- ``run.json``: what the run is (its recipe, data and options); the checkpoint of another run
  is refused, never resumed;
- ``epochs.json``: every epoch's losses, so a resumed run's metadata covers all its epochs;
- ``trained.weights.h5`` and ``trained.json``: the weights training ended with (early
  stopping's best), so a run that stops while it is being finished (exported, tuned,
  measured) is finished by a rerun without training again.

Early stopping's own count starts again on a resumed run. The chief alone writes; every
worker of a cluster reads the chief's, after a barrier (``Cluster.barrier``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from ..modelcard import ModelError

RUN = "run.json"
RECORD = "training_metadata.json"  # BackupAndRestore's names
WEIGHTS = "latest.weights.h5"
EPOCHS = "epochs.json"
TRAINED = "trained.json"
TRAINED_WEIGHTS = "trained.weights.h5"


class Checkpoint:
    """The checkpoint folder of one training run; ``chief`` is the process that writes it."""

    def __init__(self, folder: Path, chief: bool = True) -> None:
        self.folder = Path(folder)
        self.chief = chief

    def prepare(self, identity: dict) -> None:
        """Refuse the checkpoint of another run; mend a torn record; record this run (the
        chief; another worker only refuses). Raises ModelError with a sentence."""
        marker = self.folder / RUN
        if not self.chief:
            try:
                recorded = _read_json(marker) if self._holds_training() else identity
            except (OSError, ValueError):
                recorded = "unreadable"
            if recorded != identity:
                raise self._another_run()
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                recorded = _read_json(marker) if marker.is_file() else None
            except ValueError:
                recorded = "unreadable"
            if recorded is None or (recorded != identity and not self._holds_training()):
                self._forget()  # nothing of it to lose
                _write(marker, json.dumps(identity, indent=1))
            elif recorded != identity:
                raise self._another_run()
            else:
                self._mend()
                done = self.epochs_done()  # epochs after it were not kept: forget their logs
                kept = {epoch: logs for epoch, logs in self.epochs().items()
                        if int(epoch) <= done}
                _write(self.folder / EPOCHS, json.dumps(kept, indent=1))
        except OSError as error:
            raise ModelError(f"The checkpoint folder {self.folder} cannot be used "
                             f"({_reason(error)}); give --checkpoint a folder you can "
                             "write.") from None

    def epochs_done(self) -> int:
        """The epochs the last whole checkpoint holds (0 if none)."""
        try:
            return int(_read_json(self.folder / RECORD)["epoch"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def finished(self) -> dict | None:
        """What the finished training recorded, if it finished (``save_trained``)."""
        try:
            if (self.folder / TRAINED_WEIGHTS).is_file():
                return _read_json(self.folder / TRAINED)
        except (OSError, ValueError):
            pass
        return None

    def callbacks(self) -> list:
        """The callbacks that write the checkpoint: each epoch's losses, then the backup."""
        import keras

        checkpoint = self

        class EpochLog(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if checkpoint.chief:
                    losses = checkpoint.epochs()
                    losses[str(epoch + 1)] = {key: float(value)
                                              for key, value in (logs or {}).items()}
                    _write(checkpoint.folder / EPOCHS, json.dumps(losses, indent=1))

        class ChiefBackup(keras.callbacks.BackupAndRestore):
            def _save_model(self):
                if checkpoint.chief:
                    super()._save_model()

        return [EpochLog(), ChiefBackup(str(self.folder), double_checkpoint=True,
                                        delete_checkpoint=False)]

    def epochs(self) -> dict[str, dict]:
        """Each epoch's losses so far, by epoch number (from 1)."""
        try:
            return _read_json(self.folder / EPOCHS)
        except (OSError, ValueError):
            return {}

    def save_trained(self, model, summary: dict) -> None:
        """Keep ``model``'s weights and ``summary`` (what the metadata says of the training)
        as the end of training (chief)."""
        if self.chief:
            model.save_weights(self.folder / TRAINED_WEIGHTS)
            _write(self.folder / TRAINED, json.dumps(summary))

    def load_trained(self, model) -> None:
        model.load_weights(self.folder / TRAINED_WEIGHTS)

    def remove(self) -> None:
        """Once the model files are written, the checkpoint has done its job (chief)."""
        if self.chief:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _another_run(self) -> ModelError:
        return ModelError(f"{self.folder} holds the checkpoint of another training run (other "
                          "data or options, or an unreadable run.json); remove it, or give "
                          "--checkpoint another folder.")

    def _holds_training(self) -> bool:
        return any((self.folder / name).exists() for name in (RECORD, WEIGHTS, TRAINED_WEIGHTS))

    def _forget(self) -> None:
        for name in (EPOCHS, TRAINED, TRAINED_WEIGHTS, RECORD, WEIGHTS):
            for path in (self.folder / name, self.folder / f"{name}.bkp"):
                path.unlink(missing_ok=True)

    def _mend(self) -> None:
        """A checkpoint torn by a kill while it was written (its record or its weights) gives
        way to the one before it, which the backup keeps, or else to none: Keras then
        resumes from a whole one, and no worker has to mend it."""
        if self._whole(""):
            return
        if self._whole(".bkp"):
            print(f"warning: the last checkpoint in {self.folder} is torn; resuming from the "
                  "one before it", file=sys.stderr)
            for name in (RECORD, WEIGHTS):
                shutil.copyfile(self.folder / f"{name}.bkp", self.folder / name)
            return
        print(f"warning: the checkpoint in {self.folder} is torn; starting again",
              file=sys.stderr)
        self._forget()

    def _whole(self, suffix: str) -> bool:
        """Whether the record and weights (``suffix`` "" or ".bkp") are both readable, or
        both absent (no epoch done yet)."""
        record, weights = self.folder / (RECORD + suffix), self.folder / (WEIGHTS + suffix)
        if not record.exists() and not weights.exists():
            return suffix == ""
        try:
            int(_read_json(record)["epoch"])
            import h5py

            with h5py.File(weights, "r"):
                return True
        except (OSError, ValueError, KeyError, TypeError):
            return False


def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _reason(error: Exception) -> str:
    return error.strerror.lower() if isinstance(error, OSError) and error.strerror \
        else str(error)
