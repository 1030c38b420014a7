"""Where the bar is: positions read from hand-written tunes in every format, and written back to files."""

from __future__ import annotations

import numpy as np
import pytest

from src.data import encoding, score_writer
from src.data.meter import (
    bar_positions,
    bar_steps,
    beat_steps,
    check_pickup,
    nominal_bars,
    pickup,
    planned_positions,
)
from src.data.units import Unit
from src.data.vocab import events_to_symbols
from src.errors import UserError


def _abc(meter: str, body: str, length: str = "1/8") -> str:
    return f"X:1\nT:t\nM:{meter}\nL:{length}\nK:C\n{body}\n"


def _positions(song) -> tuple[list[int], list[int]]:
    steps = sum(n for _, n in song.events)
    table = bar_positions(song.bars, steps)
    return table[:, 0].tolist(), table[:, 1].tolist()


def _song(text: str):
    return encoding.parse_unit(Unit("t.abc", "t.abc", 0, text), 0.25)[0]


# (meter, ABC body, expected pickup, expected positions of every step and of the closing '/')
TUNES = [
    ("2/4", "G|c2 e2|g4|]", 2, [6, 7] + list(range(8)) + list(range(8)) + [0]),
    ("3/4", "D|G2 B2 d2|c6|]", 2, [10, 11] + list(range(12)) * 2 + [0]),
    ("4/4", "GA|c2 e2 g2 e2|c6|]", 4, [12, 13, 14, 15] + list(range(16)) + list(range(12)) + [12]),
    ("6/8", "A|d2 f e2 d|c3 A2|]", 2, [10, 11] + list(range(12)) + list(range(10)) + [10]),
    ("3/8", "c|e2 g|c3|]", 2, [4, 5] + list(range(6)) * 2 + [0]),
    ("3/4", "G2 B2 d2|c6|]", 0, list(range(12)) * 2 + [0]),  # starts on the downbeat
]


@pytest.mark.parametrize(("meter", "body", "expected_pickup", "expected"), TUNES)
def test_abc_positions_follow_the_written_bars(meter, body, expected_pickup, expected):
    song = _song(_abc(meter, body))
    positions, lengths = _positions(song)
    assert song.time_signature == meter
    assert positions == expected
    assert set(lengths) == {bar_steps(meter, 0.25)}
    assert pickup(bar_positions(song.bars, len(expected) - 1)) == expected_pickup


@pytest.mark.parametrize("change", ["[M:2/4] ", "\nM:2/4\n"])
def test_a_meter_change_inside_a_tune_moves_the_bar_lines(change):
    # music21 keeps 3/4 as the time signature of every measure; the measures as written say 2/4
    song = _song(_abc("3/4", f"D|G2 B2 d2|{change}c2 A2|G4|]"))
    positions, lengths = _positions(song)
    assert positions == [10, 11] + list(range(12)) + list(range(8)) * 2 + [0]
    assert lengths == [12] * 14 + [8] * 17


def test_leading_rests_are_dropped_and_the_pickup_counts_from_the_first_note():
    song = _song(_abc("2/4", "z2 GA|c4 e4|g8|]", length="1/16"))
    assert _positions(song)[0][:3] == [6, 7, 0]


def test_musicxml_kern_and_midi_give_the_same_bars(tmp_path):
    kern = "**kern\n*M3/4\n8d\n=1\n4g\n4b\n4dd\n=2\n2.cc\n==\n*-\n"
    (tmp_path / "t.krn").write_text(kern)
    song = encoding.read_song(tmp_path / "t.krn")
    assert _positions(song)[0] == [10, 11] + list(range(12)) * 2 + [0]
    symbols = "62 _ 67 _ _ _ 71 _ _ _ 74 _ _ _ 72 _ _ _ _ _ _ _ _ _ _ _".split()
    for suffix, writer in ((".musicxml", score_writer.write_musicxml), (".mid", score_writer.write_midi)):
        writer(symbols, tmp_path / f"m{suffix}", time_signature="3/4", pickup=2)
        back = encoding.read_song(tmp_path / f"m{suffix}")
        assert back.time_signature == "3/4", suffix
        assert _positions(back) == _positions(song), suffix


METERS = [("2/4", 2), ("3/4", 2), ("4/4", 4), ("6/8", 2), ("3/8", 2), ("4/4", 0), ("6/8", 0)]


@pytest.mark.parametrize(("meter", "pickup_steps"), METERS)
def test_written_files_keep_the_meter_and_pickup_and_every_symbol(tmp_path, meter, pickup_steps):
    symbols = "62 _ 67 _ _ _ 71 _ _ _ _ 74 _ _ r _ 72 _ _ _ 69 _ 67 _ _ _ _ _ _ _".split()
    for suffix, writer in ((".musicxml", score_writer.write_musicxml), (".mid", score_writer.write_midi)):
        path = tmp_path / f"m{suffix}"
        writer(symbols, path, time_signature=meter, pickup=pickup_steps)
        song = encoding.read_song(path)
        assert (song.time_signature, events_to_symbols(song.events)) == (meter, symbols), suffix
        steps = len(symbols)
        expected = planned_positions(bar_steps(meter, 0.25), pickup_steps, steps + 1)
        assert bar_positions(song.bars, steps).tolist() == expected.tolist(), suffix


def test_a_midi_file_without_a_meter_is_read_as_4_4_and_says_so(tmp_path):
    import music21 as m21

    part = m21.stream.Part([m21.note.Note(60, quarterLength=1), m21.note.Note(62, quarterLength=2)])
    midi = m21.midi.translate.streamToMidiFile(part)
    data = bytearray(midi.writestr())
    index = data.find(b"\xff\x58")
    if index >= 0:  # music21 writes a default meter event: rename it to a text event
        data[index + 1] = 0x01
    (tmp_path / "m.mid").write_bytes(bytes(data))
    song = encoding.read_song(tmp_path / "m.mid")
    assert (song.time_signature, song.meter_stated) == ("4/4", False)


def test_nominal_bars_read_a_pickup_and_a_short_last_bar():
    assert nominal_bars([(0, 2), (2, 12), (14, 10)], 12) == [(-10, 12), (2, 12), (14, 12)]
    assert nominal_bars([(0, 12), (12, 8), (20, 8)], 12) == [(0, 12), (12, 8), (20, 8)]
    assert nominal_bars([(0, 0), (0, 16)], None) == [(0, 16)]  # empty measures are skipped


def test_beats_and_bars_in_steps():
    assert [bar_steps(m, 0.25) for m in ("2/4", "3/4", "4/4", "6/8", "3/8", "3/2")] == [8, 12, 16, 12, 6, 24]
    assert [beat_steps(m, 0.25) for m in ("2/4", "3/4", "6/8", "3/8", "12/8", "2/2")] == [4, 4, 6, 2, 6, 8]
    assert bar_steps("3/4", 1 / 12) == 36


def test_pickups_outside_the_bar_are_refused():
    assert check_pickup(3, 12) == 3
    for bad in (-1, 12, 2.5, True):
        with pytest.raises(UserError, match=r"^pickup=.*accepted: an integer 0\.\.11"):
            check_pickup(bad, 12)
    with pytest.raises(UserError, match=r"time_signature='5/0' is not accepted"):
        bar_steps("5/0", 0.25)


def test_planned_positions_start_in_the_pickup():
    assert planned_positions(8, 3, 10).tolist() == [[p, 8] for p in (5, 6, 7, 0, 1, 2, 3, 4, 5, 6)]
    assert np.array_equal(planned_positions(6, 0, 3)[:, 0], [0, 1, 2])
