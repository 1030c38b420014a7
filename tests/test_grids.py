"""Grids finer than 16ths: data.step as an exact fraction, triplets read, written and read back."""

from __future__ import annotations

from fractions import Fraction

import pytest

from src.data import encoding, score_writer
from src.data.build_report import grid_counts
from src.data.corpus import load_or_build
from src.data.meter import bar_steps, grid_of
from src.data.record import EncodingRecord
from src.data.units import Skip, Song, Unit, list_units
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
    ("1/0", "data.step='1/0' is not accepted; accepted: a number or a fraction of a quarter note"),
    ("sixteenth", "data.step='sixteenth' is not accepted"),
    ("1/100", "whose fraction has a denominator <= 64"),
    (0, "accepted: a length of 0 < step <= 4 quarter notes"),
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


@pytest.mark.parametrize("step", ["1/7", "1/3", "1/5", "1", "3/4", "2/3", "1/9", "2"])
def test_a_grid_that_does_not_hold_an_eighth_note_is_refused_naming_the_accepted_ones(step):
    with pytest.raises(UserError) as refused:
        EncodingRecord.from_data_config({"step": step})
    message = str(refused.value)
    assert message.startswith(f"data.step={str(Fraction(step))!r} is not accepted; accepted: 1/q of a "
                              "quarter note with q even, up to 64, e.g. 1/2 (8ths), 1/4 (16ths)")
    assert message.endswith(": a grid that holds an eighth note (else bars of 3/8 and bar lines on an "
                            "eighth fall between steps)")


def test_every_accepted_grid_holds_every_bar_of_x_2_x_4_and_x_8():
    accepted = [q for q in range(1, 65) if _accepted(f"1/{q}")]
    assert accepted == list(range(2, 65, 2))
    for q in accepted:
        for meter in ("2/2", "3/2", "2/4", "3/4", "4/4", "5/4", "3/8", "5/8", "6/8", "7/8", "9/8", "12/8"):
            assert bar_steps(meter, 1 / q) == Fraction(4 * int(meter[:-2]), int(meter[-1])) * q


def _accepted(step: str) -> bool:
    try:
        EncodingRecord.from_data_config({"step": step})
    except UserError:
        return False
    return True


# each parses at 1/4; on coarser or odder grids each is skipped for what it is, or kept with snap
PICKUP_16TH = "X:1\nT:p\nM:2/4\nL:1/16\nK:C\nc | d2e2 f4 | g4 a2b2 | c'8 |]\n"  # a bar line after a 16th
SEVEN_16 = "X:1\nT:s\nM:7/16\nL:1/16\nK:C\ncdefgab | c'bagfed | c7 |]\n"  # a bar of 3.5 eighths
THREE_8 = "X:1\nT:t\nM:3/8\nL:1/8\nK:C\nc | def | gab | c'3 |]\n"


@pytest.mark.parametrize("step", [1 / 4, 1 / 2, 1 / 6, 1 / 14, 1 / 7, 1.0])
def test_a_tune_that_parses_is_never_a_parse_error_on_any_grid(step, erk5_dir):
    tunes = [Unit("t.abc", "t.abc", 0, t) for t in (TRIPLETS, PICKUP_16TH, SEVEN_16, THREE_8)]
    units = tunes + [u for u in list_units(erk5_dir / "erk5.abc", erk5_dir) if isinstance(u, Unit)][:10]
    assert all(isinstance(s, Song) for u in units for s in encoding.parse_unit(u, 1 / 4))
    for off_grid in ("snap", "skip"):
        for unit in units:
            for item in encoding.parse_unit(unit, step, off_grid=off_grid):
                assert not isinstance(item, Skip) or item.reason in ("off_grid", "meter_off_grid"), (
                    step, off_grid, unit.text[:30] if unit.text else unit.path, item)
                if isinstance(item, Skip) and item.reason == "meter_off_grid":  # its bar is no whole steps
                    with pytest.raises(UserError):
                        bar_steps(item.detail.split()[3], step)
                elif off_grid == "snap":  # snapping moves notes and bar lines alike: the song is kept
                    assert isinstance(item, Song), (step, item)


def test_snapping_moves_a_bar_line_off_the_grid_with_its_notes():
    song = encoding.parse_unit(Unit("t.abc", "t.abc", 0, PICKUP_16TH), 1 / 2, off_grid="snap")[0]
    # on 8ths the 16th pickup c ends at half a step: rounded up, its bar line and every later note with it
    assert song.events[:3] == [(72, 1), (74, 1), (76, 1)] and song.snapped == 8
    assert song.bars[:2] == [(-3, 4), (1, 4)]  # a pickup of one step, then whole 2/4 bars of 4 steps
    skip = encoding.parse_unit(Unit("t.abc", "t.abc", 0, PICKUP_16TH), 1 / 2, off_grid="skip")[0]
    assert isinstance(skip, Skip) and skip.reason == "off_grid"


def test_a_meter_the_grid_cannot_hold_is_reported_as_such_in_prepare(tmp_path):
    folder = tmp_path / "tunes"
    folder.mkdir()
    (folder / "tunes.abc").write_text(PICKUP_16TH + "\n" + SEVEN_16 + "\n" + THREE_8)
    corpus = load_or_build(EncodingRecord(corpus=str(folder), step=1 / 2), tmp_path / "cache")
    assert corpus.report["skipped"] == {"meter_off_grid": 1} and corpus.report["songs_kept"] == 2
    assert corpus.report["skipped_examples"][0]["detail"] == (
        "a bar of 7/16 is not a whole number of 1/2-quarter-note steps")
