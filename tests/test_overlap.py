"""`python -m src.bench.overlap`: test bits with and without held-out songs that have a near-copy."""

from __future__ import annotations

import pytest

from src.bench.overlap import main, near_copies
from src.errors import UserError


def brute_force(test, trained, k: int) -> list[bool]:
    phrases = {tuple(song[i:i + k]) for song in trained for i in range(len(song) - k + 1)}
    return [any(tuple(song[i:i + k]) in phrases for i in range(len(song) - k + 1)) for song in test]


@pytest.mark.parametrize("k", [3, 8, 16])
def test_near_copies_match_a_brute_force_search(erk5_corpus, k):
    songs = [erk5_corpus.tokens[s["offset"]:s["offset"] + s["length"]] for s in erk5_corpus.songs]
    test, trained = songs[:8], songs[8:]
    assert near_copies(test, trained, k) == brute_force(test, trained, k)


def test_clean_split_drops_near_copies_and_rescores(trained_run, capsys):
    whole = main([str(trained_run), "--window", "100000"])  # longer than any song: nothing is dropped
    scores = whole["checkpoints"][str(trained_run)]
    assert whole["near_copies"] == 0 and scores["clean"] == scores["all"]
    every = main([str(trained_run), "--window", "4"])  # 4 steps: every test song shares one
    assert every["near_copies"] == every["test_songs"]
    assert every["checkpoints"][str(trained_run)]["clean"] is None  # nothing left to score
    some = main([str(trained_run), "--window", "24"])  # 24 steps: some do (3 of the 7 here)
    assert 0 < some["near_copies"] < some["test_songs"]
    assert some["checkpoints"][str(trained_run)]["all"] == scores["all"]
    assert some["checkpoints"][str(trained_run)]["clean"] not in (None, scores["all"])
    assert '"near_copies"' in capsys.readouterr().out


def test_bad_window_is_one_line(trained_run):
    with pytest.raises(SystemExit) as exit_info:
        main([str(trained_run), "--window", "0"])
    assert exit_info.value.code == 2
    with pytest.raises(UserError, match="--window=0"):
        main.__wrapped__([str(trained_run), "--window", "0"])


