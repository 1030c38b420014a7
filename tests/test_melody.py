"""The melody out of multi-track MIDI and chords: hand-made files, exact notes for each `data.melody`."""

from __future__ import annotations

import struct
from fractions import Fraction

import pytest

from src.data import encoding
from src.data.corpus import load_or_build
from src.data.melody import Sounding, check_melody, one_line
from src.data.record import EncodingRecord
from src.data.units import Skip, Unit
from src.errors import UserError

TICKS = 480  # per quarter note


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _track(name: str, notes: list[tuple[float, float, int]], channel: int = 0) -> bytes:
    """A MIDI track named `name` with (start, length in quarter notes, pitch) notes."""
    events = []
    for start, length, pitch in notes:
        events.append((round(start * TICKS), 1, bytes([0x90 | channel, pitch, 90])))
        events.append((round((start + length) * TICKS), 0, bytes([0x80 | channel, pitch, 0])))
    data, now = b"\x00\xff\x03" + _vlq(len(name)) + name.encode(), 0
    for time, _, message in sorted(events):
        data += _vlq(time - now) + message
        now = time
    data += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(data)) + data


def _midi(path, *tracks: bytes) -> str:
    path.write_bytes(b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), TICKS) + b"".join(tracks))
    return str(path)


CHORDS = [(0, 2, 48), (0, 2, 52), (0, 2, 55), (2, 2, 53), (2, 2, 57), (2, 2, 60)]
MELODY = [(0, 1, 72), (1, 0.5, 74), (1.5, 0.5, 76), (2, 2, 77)]


def _song(path: str, melody: str):
    return encoding.parse_unit(Unit(path, "t.mid"), 0.25, melody=melody)[0]


@pytest.mark.parametrize(("choice", "events", "how"), [
    ("auto", [(72, 4), (74, 2), (76, 2), (77, 8)], "named part"),  # the track named Melody, though second
    ("highest", [(72, 4), (74, 2), (76, 2), (77, 8)], "highest part"),
    ("track:2", [(72, 4), (74, 2), (76, 2), (77, 8)], "track 2"),
    ("first", [(55, 8), (60, 8)], "first part"),  # the chord track: its top notes
])
def test_the_melody_track_is_taken_and_the_chords_dropped(tmp_path, choice, events, how):
    path = _midi(tmp_path / "t.mid", _track("Chords", CHORDS, channel=1), _track("Melody", MELODY))
    song = _song(path, choice)
    assert song.events == events and song.melody == how


@pytest.mark.parametrize(("choice", "reason"), [("strict", "polyphony"), ("track:3", "no_track")])
def test_a_score_without_the_asked_line_is_skipped_by_reason(tmp_path, choice, reason):
    path = _midi(tmp_path / "t.mid", _track("Chords", CHORDS, channel=1), _track("Melody", MELODY))
    skip = _song(path, choice)
    assert isinstance(skip, Skip) and skip.reason == reason


def test_a_double_stop_keeps_its_top_note_unless_strict():
    text = "X:1\nT:t\nM:2/4\nL:1/4\nK:C\nC [EG] | [Ac] B | c2 |]\n"
    song = encoding.parse_unit(Unit("t.abc", "t.abc", 0, text), 1.0)[0]
    assert [p for p, _ in song.events] == [60, 67, 72, 71, 72] and song.overlapped
    skip = encoding.parse_unit(Unit("t.abc", "t.abc", 0, text), 1.0, melody="strict")[0]
    assert isinstance(skip, Skip) and skip.reason == "chord"


def test_overlapping_notes_keep_the_top_one_at_each_onset_and_cut_the_one_before():
    q = Fraction
    notes = [Sounding(q(0), q(2), (60,)), Sounding(q(1), q(2), (64,)), Sounding(q(1), q(1), (55,)),
             Sounding(q(3), q(1), ())]
    line, overlapped = one_line(notes, strict=False)
    assert [(n.onset, n.length, n.pitches) for n in line] == [(0, 1, (60,)), (1, 2, (64,))] and overlapped


def test_a_corpus_reports_how_each_melody_was_chosen(tmp_path):
    folder = tmp_path / "midi"
    folder.mkdir()
    _midi(folder / "named.mid", _track("Chords", CHORDS, channel=1), _track("Melody", MELODY))
    _midi(folder / "plain.mid", _track("Fiddle", [(0, 1, 72), (1, 1, 71), (2, 2, 72)]))
    report = load_or_build(EncodingRecord(corpus=str(folder)), tmp_path / "cache").report
    assert report["melody"] == {"named part": 1, "only part": 1} and report["songs_kept"] == 2


def test_a_bad_melody_choice_is_one_line():
    with pytest.raises(UserError, match=r"data.melody='top' is not accepted; accepted: auto"):
        EncodingRecord(melody="top")
    assert check_melody("track:12") == "track:12"
    with pytest.raises(UserError):
        check_melody("track:0")
