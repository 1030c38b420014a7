"""`python -m src.bundle`: slim float16 exports that load like any checkpoint and sample the same way."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from src.bundle import BUNDLE, main
from src.errors import UserError
from src.models.checkpoint import load_module


def test_export_is_small_loads_and_predicts_like_the_run(trained_run, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(trained_run, runs / "lstm_attn")  # a finished run: reused, not retrained
    records = main(["names=[lstm_attn]", f"runs_dir={runs}", f"out_dir={tmp_path / 'models'}"])
    out = tmp_path / "models" / "lstm_attn.ckpt"
    full = runs / "lstm_attn" / "checkpoints" / "best.ckpt"
    assert out.stat().st_size < full.stat().st_size / 2  # no optimizer state, half-size weights
    saved = json.loads((tmp_path / "models" / "lstm_attn.metrics.json").read_text())
    assert saved["metrics"]["test/bits"] == records["lstm_attn"]["metrics"]["test/bits"] > 0
    original, bundled = load_module(full), load_module(out)
    assert next(bundled.parameters()).dtype == torch.float32  # float16 on disk only
    x = torch.randint(0, len(original.vocab), (4, original.window))
    torch.testing.assert_close(bundled(x), original(x), atol=2e-2, rtol=0)
    assert bundled.hparams.encoding == original.hparams.encoding
    mtime = out.stat().st_mtime_ns
    main(["names=[lstm_attn]", f"runs_dir={runs}", f"out_dir={tmp_path / 'models'}"])
    assert out.stat().st_mtime_ns == mtime  # already exported from this run: left alone


def test_every_bundled_model_names_an_experiment():
    from src.config import CONFIG_DIR

    for overrides in BUNDLE.values():
        experiment = overrides[0].removeprefix("experiment=")
        assert (CONFIG_DIR / "experiment" / f"{experiment}.yaml").is_file()


def test_unknown_bundle_name_is_refused():
    with pytest.raises(SystemExit) as exit_info:
        main(["names=[nope]"])
    assert exit_info.value.code == 2
    with pytest.raises(UserError):
        main.__wrapped__(["names=[nope]"])


def test_an_export_with_no_run_behind_it_is_kept(trained_run, tmp_path, monkeypatch):
    runs, models = tmp_path / "runs", tmp_path / "models"
    shutil.copytree(trained_run, runs / "lstm_attn")
    first = main(["names=[lstm_attn]", f"runs_dir={runs}", f"out_dir={models}"])
    shutil.rmtree(runs)  # exports copied from another machine: no runs here

    def no_training(*args, **kwargs):
        raise AssertionError(f"trained although the export exists: {args}")

    monkeypatch.setattr("src.bundle.subprocess.run", no_training)
    mtime = (models / "lstm_attn.ckpt").stat().st_mtime_ns
    assert main(["names=[lstm_attn]", f"runs_dir={runs}", f"out_dir={models}"]) == first
    assert (models / "lstm_attn.ckpt").stat().st_mtime_ns == mtime


@pytest.mark.parametrize("name", list(BUNDLE))
def test_the_bundled_models_made_here_load_and_sample(name, tmp_path):
    from src.app.core import REPO
    from src.sample import main as sample_main

    path = REPO / "models" / f"{name}.ckpt"
    if not path.is_file():  # checkpoints stay out of git: a fresh clone has none until `make models`
        pytest.skip(f"{path} is missing: run `make models`")
    assert path.stat().st_size < 5 * 2**20
    record = json.loads(path.with_suffix(".metrics.json").read_text())
    assert record["bytes"] == path.stat().st_size
    assert 0.5 < record["metrics"]["test/bits"] < 3
    mode = ["mode=prior"] if name == "vae" else ["seed=60 _ 62 _ 64 _"]
    melodies = sample_main([f"ckpt={path}", f"out_dir={tmp_path}", "num_samples=2", "steps=32",
                            "rng_seed=1", *mode])
    assert len(melodies) == 2 and len(list(tmp_path.glob("*.mid"))) == 2
