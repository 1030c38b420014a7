"""Checkpoints that survive `kill -9` and resume exactly (docs/reliability.md).

`AtomicCheckpointIO` writes every checkpoint Lightning saves (best.ckpt, last.ckpt) to a temporary file
in the same folder, fsyncs it and renames it over the old one, so a reader only ever sees a whole old
or a whole new file. Lightning's own `TorchCheckpointIO` writes through an fsspec transaction whose
temporary file lives in the system temp folder: the final step is `shutil.move`, a copy into the
final path (truncated if killed) whenever that folder is on another file system, with no fsync.

`ResumeState` stores the global random states (and a pending early stop) in each checkpoint and
restores them on resume, so the epochs after an epoch-end checkpoint run as in an uninterrupted run.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.fabric.utilities.cloud_io import _is_local_file_protocol
from lightning.pytorch.callbacks import EarlyStopping
from lightning.pytorch.callbacks.early_stopping import EarlyStoppingReason
from lightning.pytorch.plugins import TorchCheckpointIO

from src.atomic import atomic_path

NOT_STOPPED = EarlyStoppingReason.NOT_STOPPED


class AtomicCheckpointIO(TorchCheckpointIO):
    """`torch.save` into `.NAME.XXXX.tmp` beside NAME, fsync, `os.replace`: whole files or none."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if not _is_local_file_protocol(path):  # s3://, gs://: the store's own atomic upload
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        save_atomic(checkpoint, path)


def save_atomic(checkpoint: dict[str, Any], path: str | os.PathLike) -> None:
    """Write `checkpoint` to `path` through a fsynced temporary sibling and a rename."""
    path = Path(path)
    remove_stale_temporaries(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as file:
            torch.save(checkpoint, file)
            file.flush()
            os.fsync(file.fileno())
    _fsync_dir(path.parent)  # the rename itself survives a crash of the machine


def temporaries(path: str | os.PathLike) -> list[Path]:
    """Temporary files of writes to `path` that never finished (their writer was killed)."""
    path = Path(path)
    return sorted(path.parent.glob(f".{path.name}.*.tmp")) if path.parent.is_dir() else []


def remove_stale_temporaries(path: str | os.PathLike) -> None:
    """Delete what killed writers of any checkpoint beside `path` left (one process writes a run's
    checkpoints at a time, so none of them is being written now)."""
    folder = Path(path).parent
    for tmp in folder.glob(".*.ckpt.*.tmp") if folder.is_dir() else []:
        tmp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class ResumeState(L.Callback):
    """What an exact resume needs and Lightning leaves out: the global random states, and a stop.

    The global torch, CUDA, numpy and Python random states go into every checkpoint and come back on
    resume, so after an epoch-end checkpoint the next epoch is shuffled (and dropped out) as in the
    uninterrupted run. A run resumed after early stopping fired (killed during its final test) stops
    again at once instead of training one more epoch. Stored as plain tensors, tuples and numbers, so
    checkpoints still load with `weights_only=True`.
    """

    def state_dict(self) -> dict[str, Any]:
        kind, keys, position, has_gauss, cached = np.random.get_state()
        return {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
            "numpy": (str(kind), torch.from_numpy(keys.astype(np.int64)), int(position),
                      int(has_gauss), float(cached)),
            "python": random.getstate(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        torch.set_rng_state(state_dict["torch"])
        cuda = state_dict.get("cuda") or []
        if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        kind, keys, position, has_gauss, cached = state_dict["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
        version, internal, gauss = state_dict["python"]
        random.setstate((version, tuple(internal), gauss))

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Trainer.fit clears should_stop; early stopping's restored state still says it fired
        if trainer.ckpt_path and any(isinstance(cb, EarlyStopping) and cb.stopping_reason != NOT_STOPPED
                                     for cb in trainer.callbacks):
            trainer.should_stop = True
