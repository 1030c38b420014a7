"""tools/calibration.py: reliability buckets, tempered bits and the widening probability, counted exactly."""

from __future__ import annotations

import math
import sys

import pytest
import torch

from src.data.vocab import BOUNDARY_ID, HOLD_ID
from tools import calibration


def test_reliability_buckets_what_was_predicted_against_what_came():
    logits = torch.log(torch.tensor([[0.9, 0.08, 0.02], [0.9, 0.08, 0.02]]))
    rows = {low: (round(predicted, 6), came, pairs)
            for low, predicted, came, pairs in calibration.reliability(logits, torch.tensor([0, 1]))}
    assert rows[0.1] == (1.8, 1.0, 2)  # the 0.9s: predicted 1.8, one came
    assert rows[0.03] == (0.16, 1.0, 2)  # the 0.08s: one came, six times what was predicted
    assert rows[0.01] == (0.04, 0.0, 2)  # (bucket edges away from float32's rounding of the values)
    assert sum(r[2] for r in rows.values()) == 6


def test_tempered_bits_of_a_uniform_net_are_log2_of_its_symbols_at_any_temperature():
    logits, targets = torch.zeros(5, 4), torch.tensor([0, 1, 2, 3, 0])
    assert calibration.tempered_bits(logits, targets, 1.0) == pytest.approx(2.0)
    assert calibration.tempered_bits(logits, targets, 1.3) == pytest.approx(2.0)
    peaked = torch.tensor([[math.log(3), 0.0]])  # P = 0.75 for the target at temperature 1
    assert calibration.tempered_bits(peaked, torch.tensor([0]), 1.0) == pytest.approx(-math.log2(0.75))


def test_widening_counts_only_pitches_past_the_span_and_the_song_so_far():
    ids = torch.tensor([BOUNDARY_ID, 10, HOLD_ID, 14])  # pitches a semitone apart from id 3
    total, steps = calibration.widening(torch.zeros(4, 30), ids, span=5)
    # after 10 (twice): ids 3-4 and 16-29 (16 of 30); after 14 (span 10..14): ids 3-8 and 16-29 (20)
    assert steps == 3 and total == pytest.approx((16 + 16 + 20) / 30)


def test_the_tool_prints_its_three_tables_and_refuses_a_bad_split(transformer_run, monkeypatch, capsys):
    ckpt = str(transformer_run / "checkpoints" / "best.ckpt")
    monkeypatch.setattr(sys, "argv", ["calibration", ckpt, "--split", "test", "--melodies", "3"])
    calibration.main()
    out = capsys.readouterr().out
    assert "| came / predicted (test songs) |" in out and "| test bits |" in out
    assert "| its melodies |" in out and "| test songs |" in out
    monkeypatch.setattr(sys, "argv", ["calibration", ckpt, "--split", "train"])
    with pytest.raises(SystemExit) as stop:
        calibration.main()
    assert stop.value.code == 2
    assert "--split='train' is not accepted; accepted: test, val" in capsys.readouterr().err
