"""The melody line of a score: which part holds it, one note at a time, and its notes on the grid.

Pure Python on what src/data/encoding.py reads from music21: each part's name and its sounding notes
and rests (`Sounding`). `data.melody` chooses the part (the rules below), then where notes overlap the
top one is kept at each onset and the one before it ends there (Magenta's melody extraction does the
same); `strict` refuses any score that is not one line already, as the corpus did before.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from src.checks import check
from src.data.vocab import tidy_rests

CHOICES = ("auto", "first", "highest", "strict", "track:N")
OFF_GRID = ("skip", "snap")  # data.off_grid: a note off the grid skips its song, or moves to the nearest step
# a part named like the tune, as MIDI track names and MusicXML part names write it
_MELODY_NAME = re.compile(r"melod|lead|tune|vocal|voice|voix|stimme|singer|solo|air\b", re.IGNORECASE)
Events = list[tuple[int | None, int]]


class MelodyError(ValueError):
    """No melody line in a score; `reason` is counted in the corpus report."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Sounding:
    """A note (its pitches: several for a chord) or a rest (no pitches), in quarter notes."""

    onset: Fraction
    length: Fraction
    pitches: tuple[int, ...] = ()
    tied: bool = False  # continues a tied note of the same pitch


def check_melody(value: object) -> str:
    """`data.melody`, checked: auto, first, highest, strict or track:N (N >= 1)."""
    return check("data.melody", value, isinstance(value, str) and bool(
        value in CHOICES[:4] or re.fullmatch(r"track:[1-9][0-9]*", value)),
        "auto (a part named like a melody, else the first with notes), first, highest (the highest part), "
        "strict (one line only), or track:N (the N-th part with notes, from 1)")


def check_off_grid(value: object) -> str:
    """`data.off_grid`, checked: skip or snap."""
    return check("data.off_grid", value, value in OFF_GRID,
                 "skip (a song with a note off the grid is left out, counted as off_grid) or snap (each "
                 "onset and end moves to the nearest step; notes left with no length are dropped; both "
                 "counted)")


def choose_part(names: list[str], parts: list[list[Sounding]], choice: str) -> tuple[int, str]:
    """(index of the melody's part, how it was chosen) among parts with notes."""
    if len(parts) == 1 and not choice.startswith("track:"):
        return 0, "only part"
    if choice == "strict":
        raise MelodyError("polyphony", f"{len(parts)} parts with notes")
    if choice.startswith("track:"):
        number = int(choice.split(":")[1])
        if number > len(parts):
            raise MelodyError("no_track", f"{choice} asked of a score with {len(parts)} parts with notes")
        return number - 1, f"track {number}"
    if choice == "auto":
        named = [i for i, name in enumerate(names) if _MELODY_NAME.search(name or "")]
        if named:
            return named[0], "named part"
    if choice == "highest":
        means = [_mean_top_pitch(notes) for notes in parts]
        return means.index(max(means)), "highest part"
    return 0, "first part"


def _mean_top_pitch(notes: list[Sounding]) -> float:
    weighted = [(max(n.pitches), n.length) for n in notes if n.pitches]
    total = sum(length for _, length in weighted)
    return float(sum(p * length for p, length in weighted) / total) if total else -math.inf


def one_line(notes: list[Sounding], strict: bool) -> tuple[list[Sounding], bool]:
    """The notes as one line, and whether anything overlapped: the top note of a chord, and at each
    onset the top note starting there, the note before it cut where it begins (rests are the gaps).
    `strict`: a chord or an overlap refuses the score instead."""
    if strict:
        _check_one_line(notes)
        return notes, False
    starts: dict[Fraction, Sounding] = {}
    overlapped = False
    for note in notes:
        if not note.pitches:
            continue
        top = Sounding(note.onset, note.length, (max(note.pitches),), note.tied)
        overlapped |= len(note.pitches) > 1
        if note.onset in starts:
            overlapped = True
            if top.pitches[0] <= starts[note.onset].pitches[0]:
                continue
        starts[note.onset] = top
    line = [starts[onset] for onset in sorted(starts)]
    for k in range(len(line) - 1):
        end = line[k + 1].onset
        if line[k].onset + line[k].length > end:
            overlapped = True
            line[k] = Sounding(line[k].onset, end - line[k].onset, line[k].pitches, line[k].tied)
    return line, overlapped


def _check_one_line(notes: list[Sounding]) -> None:
    cursor = None
    for note in notes:
        if len(note.pitches) > 1:
            raise MelodyError("chord", f"chord at offset {note.onset}")
        if cursor is not None and note.onset < cursor and note.length > 0:
            raise MelodyError("polyphony", f"overlapping notes at offset {note.onset}")
        cursor = max(cursor or 0, note.onset + note.length)


def finest_grid(notes: list[Sounding]) -> int:
    """q of the coarsest grid 1/q quarter note that holds every onset and length (12: 16ths and
    eighth-note triplets); 0 when one is no fraction with a denominator up to 960."""
    finest = 1
    for note in notes:
        for value in (note.onset, note.length):
            exact = Fraction(value).limit_denominator(960)
            if exact != value and abs(float(exact) - float(value)) > 1e-9:
                return 0
            finest = math.lcm(finest, exact.denominator)
    return finest


def grid_events(notes: list[Sounding], grid: Fraction, snap: bool = False) -> tuple[Events, int, int]:
    """One line of notes -> (events on the grid, the step of the first, notes moved). Ties become holds,
    gaps and rests merge into rests, outer rests are dropped. A time off the grid raises MelodyError, or
    with `snap` moves to the nearest step (halves round up): rounding onsets and ends alike keeps the
    notes in order, and a note whose onset and end meet is dropped (counted as moved)."""
    events: Events = []
    cursor: int | None = None  # end of the last event, in steps
    moved = 0
    for note in notes:
        onset, end = Fraction(note.onset) / grid, (Fraction(note.onset) + Fraction(note.length)) / grid
        if onset.denominator != 1 or end.denominator != 1:
            if not snap:
                raise MelodyError("off_grid", f"offset {note.onset}, length {note.length}")
            moved += 1
            onset, end = math.floor(onset + Fraction(1, 2)), math.floor(end + Fraction(1, 2))
        onset_i, length_i = int(onset), int(end - onset)
        if length_i == 0:
            continue
        if cursor is not None and onset_i < cursor:
            raise MelodyError("polyphony", f"overlapping notes at offset {note.onset}")
        if cursor is not None and onset_i > cursor:
            events.append((None, onset_i - cursor))  # a gap is a rest
        pitch = note.pitches[0] if note.pitches else None
        if events and ((note.tied and events[-1][0] == pitch) or (pitch is None and events[-1][0] is None)):
            events[-1] = (pitch, events[-1][1] + length_i)
        else:
            events.append((pitch, length_i))
        cursor = onset_i + length_i
    first = cursor - sum(steps for _, steps in events) if cursor is not None else 0
    merged, leading = tidy_rests(events)
    first += leading
    if not merged:
        raise MelodyError("no_notes")
    return merged, first, moved
