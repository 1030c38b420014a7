"""The encoding comparison: one song in each encoding, exactly, and the benchmark end to end."""

from __future__ import annotations

import json

import numpy as np

from src.bench import encodings
from src.data.vocab import BOUNDARY_ID, HOLD_ID

C, D, E = 15, 17, 19  # pitch ids
V = 40  # the grid vocabulary's size: a note's length symbols start here


def bar_of_2_4(ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Ids at 1/12 filling 2/4 bars, and each step's (position, bar length) with the closing `/`'s."""
    positions = [[k % 24, 24] for k in range(len(ids) + 1)]
    return np.array(ids, dtype=np.uint8), np.array(positions)


def test_a_song_on_each_grid_and_as_notes():
    # an eighth C, an eighth D, a quarter E: one bar of 2/4 at 1/12
    ids, positions = bar_of_2_4([C, *[HOLD_ID] * 5, D, *[HOLD_ID] * 5, E, *[HOLD_ID] * 11])
    assert encodings.on_sixteenths(ids, positions)
    symbols, places = encodings.as_grid(ids, positions, 3)
    assert symbols == [C, HOLD_ID, D, HOLD_ID, E, HOLD_ID, HOLD_ID, HOLD_ID, BOUNDARY_ID]
    assert places.tolist() == [[k, 8] for k in range(8)] + [[0, 8]]
    symbols, places = encodings.as_notes(ids, positions, V)
    assert symbols == [C, V + 5, D, V + 5, E, V + 11, BOUNDARY_ID]  # k twelfths: V + k - 1
    assert places.tolist() == [[0, 24], [0, 24], [6, 24], [6, 24], [12, 24], [12, 24], [0, 24]]


def test_a_note_longer_than_the_longest_length_goes_on_as_a_hold():
    ids, positions = bar_of_2_4([C, *[HOLD_ID] * 59, D, *[HOLD_ID] * 11])  # 60 twelfths, then 12
    symbols, places = encodings.as_notes(ids, positions, V)
    assert symbols == [C, V + 47, HOLD_ID, V + 11, D, V + 11, BOUNDARY_ID]
    assert places[:, 0].tolist() == [0, 0, 0, 0, 12, 12, 0]  # the hold starts 48 twelfths on: bar 3's 0


def test_triplets_and_a_held_opening_are_not_on_sixteenths():
    triplets, positions = bar_of_2_4([C, *[HOLD_ID] * 3, D, *[HOLD_ID] * 3, E, *[HOLD_ID] * 3, *[C] * 12])
    assert not encodings.on_sixteenths(triplets, positions)
    held, positions = bar_of_2_4([HOLD_ID] * 3 + [C] * 21)
    assert not encodings.on_sixteenths(held, positions)


def test_the_benchmark_trains_and_scores_each_encoding_in_bits_per_tune(erk5_dir, tmp_path, capsys):
    out = tmp_path / "encodings.json"
    encodings.main(["--corpus", str(erk5_dir), "--steps", "2", "--checks", "1", "--melodies", "2",
                    "--cache-dir", str(tmp_path / "cache"), "--json", str(out),
                    "data.val_fraction=0.3", "data.prepare_workers=1"])
    rows = {row["encoding"]: row for row in json.loads(out.read_text())["rows"]}
    assert list(rows) == ["grid 1/4", "grid 1/12", "notes"]
    lengths = [rows[name]["symbols_per_tune"] for name in ("notes", "grid 1/4", "grid 1/12")]
    assert lengths == sorted(lengths) and abs(lengths[2] - 3 * lengths[1]) <= 3  # a 16th: three twelfths
    for row in rows.values():
        assert row["curve"][-1][0] == 2 and 0 < row["bits_per_tune"] < 10 * row["symbols_per_tune"]
        assert row["sample_seconds"] > 0
    assert "| notes |" in capsys.readouterr().out
