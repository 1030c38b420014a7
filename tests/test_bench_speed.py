"""The speed benchmarks and the `python -m src.bench` suite run end to end on tiny settings."""

from __future__ import annotations

import json

from src.bench import meter_speed, report, sample_ab, sample_speed, suite, train_speed
from src.models.nets.register import MAX_RANGE


def test_train_speed_counts_targets_per_window_and_per_position(erk5_dir, tmp_path):
    cache = str(tmp_path / "cache")
    window = train_speed.speed("lstm_attn", steps=1, plain=True, corpus=str(erk5_dir), cache_dir=cache)
    causal = train_speed.speed("gru_lm", steps=1, corpus=str(erk5_dir), cache_dir=cache)
    assert window["targets_per_batch"] == window["batch"] == 64
    assert causal["targets_per_batch"] == causal["batch"] * 128  # a target at each of its 128 positions
    for loop in ("plain", "lightning"):
        assert window[loop]["windows_per_s"] == window[loop]["targets_per_s"] > 0
    assert window["lightning_over_plain"] > 0 and "plain" not in causal


def test_sample_speed_reports_ms_per_symbol(trained_run):
    ckpt = str(trained_run / "checkpoints" / "best.ckpt")
    result = sample_speed.speed(ckpt=ckpt, steps=6, batches=(1, 3), seed_style_steps=6)
    assert result["model"] == "lstm_attn" and set(result["ms_per_symbol"]) == {"1", "3"}
    assert result["seed_style_ms_per_symbol"] > 0 and result["total_s"]["3"] > 0
    causal = sample_speed.speed("gru_lm", steps=6, batches=(2,), uncached_steps=6)
    assert causal["model"] == "gru_lm" and causal["uncached_1_ms_per_symbol"] > 0


def test_suite_writes_its_section_and_prints_json_last(erk5_dir, tmp_path, capsys):
    docs = tmp_path / "benchmarks.md"
    old = f"{report.BEGIN}\nold figures\n{report.END}"
    docs.write_text(f"# Benchmarks\n\nhand-written\n\n{old}\n\nmore text\n")
    args = [f"corpus={erk5_dir}", f"cache_dir={tmp_path / 'cache'}", f"prepare_corpora=[{erk5_dir}]",
            "train_experiments=[gru_lm]", "plain_experiments=[gru_lm]", "train_steps=1",
            "sample_experiments=[gru_lm]", "sample_steps=4", "seed_style_steps=0", "uncached_steps=0",
            "ngram_orders=[3]", "ttq_experiments=[gru_lm]", "ttq_budget_s=2", "ttq_every_s=1",
            f"markdown={docs}", f"json={tmp_path / 'bench.json'}"]
    results = suite.main(args)
    printed = capsys.readouterr().out.strip().splitlines()
    assert json.loads(printed[-1]) == json.loads(json.dumps(results))
    assert json.loads((tmp_path / "bench.json").read_text())["train"]["gru_lm"]["batch"] > 0
    text = docs.read_text()
    assert text.startswith("# Benchmarks\n\nhand-written") and text.rstrip().endswith("more text")
    assert "old figures" not in text and "| gru_lm |" in text and text.count(report.BEGIN) == 1
    prepare = results["prepare"][str(erk5_dir)]
    assert prepare["cold"]["from_cache"] is False and prepare["warm"]["from_cache"] is True
    ttq = results["ttq"]["gru_lm"]
    assert ttq["target_bits"] == results["ngram"]["best_val_bits"] and ttq["curve"]
    assert ttq["reached_s"] is not None or ttq["curve"][-1]["train_s"] >= 2
    assert any("Lightning" in t["target"] for t in results["targets"])


def test_quick_values_apply_unless_given():
    quick = suite.settings_from(["quick=true", "ttq_budget_s=7"])
    assert quick["ttq_budget_s"] == 7 and quick["ngram_orders"] == [7] and quick["markdown"] is None
    assert suite.settings_from([])["ngram_orders"] == [5, 7, 9]
    assert suite.settings_from(["markdown=null"])["markdown"] is None  # not a file named "null"


def test_sample_ab_times_each_checkpoint_in_turn(trained_run, capsys):
    ckpt = str(trained_run / "checkpoints" / "best.ckpt")
    result = sample_ab.main([ckpt, ckpt, "--steps", "4", "--batch", "2", "--reps", "2"])
    assert list(result) == [ckpt]  # the same file twice is one entry
    row = result[ckpt]
    assert len(row["seconds"]) == 2 and row["min_s"] <= row["median_s"] and row["median_vs_first"] == 1.0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == result


def test_meter_speed_times_the_transformer_with_and_without_its_range_cost(erk5_dir, tmp_path):
    rows = meter_speed.measure("transformer_lm", steps=1, melodies=2, length=8, corpus=str(erk5_dir),
                               cache_dir=str(tmp_path / "cache"))
    assert [row["inputs"] for row in rows] == list(meter_speed.TRANSFORMER_VARIANTS)
    assert rows[1]["parameters"] - rows[0]["parameters"] == MAX_RANGE + 1  # one potential per range
    assert rows[0]["train_ratio"] == rows[0]["sample_ratio"] == 1.0
    assert all(row["targets_per_s"] > 0 and row["sample_s"] > 0 for row in rows)
