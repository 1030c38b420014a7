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
