"""The training and sampling speed benchmarks run end to end on tiny settings and report sane figures."""

from __future__ import annotations

import json

from src.bench import sample_speed, train_speed


def test_train_speed_compares_lightning_with_the_plain_loop(erk5_dir, tmp_path):
    out = tmp_path / "train.json"
    results = train_speed.main(["--sizes", "lstm_attn", "--steps", "1", "--corpus", str(erk5_dir),
                                "--cache-dir", str(tmp_path / "cache"), "--out", str(out)])
    figures = results["sizes"]["lstm_attn"]
    assert figures["plain_windows_per_s"] > 0 and figures["lightning_windows_per_s"] > 0
    assert json.loads(out.read_text())["sizes"]["lstm_attn"]["batch"] == 64


def test_sample_speed_reports_ms_per_symbol(trained_run, tmp_path):
    out = tmp_path / "sample.json"
    results = sample_speed.main(["--steps", "6", "--batch", "3", "--ckpt", str(trained_run / "checkpoints"
                                 / "best.ckpt"), "--out", str(out)])
    assert results["seed_style_ms_per_symbol"] > 0 and results["ours_3_ms_per_symbol"] > 0
    assert json.loads(out.read_text())["steps"] == 6
