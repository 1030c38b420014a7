"""The refactor guards: tools.same_melodies samples every mode each bundled model offers, and
tools.same_figures names exactly the figures that moved."""

from __future__ import annotations

from pathlib import Path

from src.models.checkpoint import load_module
from tools.same_figures import moved
from tools.same_melodies import cases


def test_same_melodies_covers_every_mode_of_every_bundled_model():
    for ckpt in sorted(Path("models").glob("*.ckpt")):
        modes = {next((a.split("=", 1)[1] for a in settings if a.startswith("mode=")), "continue")
                 for _, settings in cases(ckpt.stem)}
        assert modes == set(load_module(ckpt).modes), ckpt.stem


def test_same_figures_names_each_figure_that_moved_and_forgives_only_the_known_flip():
    before = {"debug": {"val/bits": 3.04, "test/bits": 3.00},
              "transformer_lm": {"test/loss": 0.9245346188545227}}
    assert moved(before, before) == []
    # one float32 step, seen run to run on unchanged code
    flip = {**before, "transformer_lm": {"test/loss": 0.9245345592498779}}
    assert moved(before, flip) == []
    now = {"debug": {"val/bits": 3.05, "test/bits": 3.00}, "transformer_lm": {"test/loss": 0.92}}
    assert moved(before, now) == ["debug val/bits: 3.04 -> 3.05",
                                  "transformer_lm test/loss: 0.9245346188545227 -> 0.92"]
    gone = moved(before, {"debug": before["debug"]})
    assert gone == ["transformer_lm test/loss: 0.9245346188545227 -> None"]
