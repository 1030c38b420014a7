"""Tiny trained checkpoints of every model type, laid out as the app finds them: models/ and outputs/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from src.config import CONFIG_DIR
from tests.conftest import run_config, small_data

# experiment -> overrides for a toy run of a few optimizer steps (seconds), with checkpoints
TINY = {
    "gru": ["model.net.hidden_size=16", "model.net.num_layers=1", "model.net.dropout=0.0",
            "data.sequence_length=16"],
    "vae": ["model.net.hidden_size=16", "model.net.latent_size=4", "model.anneal_steps=2",
            "model.net.segment_length=16",
            "callbacks.sample_export.steps=16"],
    "ngram": ["model.net.order=3", "data.sequence_length=8"],
    "gru_lm": ["model.net.hidden_size=16", "model.net.num_layers=1", "data.sequence_length=16",
               "data.segment_stride=16"],
    "transformer_lm": ["model.net.d_model=16", "model.net.num_layers=1", "model.net.ff_size=32",
                       "data.sequence_length=16", "data.segment_stride=16"],
    "transformer_folk": ["model.net.d_model=16", "model.net.num_layers=1", "model.net.ff_size=32",
                         "data.sequence_length=16", "data.segment_stride=16"],
}
COMMON = ["data.batch_size=16", "trainer.max_steps=2", "trainer.max_epochs=1",
          "trainer.val_check_interval=null", "trainer.check_val_every_n_epoch=1",
          "trainer.limit_train_batches=2", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1",
          "callbacks.sample_export.num_samples=1", "callbacks.early_stopping=null"]
_made: dict[str, tuple[Path, Path]] = {}


def experiments() -> list[str]:
    """The tiny experiments whose config exists in this checkout (gru_lm arrives with issue 7)."""
    return [name for name in TINY if (CONFIG_DIR / "experiment" / f"{name}.yaml").is_file()]


def app_dirs(root: Path, erk5_dir: Path, debug_run: Path) -> tuple[Path, Path]:
    """(models, outputs): the debug run as a bundled `models/debug.ckpt`, a tiny run of each type in outputs/.

    Made once per test session (every test module asks with the same session folders).
    """
    from src.train import train

    if str(root) in _made:
        return _made[str(root)]
    models, outputs = root / "models", root / "outputs"
    models.mkdir(parents=True)
    shutil.copy(debug_run / "checkpoints" / "best.ckpt", models / "debug.ckpt")
    metrics = json.loads((debug_run / "metrics.json").read_text())
    (models / "debug.metrics.json").write_text(json.dumps(metrics))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name in experiments():
            overrides = [f"experiment={name}", *COMMON, *TINY[name], *small_data(erk5_dir, root / "cache")]
            train(run_config(outputs / name, overrides))
    finally:
        torch.set_num_threads(threads)
    _made[str(root)] = (models, outputs)
    return models, outputs
