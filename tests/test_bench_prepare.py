"""The data-preparation benchmark runs end to end on a few tunes and writes complete JSON."""

from __future__ import annotations

import json

from src.bench import prepare

# 20 tunes: small enough to stay quick, large enough that val and test hold a song each
ARGS = ["--quick", "--limit-tunes", "20"]


def test_bench_prepare_quick(tmp_path, capsys):
    out = tmp_path / "bench" / "prepare.json"
    returned = prepare.main([*ARGS, "--out", str(out), "--cache-dir", str(tmp_path)])
    results = json.loads(out.read_text())
    assert results == json.loads(json.dumps(returned))
    assert list(results["corpora"]) == ["essen_erk"]
    r = results["corpora"]["essen_erk"]
    assert r["limit_tunes"] == 20

    for key in ("ours_cold", "ours_warm"):
        for field in ("seconds", "peak_rss_mb", "process_seconds", "songs_kept", "tokens", "cache_bytes"):
            assert r[key][field] > 0, (key, field)
        assert r[key]["peak_rss_source"] in ("self", "children")
    assert r["ours_cold"]["from_cache"] is False and r["ours_warm"]["from_cache"] is True
    assert r["ours_cold"]["songs_kept"] == r["ours_warm"]["songs_kept"] <= 20

    train = r["ours_train"]
    for field in ("epoch_seconds", "batches", "train_examples", "batches_per_s", "dataset_bytes",
                  "peak_rss_mb"):
        assert train[field] > 0, field
    assert set(train["dataset_bytes_per_split"]) == {"train", "val", "test"}

    seed = r["seed_style"]
    assert seed["tunes_total"] == seed["tunes_processed"] == 20 and seed["extrapolated"] is False
    for field in ("seconds", "peak_rss_mb", "windows", "vocab_size", "onehot_bytes",
                  "seconds_24key_extrapolated", "onehot_bytes_24key_extrapolated"):
        assert seed[field] > 0, field
    assert set(seed["seconds_parts"]) == {"parse", "key_transpose", "encode", "map", "onehot"}
    # essen_erk materializes the seed-style one-hot array: float32 (windows, 64, vocab) + int64 targets
    assert seed["onehot_materialized_windows"] == seed["windows"]
    per_window = 64 * seed["vocab_size"] * 4 + 8
    assert seed["onehot_materialized_bytes"] == seed["onehot_bytes"] == seed["windows"] * per_window
    assert seed["onehot_bytes_24key_extrapolated"] == 24 * seed["onehot_bytes"]
    assert all(value > 0 for value in r["ratios"].values())

    printed = capsys.readouterr().out.strip().splitlines()
    assert json.loads(printed[-1]) == results  # the JSON line comes last
    assert any(line.startswith("| essen_erk (first 20 tunes) | seed-style") for line in printed)
    assert any(line.startswith("target warm load") for line in printed)
    assert not list(tmp_path.glob("bench-prepare-*"))  # temporary caches removed
