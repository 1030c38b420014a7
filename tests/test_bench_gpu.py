"""The GPU benchmark runs end to end on a CPU with tiny settings, and refuses bad arguments in one line."""

from __future__ import annotations

import json
import math

import pytest

from src.bench import gpu

TINY = ["model.net.d_model=16", "model.net.num_layers=1", "model.net.heads=2", "model.net.kv_heads=1",
        "model.net.ff_size=32", "data.sequence_length=64", "data.segment_stride=64", "data.prepare_workers=1"]


def test_gpu_bench_reports_throughput_per_mode_and_an_epoch_against_the_ngram(erk5_dir, tmp_path, capsys):
    out = tmp_path / "gpu.json"
    gpu.main(["--device", "cpu", "--experiments", "transformer_lm", "--modes", "fp32", "bf16",
              "--batches", "2", "--steps", "2", "--epoch-seconds", "5", "--corpus", str(erk5_dir),
              "--cache-dir", str(tmp_path / "cache"), "--out", str(out), "--set", *TINY])
    result = json.loads(out.read_text())
    assert [(r["mode"], r["batch"]) for r in result["throughput"]] == [("fp32", 2), ("bf16", 2)]
    for row in result["throughput"]:
        assert row["targets_per_s"] > 0 and row["targets_per_step"] == 2 * 64 and row["peak_mib"] == "-"
    (epoch,) = result["epoch"]
    assert epoch["experiment"] == "transformer_lm" and epoch["batch"] == 2 and epoch["steps"] >= 1
    assert epoch["stopped_by"] in ("epochs", "time") and epoch["ngram_order"] == 5
    assert math.isfinite(epoch["final_val_bits"]) and 0 < epoch["ngram_val_bits"] < 10
    printed = capsys.readouterr().out
    assert "| transformer_lm | bf16 | 2 |" in printed and result["command"] in printed


@pytest.mark.parametrize("bad", [["--modes", "fp16"], ["--experiments", "nope"], ["--device", "cuda:7"],
                                 ["--device", "meta"], ["--out", "/proc/x/result.json"]])
def test_gpu_bench_refuses_bad_arguments_in_one_line(bad, capsys):
    with pytest.raises(SystemExit) as exit_info:
        gpu.main(["--device", "cpu", *bad])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
