"""`python -m src.bench.neighbours`: a song's opening scored alone and after the song before it."""

from __future__ import annotations

import pytest

from src.bench.neighbours import main
from src.errors import UserError


def test_openings_are_scored_alone_and_after_their_neighbour(transformer_run, capsys):
    first = main([str(transformer_run), "--opening", "8", "--songs", "1"])
    scores = first["checkpoints"][str(transformer_run)]
    for split in ("train", "test"):
        alone, after = scores[split]["alone"], scores[split]["after_neighbour"]
        assert alone["steps"] == after["steps"] == 8
        assert alone == after  # a split's first song has no song before it: the two readings agree
        assert alone["bits"] > 0 and alone["holds_predicted_over_actual"] > 0
    run = str(transformer_run)
    three = main([run, "--opening", "8", "--songs", "3"])["checkpoints"][run]
    assert three["train"]["alone"]["steps"] == 24
    assert three["train"]["alone"]["bits"] != three["train"]["after_neighbour"]["bits"]  # now it reads one
    assert '"after_neighbour"' in capsys.readouterr().out


def test_bad_settings_and_window_models_are_refused_in_one_line(transformer_run, trained_run):
    with pytest.raises(SystemExit) as exit_info:
        main([str(transformer_run), "--opening", "0"])
    assert exit_info.value.code == 2
    with pytest.raises(UserError, match="--songs=0 is not accepted"):
        main.__wrapped__([str(transformer_run), "--songs", "0"])
    with pytest.raises(UserError, match="is not a causal net"):
        main.__wrapped__([str(trained_run)])
