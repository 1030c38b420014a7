"""Score files -> note events: the reading half of the music21 boundary (src/data/score_writer.py writes).

Parsing works on *units* (`src/data/units.py`: one ABC tune, or one whole file of another format) so
a corpus can be parsed in parallel and one broken tune never costs the rest of its file.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from fractions import Fraction
from pathlib import Path

import music21 as m21

from src.data.abc_text import PreparedAbc, abc_field, prepare_abc
from src.data.form import played_form
from src.data.kern_text import expansion_order
from src.data.keys import MAJOR_MODES, MINOR_MODES, abc_declared_key
from src.data.melody import MelodyError, Sounding, choose_part, finest_grid, grid_events, one_line
from src.data.meter import bar_steps, grid_of, midi_divisors, nominal_bars, parse_time_signature
from src.data.repeats import Mark, RepeatError, expand, planned_order, played_order
from src.data.units import MIDI_SUFFIXES, Skip, Song, Unit, decode_text, states_meter
from src.errors import UserError

# bar lines that end a section: a later `:|` with no `|:` goes back to after them
_SECTION = {"double", "final", "light-light", "light-heavy", "heavy-light", "heavy-heavy"}


class _SkipSong(Exception):
    def __init__(self, reason: str, detail: str = "", grid: int = 0) -> None:
        super().__init__(detail)
        self.reason, self.detail, self.grid = reason, detail, grid


def parse_unit(unit: Unit, step: float, expand_repeats: bool = True,
               melody: str = "auto", off_grid: str = "snap") -> list[Song | Skip]:
    """Parse one unit into Songs (or Skips with their reason): the `melody` line (src/data/melody.py), its
    repeats played out unless `expand_repeats` is false, notes off the grid moved to the nearest step or,
    with `off_grid="skip"`, skipping the song. Never raises for bad input."""
    with warnings.catch_warnings(), _without_beaming():
        warnings.simplefilter("ignore")
        try:
            abc = prepare_abc(unit.text) if unit.text is not None else None  # once: parse and marks read it
            score = _parse_score(unit, abc, step)
        except Exception as err:  # music21 raises many kinds on malformed input
            return [Skip(unit.source, unit.index, "parse_error", f"{type(err).__name__}: {err}"[:200])]
        scores = list(score.scores) if isinstance(score, m21.stream.Opus) else [score]
        results: list[Song | Skip] = []
        for offset, one in enumerate(scores):
            index = unit.index + offset
            try:
                results.append(_song_from_score(one, unit, abc, index, step, expand_repeats, melody,
                                                off_grid))
            except _SkipSong as skip:
                results.append(Skip(unit.source, index, skip.reason, skip.detail, skip.grid))
            except Exception as err:
                detail = f"{type(err).__name__}: {err}"[:200]
                results.append(Skip(unit.source, index, "parse_error", detail))
        return results


def key_profiles() -> tuple[list[float], list[float]]:
    """music21's default key-analysis weights (Aarden-Essen), major then minor, tonic first."""
    analyzer = m21.analysis.discrete.AardenEssen()
    return analyzer.getWeights("major"), analyzer.getWeights("minor")


def analyze_key(path: str) -> tuple[int, str]:
    """music21's own `analyze('key')` of a single-tune file: (tonic pitch class, mode). For tests."""
    key = m21.converter.parse(path).analyze("key")
    return key.tonic.pitchClass, key.mode


def read_song(path: str | Path, step: float = 0.25) -> Song:
    """Parse a single-melody file (e.g. one written by write_midi) back into a Song (events, bars)."""
    path = Path(path)
    song = parse_unit(Unit(str(path), path.name), step)[0]
    if isinstance(song, Skip):
        raise ValueError(f"{path}: {song.reason} {song.detail}")
    return song


def read_melody(path: str | Path, step: float = 0.25) -> list[tuple[int | None, int]]:
    """Parse a single-melody file back into events."""
    return read_song(path, step).events


def _parse_score(unit: Unit, abc: PreparedAbc | None, step: float) -> m21.stream.Stream:
    if abc is not None:
        return m21.converter.parse(abc.text, format="abc", forceSource=True)
    path = Path(unit.path)
    if path.suffix.lower() in MIDI_SUFFIXES:
        if path.read_bytes()[:4] != b"MThd":
            raise ValueError("not a standard MIDI file (no MThd header)")
        return m21.converter.parse(path, forceSource=True, quarterLengthDivisors=midi_divisors(step))
    return m21.converter.parse(path, forceSource=True)


def _song_from_score(score: m21.stream.Stream, unit: Unit, abc: PreparedAbc | None, index: int, step: float,
                     expand_repeats: bool = True, melody: str = "auto", off_grid: str = "snap") -> Song:
    parts = [p for p in getattr(score, "parts", []) if p.recurse().notes] or [score]
    read = [(p, _sounding(p)) for p in parts]
    read = [(p, notes) for p, notes in read if notes is not None]  # percussion is no melody
    if not read:
        raise _SkipSong("unpitched", "only percussion")
    grid = grid_of(step)
    finest = 0
    try:
        chosen, how = choose_part([p.partName or "" for p, _ in read], [notes for _, notes in read], melody)
        part = read[chosen][0]
        notes, overlapped = one_line(read[chosen][1], strict=melody == "strict")
        finest = finest_grid(notes)
        events, start, snapped = grid_events(notes, grid, snap=off_grid == "snap")
    except MelodyError as err:
        raise _SkipSong(err.reason, err.detail, finest) from None
    signature = score.recurse().getElementsByClass(m21.meter.TimeSignature).first()
    title = score.metadata.title if score.metadata is not None and score.metadata.title else ""
    stated = signature is not None and states_meter(unit)
    time_signature = signature.ratioString if stated else "4/4"
    first_bar = _bar_of(time_signature, step) if stated else None
    measures = _measures(part, grid, snap=off_grid == "snap")
    try:
        marks = _repeat_marks(score, part, abc)
        order = _played_order(part, unit, marks, abc) if expand_repeats else list(range(len(measures)))
    except RepeatError as err:
        if expand_repeats:
            raise _SkipSong("repeats", str(err)) from None
        marks, order = [], []  # as written, its signs unread: one part
    form = played_form(marks, [length for _, length in measures], order, first_bar)
    if expand_repeats and order != list(range(len(measures))):
        events, start, measures = expand(events, start, measures, order)
    bars = [(bar_start - start, size) for bar_start, size in nominal_bars(measures, first_bar)]
    return Song(
        source=unit.source, index=index, title=title or f"{Path(unit.source).stem} #{index + 1}",
        events=events, declared_key=_declared_key(score, unit),
        time_signature=time_signature, meter_stated=stated,
        bars=bars or [(0, bar_steps(time_signature, step))],  # no measures: bars of the meter from the start
        grid=finest, melody=how, overlapped=overlapped, key_changes=_key_changes(part, unit, abc),
        snapped=snapped, rhythm=abc_field(unit.text, "R"), form=form.labels, part_bars=form.bars,
    )


def _bar_of(time_signature: str, step: float) -> int:
    """Steps in one bar of the song's opening meter; a meter the grid cannot hold skips the song, as
    what it is (it parsed: no parse_error)."""
    try:
        parse_time_signature(time_signature)
    except UserError:
        raise _SkipSong("meter", f"time signature {time_signature!r} is not N/D") from None
    try:
        return bar_steps(time_signature, step)
    except UserError:
        raise _SkipSong("meter_off_grid", f"a bar of {time_signature} is not a whole number of "
                        f"{grid_of(step)}-quarter-note steps") from None


def _measures(part: m21.stream.Stream, grid: Fraction, snap: bool = False) -> list[tuple[int, int]]:
    """(first step, written length in steps) of each measure of the melody's part, as written; a bar
    line off the grid skips the song, or with `snap` moves to the nearest step as notes do (the same
    rounding: bar lines and the notes beside them stay in order)."""
    measures = []
    for measure in part.getElementsByClass(m21.stream.Measure):
        start = Fraction(measure.offset) / grid
        end = start + Fraction(measure.duration.quarterLength) / grid
        if start.denominator != 1 or end.denominator != 1:
            if not snap:
                raise _SkipSong("off_grid", f"bar line at offset {measure.offset}")
            start, end = math.floor(start + Fraction(1, 2)), math.floor(end + Fraction(1, 2))
        measures.append((int(start), int(end - start)))
    return measures


def _played_order(part: m21.stream.Stream, unit: Unit, marks: list[Mark],
                  abc: PreparedAbc | None) -> list[int]:
    """The measures in playing order: a kern file's expansion list where it has one (src/data/kern_text.py),
    an ABC tune's `P:` part order where its parts are labelled, else the repeat signs and volta endings."""
    if unit.text is None and Path(unit.path).suffix.lower() == ".krn":
        count = len(part.getElementsByClass(m21.stream.Measure))
        order = expansion_order(decode_text(Path(unit.path).read_bytes()), count)
        if order is not None:
            return order
    if abc is not None and abc.plan:
        try:
            order = planned_order(marks, abc.part_starts, abc.plan)
        except RepeatError:  # a part's signs do not play on their own: the tune's signs as a whole
            order = None
        if order is not None:
            return order
    return played_order(marks)


def _repeat_marks(score: m21.stream.Stream, part: m21.stream.Stream, abc: PreparedAbc | None) -> list[Mark]:
    """Each measure's repeat signs and volta endings as written (src/data/repeats.py).

    music21's ABC reader keeps only the first number of a volta list (`[1,3` reads as 1): an ABC tune's
    own labels, in order, replace the brackets' numbers when there are as many of them. It makes no
    measures of a tune with fewer than two plain bar lines: such a tune with repeat signs is refused."""
    measures = list(part.getElementsByClass(m21.stream.Measure))
    brackets = list(score.recurse().getElementsByClass(m21.spanner.RepeatBracket))
    labels = abc.voltas if abc else []
    if abc and abc.repeat_signs and not measures:
        raise RepeatError("repeat signs in a tune read without bar lines (fewer than two plain `|`)")
    endings: dict[int, frozenset[int]] = {}
    for n, bracket in enumerate(brackets):
        numbers = labels[n] if len(labels) == len(brackets) else frozenset(bracket.numberRange)
        for measure in bracket.getSpannedElements():
            endings[id(measure)] = endings.get(id(measure), frozenset()) | numbers
    marks = []
    for n, measure in enumerate(measures):
        left, right = measure.leftBarline, measure.rightBarline
        following = measures[n + 1].leftBarline if n + 1 < len(measures) else None
        end = isinstance(right, m21.bar.Repeat) and right.direction == "end"
        marks.append(Mark(
            start=isinstance(left, m21.bar.Repeat) and left.direction == "start",
            end=(right.times or 2) if end else 0, ending=endings.get(id(measure), frozenset()),
            section_end=not end and any(b is not None and not isinstance(b, m21.bar.Repeat)
                                        and b.type in _SECTION for b in (right, following))))
    return marks


def _key_changes(part: m21.stream.Stream, unit: Unit, abc: PreparedAbc | None) -> int:
    """Key changes after the opening key: ABC `K:` fields (music21 keeps no trace of them), else key
    signatures that differ from the one before (MIDI's are not trusted: 0)."""
    if abc is not None:
        return abc.key_changes
    if Path(unit.path).suffix.lower() in MIDI_SUFFIXES:
        return 0
    sharps = [k.sharps for k in part.recurse().getElementsByClass(m21.key.KeySignature)]
    return sum(a != b for a, b in zip(sharps, sharps[1:], strict=False))


def _sounding(part: m21.stream.Stream) -> list[Sounding] | None:
    """A part's notes and rests in time order (src/data/melody.py); None for a percussion part."""
    notes = []
    for element in part.flatten().notesAndRests:
        if isinstance(element, m21.harmony.Harmony) or element.duration.isGrace:
            continue  # chord symbols and grace notes carry no melody time
        if isinstance(element, m21.note.Unpitched) or isinstance(element, m21.percussion.PercussionChord):
            return None
        pitches = tuple(p.midi for p in element.pitches) if not element.isRest else ()
        tie = getattr(element, "tie", None)
        notes.append(Sounding(Fraction(element.offset), Fraction(element.quarterLength), pitches,
                              tie is not None and tie.type in ("stop", "continue")))
    return notes


def _declared_key(score: m21.stream.Stream, unit: Unit) -> tuple[int, str] | None:
    """The key the file states with a mode; None when only a signature (or nothing) is given.

    ABC: music21 reads every `K:` as major, so the raw field must name a mode (`K:Am`, `K:Ddor`).
    MIDI key-signature events are too often defaults to trust, so MIDI always uses analysis.
    """
    if unit.text is not None:
        return abc_declared_key(unit.text)
    if Path(unit.path).suffix.lower() in MIDI_SUFFIXES:
        return None
    key = score.recurse().getElementsByClass(m21.key.Key).first()
    if key is None or key.mode not in MAJOR_MODES | MINOR_MODES:
        return None
    return key.tonic.pitchClass, "minor" if key.mode in MINOR_MODES else "major"


@contextlib.contextmanager
def _without_beaming():
    """Skip music21's beaming while parsing: it is engraving only and ~60% of ABC parse time."""
    original = m21.stream.Stream.makeBeams
    m21.stream.Stream.makeBeams = lambda self, *args, **kwargs: None if kwargs.get("inPlace") else self
    try:
        yield
    finally:
        m21.stream.Stream.makeBeams = original
