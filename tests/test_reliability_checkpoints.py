"""Checkpoint safety: a checkpoint whose pickle would run code is refused by `sample`, `evaluate` and a
training resume without running it; truncated or corrupted checkpoints give one clear line."""

from __future__ import annotations

import io
import os
import pickle
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
import torch
from hypothesis import event, given, settings
from hypothesis import strategies as st

from src.errors import UserError
from src.evaluate import main as evaluate_main
from src.models.checkpoint import load_module, read_checkpoint
from src.sample import main as sample_main
from src.train import main as train_main

CAMPAIGN = os.environ.get("HYPOTHESIS_PROFILE") == "campaign"  # the numbers of docs/reliability.md
MARKER = Path(tempfile.gettempdir()) / "melody-generator-pwned"


class RunsCode:
    """Unpickling this calls os.system: what a malicious checkpoint would do."""

    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


class TouchesFile:
    def __reduce__(self):
        return (Path.touch, (MARKER,))


def crafted(trained_run: Path, folder: Path) -> dict[str, Path]:
    """Checkpoints that would run code when unpickled without weights_only."""
    folder.mkdir(parents=True, exist_ok=True)
    real = torch.load(trained_run / "checkpoints" / "best.ckpt", weights_only=True)
    paths = {}
    torch.save({"hyper_parameters": RunsCode()}, paths.setdefault("zip_os_system", folder / "a.ckpt"))
    torch.save({**real, "callbacks": {"x": TouchesFile()}}, paths.setdefault("real_with_payload",
                                                                            folder / "b.ckpt"))
    torch.save({**real, "hyper_parameters": {**real["hyper_parameters"], "net": RunsCode()}},
               paths.setdefault("payload_in_net", folder / "c.ckpt"))
    for protocol in (0, 2, 5):  # plain (non-zip) pickles of every age
        path = paths.setdefault(f"pickle_protocol_{protocol}", folder / f"p{protocol}.ckpt")
        path.write_bytes(pickle.dumps({"hyper_parameters": RunsCode()}, protocol=protocol))
    eval_pickle = b"cbuiltins\neval\n(Vprint('pwned')\ntR."  # GLOBAL builtins.eval + REDUCE
    (folder / "eval.ckpt").write_bytes(eval_pickle)
    paths["builtins_eval"] = folder / "eval.ckpt"
    # a real checkpoint whose data.pkl inside the zip is swapped for a code-running pickle
    buffer = io.BytesIO((trained_run / "checkpoints" / "best.ckpt").read_bytes())
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(folder / "swapped.ckpt", "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith("data.pkl"):
                data = pickle.dumps({"hyper_parameters": RunsCode()}, protocol=2)
            target.writestr(item, data)
    paths["zip_with_swapped_data_pkl"] = folder / "swapped.ckpt"
    return paths


def one_line_exit_2(capsys, call) -> str:
    with pytest.raises(SystemExit) as exit_info:
        call()
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def resume(tmp_path: Path, ckpt: Path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["src.train", "experiment=debug", f"ckpt_path={ckpt}",
                                      f"hydra.run.dir={tmp_path / 'resumed'}"])
    return train_main


def test_code_running_checkpoints_are_refused_without_running(trained_run, tmp_path, capsys, monkeypatch):
    MARKER.unlink(missing_ok=True)
    for name, path in crafted(trained_run, tmp_path / "evil").items():
        calls = {
            "sample": lambda p=path: sample_main([f"ckpt={p}", f"out_dir={tmp_path / 'out'}"]),
            "evaluate": lambda p=path: evaluate_main([f"ckpt={p}", f"out_dir={tmp_path / 'report'}"]),
            "resume": resume(tmp_path, path, monkeypatch),
        }
        for command, call in calls.items():
            line = one_line_exit_2(capsys, call)
            assert "refused" in line, (name, command, line)
            assert not MARKER.exists(), (name, command)
    assert not (tmp_path / "out").exists() and not (tmp_path / "report").exists()
    assert not (tmp_path / "resumed").exists()


def test_truncated_checkpoints_give_one_clear_line(trained_run, tmp_path, capsys, monkeypatch):
    data = (trained_run / "checkpoints" / "best.ckpt").read_bytes()
    for cut in (0, 1, 64, len(data) // 3, len(data) // 2, len(data) - 22, len(data) - 1):
        path = tmp_path / f"cut{cut}.ckpt"
        path.write_bytes(data[:cut])
        for call in (lambda p=path: sample_main([f"ckpt={p}", f"out_dir={tmp_path / 'out'}"]),
                     lambda p=path: evaluate_main([f"ckpt={p}", f"out_dir={tmp_path / 'report'}"]),
                     resume(tmp_path, path, monkeypatch)):
            line = one_line_exit_2(capsys, call)
            assert "cannot be read" in line and "truncated" in line, (cut, line)


@settings(max_examples=500 if CAMPAIGN else 40, deadline=None, derandomize=True, database=None)
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1,
                      max_size=3))
def test_corrupted_checkpoints_load_or_fail_with_a_user_error(trained_run, flips):
    data = bytearray((trained_run / "checkpoints" / "best.ckpt").read_bytes())
    for where, xor in flips:
        data[int(where * len(data))] ^= xor
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "corrupt.ckpt"
        path.write_bytes(bytes(data))
        try:
            read_checkpoint(path)
            loaded = load_module(path).state_dict()
            event("loaded (the change hit bytes no checksum covers)")
            original = torch.load(trained_run / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
            assert all(torch.equal(loaded[k], original[k]) for k in original)  # never wrong weights
        except UserError as err:
            assert "\n" not in str(err)
            kinds = ("is corrupt", "cannot be read", "was refused", "not from melody", "does not fit")
            event("refused: " + next((k for k in kinds if k in str(err)), "other"))



RETIRED_CASES = [("net", "bar_attention", True), ("net", "end_horizon", 16), ("module", "end_weight", 0.2),
                 ("flat", "scheduled_sampling", 0.5)]


@pytest.mark.parametrize("where, key, on", RETIRED_CASES)
def test_retired_settings_load_when_off_and_are_refused_when_on(where, key, on, tmp_path):
    """A setting of an experiment that left the code: off, the checkpoint loads as before; on, one line."""
    bundled = "models/vae.ckpt" if key == "scheduled_sampling" else "models/transformer_lm.ckpt"
    checkpoint = torch.load(bundled, weights_only=True)
    hparams = checkpoint["hyper_parameters"]
    if where == "flat":  # the oldest layout: the module's settings inside `net`, no `module`
        settings = {k: hparams.pop(k) for k in ("beta", "free_bits", "anneal_steps")}
        hparams["net"].update(name="vae", **settings)
        del hparams["module"], hparams["name"]
    table = hparams if where == "module" else hparams["net"]
    for value, loads in ((0.0 if key != "bar_attention" else False, True), (on, False)):
        table[key] = value
        torch.save(checkpoint, tmp_path / "old.ckpt")
        if loads:
            assert load_module(tmp_path / "old.ckpt").hparams.get(key) is None
        else:
            with pytest.raises(UserError, match=rf"with model\.(net\.)?{key} on, an experiment that was not "
                                                r"adopted .* commit 7ccdb09"):
                load_module(tmp_path / "old.ckpt")
