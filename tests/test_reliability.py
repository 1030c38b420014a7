"""Faults during training: checkpoints are written whole (temporary file + rename), an exception or a
kill -9 leaves loadable checkpoints, and a resumed run ends exactly where an uninterrupted one does."""

from __future__ import annotations

import errno
import os

import pytest
import torch

from src.checkpoint_io import AtomicCheckpointIO, save_atomic, temporaries
from src.models.checkpoint import load_module
from src.train import train
from tests.conftest import run_config, small_data
from tools.faults.campaign import campaign, erk5_corpus, train_args
from tools.faults.kills import Kill
from tools.faults.probes import InjectedFault, Probe

EPOCHS = 3


def test_atomic_save_replaces_whole_files_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "checkpoints" / "last.ckpt"
    save_atomic({"weights": torch.arange(10)}, path)
    old = path.read_bytes()
    stale = path.parent / ".last.ckpt.abc123.tmp"
    stale.write_bytes(old[:7])  # what a writer killed mid-write leaves

    def disk_full(obj, file):
        file.write(b"PK\x03\x04 half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("src.checkpoint_io.torch.save", disk_full)
    with pytest.raises(OSError, match="No space"):
        AtomicCheckpointIO().save_checkpoint({"weights": torch.zeros(3)}, path)
    assert path.read_bytes() == old and temporaries(path) == []  # the stale one went too
    monkeypatch.undo()
    save_atomic({"weights": torch.ones(2)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["weights"], torch.ones(2))
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def base(erk5_dir, cache) -> list[str]:
    return ["experiment=debug", *small_data(erk5_dir, cache), f"trainer.max_epochs={EPOCHS}",
            "trainer.limit_train_batches=6", "trainer.limit_val_batches=2", "trainer.limit_test_batches=2",
            "callbacks.sample_export.steps=8"]


@pytest.fixture(scope="module")
def uninterrupted(erk5_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("uninterrupted")
    metrics = train(run_config(root / "run", base(erk5_dir, root.parent / "reliability-cache")))
    return root / "run", metrics


def same_weights(a, b) -> float:
    first, second = (torch.load(p, weights_only=True)["state_dict"] for p in (a, b))
    return max(float((first[k] - second[k]).abs().max()) for k in second)


@pytest.mark.parametrize("where", ["train", "validation", "epoch_end", "checkpoint_write"])
def test_exception_mid_training_leaves_loadable_checkpoints_and_resume_is_exact(
        where, erk5_dir, tmp_path, tmp_path_factory, uninterrupted, monkeypatch):
    reference, expected = uninterrupted
    run = tmp_path / "run"
    overrides = base(erk5_dir, tmp_path_factory.getbasetemp() / "reliability-cache")
    fault = overrides
    if where == "checkpoint_write":  # the disk fills while the second epoch's best.ckpt is written
        calls = []
        real_save = torch.save

        def failing(obj, file, *args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                file.write(b"partial")
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_save(obj, file, *args, **kwargs)

        monkeypatch.setattr("src.checkpoint_io.torch.save", failing)
    else:
        fault = [*overrides, "+callbacks.fault._target_=tools.faults.probes.RaiseAt",
                 "+callbacks.fault.epoch=1", f"+callbacks.fault.where={where}", "+callbacks.fault.batch=1"]
    with pytest.raises(InjectedFault if where != "checkpoint_write" else OSError):
        train(run_config(run, fault))
    monkeypatch.undo()

    checkpoints = run / "checkpoints"
    for name in ("best.ckpt", "last.ckpt"):
        load_module(checkpoints / name)  # whole and loadable
        assert temporaries(checkpoints / name) == []
    state = torch.load(checkpoints / "last.ckpt", weights_only=True)
    assert state["epoch"] == 0 and state["global_step"] == 6  # the end of the first epoch

    metrics = train(run_config(run, [*overrides, f"ckpt_path={checkpoints / 'last.ckpt'}"]))
    assert max(abs(metrics[k] - expected[k]) for k in expected) <= 1e-6
    assert same_weights(checkpoints / "last.ckpt", reference / "checkpoints" / "last.ckpt") == 0.0
    assert same_weights(checkpoints / "best.ckpt", reference / "checkpoints" / "best.ckpt") == 0.0


def test_last_ckpt_is_the_last_epoch_and_holds_the_resume_state(uninterrupted):
    run, _ = uninterrupted
    state = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["epoch"] == EPOCHS - 1 and "ResumeState" in state["callbacks"]
    # last.ckpt is the last epoch even when val/loss got worse (Lightning 2.6's save_last would not be)
    assert state["global_step"] == 6 * EPOCHS


def test_kill_9_at_chosen_moments_then_resume_matches_an_uninterrupted_run(tmp_path):
    reference = tmp_path / "reference"  # in-process: the same numbers as `python -m src.train` (checked)
    train(run_config(reference, train_args(erk5_corpus(tmp_path), tmp_path / "cache", epochs=3)))
    kills = [Kill(0, "checkpoint", occurrence=2, index=3),  # while last.ckpt of epoch 1 is written
             Kill(0, "validation", occurrence=2, index=1)]  # resumed at epoch 1: during epoch 2's validation
    chain = campaign(tmp_path, epochs=3, chain_plans=[kills], reference=reference)["chains"][0]
    first, second = chain["kills"]
    assert first["killed"] and second["killed"] and chain["processes"] == 3
    assert first["hit"].startswith("writing last.ckpt after epoch 1")
    assert any(leftover.startswith(".last.ckpt.") for leftover in first["leftovers"])  # killed mid-write
    assert first["loadable"] == second["loadable"] == {"best.ckpt": "ok", "last.ckpt": "ok"}
    assert second["resumed_from"] == "last.ckpt (epoch 0, step 16)"
    assert second["hit"] == "validation batch 1 after epoch 2's training"
    difference = chain["difference"]
    assert difference["metrics"] <= 1e-6 and difference["final_train_loss"] <= 1e-6
    assert difference["best.ckpt"] == 0.0 and difference["last.ckpt"] == 0.0
    assert not temporaries(tmp_path / "chain0" / "checkpoints" / "last.ckpt")  # cleaned on resume


def test_the_campaign_probe_holds_only_checkpoint_temporaries_and_only_while_its_trainer_runs(tmp_path,
                                                                                              monkeypatch):
    real_fsync, holds = os.fsync, []
    monkeypatch.setattr("tools.faults.probes.time.sleep", holds.append)  # the holds, without the waiting

    def holds_of(name: str) -> list[float]:
        holds.clear()
        with open(tmp_path / name, "wb") as file:
            file.write(b"x")
            os.fsync(file.fileno())
        return list(holds)

    probe = Probe(hold_s=0.3)
    probe.setup(None, None, "fit")
    probe.setup(None, None, "fit")  # a second setup does not hold twice
    try:
        assert holds_of(".last.ckpt.ab12cd.tmp") == [0.3]
        assert holds_of("metrics.json") == [] and holds_of("last.ckpt") == []
    finally:
        probe.teardown(None, None, "fit")
    assert os.fsync is real_fsync and holds_of(".best.ckpt.ef34gh.tmp") == []
