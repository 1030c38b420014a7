"""Grids finer than 16ths: data.step as an exact fraction, triplets read, written and read back."""

from __future__ import annotations

from fractions import Fraction

import pytest

from src.data import encoding, score_writer
from src.data.corpus import grid_counts, load_or_build
from src.data.meter import bar_steps, grid_of
from src.data.record import EncodingRecord
from src.data.units import Skip, Unit
from src.data.vocab import events_to_symbols
from src.errors import UserError

# a bar of quarter + eighth triplet, one of 16ths, then two triplets and a half note (2/4, L:1/8)
TRIPLETS = "X:1\nT:t\nM:2/4\nL:1/8\nK:C\nC2 (3DEF | G/A/B/c/ d2 | (3efg (3agf | e4 |]\n"
THIRDS = 1 / 12


def test_a_tune_with_triplets_is_read_exactly_on_a_grid_of_thirds():
    song = encoding.parse_unit(Unit("t.abc", "t.abc", 0, TRIPLETS), THIRDS)[0]
    # 1/12 of a quarter per step: a quarter is 12, an eighth triplet 4, a 16th 3
    assert song.events == [(60, 12), (62, 4), (64, 4), (65, 4), (67, 3), (69, 3), (71, 3), (72, 3), (74, 12),
                           (76, 4), (77, 4), (79, 4), (81, 4), (79, 4), (77, 4), (76, 24)]
    assert song.grid == 12 and song.bars[:2] == [(0, 24), (24, 24)]


def test_on_16ths_the_same_tune_is_skipped_and_says_which_grid_holds_it():
    skip = encoding.parse_unit(Unit("t.abc", "t.abc", 0, TRIPLETS), 0.25, off_grid="skip")[0]
    assert isinstance(skip, Skip) and skip.reason == "off_grid" and skip.grid == 12
    assert grid_counts([skip]) == {"1/4": 0, "1/8": 0, "1/12": 1, "1/16": 0, "1/24": 1, "1/48": 1, "read": 1}


@pytest.mark.parametrize("writer", ["midi", "musicxml"])
def test_triplets_round_trip_through_midi_and_musicxml(writer, tmp_path):
    song = encoding.parse_unit(Unit("t.abc", "t.abc", 0, TRIPLETS), THIRDS)[0]
    path = tmp_path / f"t.{'mid' if writer == 'midi' else 'musicxml'}"
    write = score_writer.write_midi if writer == "midi" else score_writer.write_musicxml
    write(events_to_symbols(song.events), path, step=THIRDS, time_signature="2/4")
    back = encoding.read_song(path, THIRDS)
    assert back.events == song.events and back.time_signature == "2/4"
    if writer == "musicxml":  # written as tuplets: three eighths in the time of two
        assert path.read_text().count("<time-modification>") == 9


def test_data_step_is_read_as_an_exact_fraction():
    record = EncodingRecord.from_data_config({"step": "1/12"})
    assert grid_of(record.step) == Fraction(1, 12) and bar_steps("6/8", record.step) == 36
    assert EncodingRecord.from_data_config({"step": 0.25}).step == 0.25


@pytest.mark.parametrize(("value", "message"), [
    ("1/0", "data.step='1/0' is invalid: accepted a number or a fraction of a quarter note"),
    ("sixteenth", "data.step='sixteenth' is invalid"),
    ("1/100", "whose fraction has a denominator <= 64"),
    (0, "accepted a length of 0 < step <= 4 quarter notes"),
])
def test_a_bad_grid_is_one_clear_error(value, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace("?", r"\?")):
        EncodingRecord.from_data_config({"step": value})


def test_prepare_reports_what_each_grid_holds(tmp_path):
    folder = tmp_path / "tunes"
    folder.mkdir()
    plain = "X:2\nT:u\nM:2/4\nL:1/8\nK:C\nCD EF | G2 A2 | c4 |]\n"
    (folder / "tunes.abc").write_text(TRIPLETS + "\n" + plain)
    coarse = load_or_build(EncodingRecord(corpus=str(folder), off_grid="skip"), tmp_path / "cache")
    assert coarse.report["songs_kept"] == 1 and coarse.report["skipped"] == {"off_grid": 1}
    assert coarse.report["grids"]["1/4"] == 1 and coarse.report["grids"]["1/12"] == 2
    fine = load_or_build(EncodingRecord(corpus=str(folder), step=THIRDS, off_grid="skip"), tmp_path / "cache")
    assert fine.report["songs_kept"] == 2 and fine.report["grid"] == "1/12"


def test_snapping_moves_triplets_onto_16ths_and_counts_them():
    song = encoding.parse_unit(Unit("t.abc", "t.abc", 0, TRIPLETS), 0.25, off_grid="snap")[0]
    # each triplet's onsets 0, 1 1/3, 2 2/3 and end 4 (in 16ths) round to 0, 1, 3, 4: 16th, 8th, 16th
    assert song.events == [(60, 4), (62, 1), (64, 2), (65, 1), (67, 1), (69, 1), (71, 1), (72, 1), (74, 4),
                           (76, 1), (77, 2), (79, 1), (81, 1), (79, 2), (77, 1), (76, 8)]
    assert song.snapped == 9 and song.grid == 12  # the grid that would hold it exactly is still reported
    assert song.bars[:2] == [(0, 8), (8, 8)]


def test_snapping_drops_a_note_left_with_no_length():
    tune = "X:1\nT:t\nM:2/4\nL:1/16\nK:C\nC/D/ E3 F4 |]\n"  # two 32nds: C ends at 1/2 step, D at 1
    song = encoding.parse_unit(Unit("t.abc", "t.abc", 0, tune), 0.25, off_grid="snap")[0]
    assert song.events == [(60, 1), (64, 3), (65, 4)] and song.snapped == 2  # D: from 1 to 1, dropped
    skip = encoding.parse_unit(Unit("t.abc", "t.abc", 0, tune), 0.25, off_grid="skip")[0]
    assert isinstance(skip, Skip) and skip.reason == "off_grid"


def test_prepare_counts_what_snapping_moved(tmp_path):
    folder = tmp_path / "tunes"
    folder.mkdir()
    (folder / "tunes.abc").write_text(TRIPLETS + "\nX:2\nT:u\nM:2/4\nL:1/8\nK:C\nCD EF | G2 A2 | c4 |]\n")
    corpus = load_or_build(EncodingRecord(corpus=str(folder), off_grid="snap"), tmp_path / "cache")
    report = corpus.report
    assert report["songs_kept"] == 2 and report["skipped"] == {}
    assert report["snapped_songs"] == 1 and report["snapped_notes"] == 9
    assert report["config"]["off_grid"] == "snap"


def test_snap_is_the_default_and_a_checkpoint_without_the_key_was_built_skipping():
    assert EncodingRecord().off_grid == "snap" and "off_grid" in EncodingRecord().to_checkpoint()
    stored = EncodingRecord(off_grid="skip").to_checkpoint()
    assert "off_grid" not in stored  # as every checkpoint before snap became the default stored it
    assert EncodingRecord.from_checkpoint(stored).off_grid == "skip"
    assert EncodingRecord.from_checkpoint(EncodingRecord().to_checkpoint()).off_grid == "snap"


def test_a_bad_off_grid_setting_is_one_clear_error():
    with pytest.raises(UserError, match=r"data.off_grid='round' is not accepted; accepted: skip .* or snap"):
        EncodingRecord.from_data_config({"off_grid": "round"})
