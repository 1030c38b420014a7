"""Callbacks the fault campaign (`python -m tools.faults`) and the exception tests put into a training run."""

from __future__ import annotations

import os
import re
import sys
import time

import lightning as L

from src.checks import choice


class Probe(L.Callback):
    """Prints `@probe EVENT EPOCH INDEX` on stderr at the moments the campaign aims its kills at.

    `hold_s` > 0: every checkpoint's temporary file, once written whole and fsynced, waits that long before
    its rename, so a kill aimed at a checkpoint write lands inside it however loaded the machine is (without
    it the write of a small checkpoint takes a few milliseconds, and a busy machine's poll can miss it).
    """

    def __init__(self, hold_s: float = 0.0) -> None:
        self.hold_s, self._fsync = hold_s, None

    def setup(self, trainer, pl_module, stage: str) -> None:
        if self.hold_s > 0 and self._fsync is None:  # only while this trainer runs (tests train in-process)
            self._fsync, os.fsync = os.fsync, _fsync_then_hold(os.fsync, self.hold_s)

    def teardown(self, trainer, pl_module, stage: str) -> None:
        if self._fsync is not None:
            os.fsync, self._fsync = self._fsync, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        _emit("train_batch", trainer.current_epoch, batch_idx)

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        if _fitting(trainer):
            _emit("val_batch", trainer.current_epoch, batch_idx)

    def on_validation_end(self, trainer, pl_module) -> None:
        if _fitting(trainer):  # mid-epoch checkpoints come next
            _emit("val_end", trainer.current_epoch, trainer.global_step)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        _emit("epoch_end", trainer.current_epoch, trainer.global_step)  # checkpoints are written next

    def on_test_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        _emit("test_batch", trainer.current_epoch, batch_idx)


class RaiseAt(L.Callback):
    """Raises `InjectedFault` at a training batch, a validation batch or the end of an epoch's training.

    `python -m src.train ... +callbacks.fault._target_=tools.faults.probes.RaiseAt +callbacks.fault.epoch=1`
    """

    def __init__(self, epoch: int = 1, batch: int = 3, where: str = "train") -> None:
        choice("callbacks.fault.where", where, ("train", "validation", "epoch_end"))
        self.epoch, self.batch, self.where = epoch, batch, where

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._maybe("train", trainer.current_epoch, batch_idx)

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        if _fitting(trainer):
            self._maybe("validation", trainer.current_epoch, batch_idx)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._maybe("epoch_end", trainer.current_epoch, self.batch)

    def _maybe(self, where: str, epoch: int, batch: int) -> None:
        if (where, epoch, batch) == (self.where, self.epoch, self.batch):
            raise InjectedFault(f"injected fault: {where}, epoch {epoch}, batch {batch}")


class InjectedFault(RuntimeError):
    """The exception `RaiseAt` raises: a stand-in for a crash in the middle of training."""


def _fitting(trainer: L.Trainer) -> bool:
    """A validation inside `fit`, not the sanity check nor `trainer.validate`/`test`."""
    return not trainer.sanity_checking and trainer.state.fn == "fit"


def _fsync_then_hold(sync, seconds: float):
    """`sync` (os.fsync), then a sleep of `seconds` when the file is a checkpoint temporary
    (`.NAME.ckpt.XXXX.tmp`)."""

    def fsync_then_hold(fd: int) -> None:
        sync(fd)
        try:
            name = os.readlink(f"/proc/self/fd/{fd}")  # Linux; elsewhere no hold
        except OSError:
            return
        if re.search(r"/\.[^/]+\.ckpt\.[^/]+\.tmp$", name):
            time.sleep(seconds)

    return fsync_then_hold


def _emit(event: str, epoch: int, index: int) -> None:
    sys.stderr.write(f"\n@probe {event} {epoch} {index}\n")
    sys.stderr.flush()

