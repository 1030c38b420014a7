"""Melodies written back as scores: a standard MIDI file, MusicXML and ABC, each whole or not at all.

The writing half of the music21 boundary (src/data/encoding.py reads): symbols become a one-part score
with a tempo mark and a time signature, a pickup placed so that the bar lines fall where the model's did,
and files are written to a temporary name and renamed. Reading a written file back gives the same
symbols (tested for each meter, with pickups, and on the triplet grids). ABC text is composed by
src/data/abc_notation.py (music21 reads ABC but does not write it).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import music21 as m21

from src.atomic import atomic_path
from src.data.abc_keys import NATURAL, AbcKey
from src.data.abc_notation import Tune, tune_book, tune_text
from src.data.meter import grid_of
from src.data.vocab import symbols_to_events

if TYPE_CHECKING:
    from src.models.generation import Generation


def melody_stream(
    symbols: list[str], step: float = 0.25, qpm: float = 120, time_signature: str | None = None,
    title: str | None = None, pickup: int = 0, key: AbcKey | None = None,
) -> m21.stream.Score:
    """Symbols of one song -> a one-part music21 score with tempo and time signature, not yet in
    measures. With a `pickup` (steps before the first downbeat), the first note sits that many steps
    before the second bar line: the notes start at `bar - pickup` steps (silence a MIDI file keeps).
    With a `key`, the score carries its key signature and each pitch is spelled in it (as in ABC)."""
    part = m21.stream.Part()
    part.append(m21.tempo.MetronomeMark(number=qpm))
    if key is not None:
        part.append(m21.key.Key(key.tonic_name().replace("b", "-"), key.mode))
    signature = m21.meter.TimeSignature(time_signature or "4/4")
    part.append(signature)
    step_ql = grid_of(step)
    bar = Fraction(signature.barDuration.quarterLength).limit_denominator(64)
    offset = (bar - pickup * step_ql) % bar
    for pitch, steps in symbols_to_events(symbols):
        length = step_ql * steps
        part.insert(offset, m21.note.Rest(quarterLength=length) if pitch is None
                    else m21.note.Note(_spelled(pitch, key), quarterLength=length))
        offset += length
    score = m21.stream.Score([part])
    score.insert(0, m21.metadata.Metadata(title=title or "melody"))
    return score


def _spelled(pitch: int, key: AbcKey | None) -> m21.pitch.Pitch:
    """A MIDI pitch as music21 names it: in the key's spelling when there is one (Bb in F, not A#)."""
    if key is None:
        return m21.pitch.Pitch(midi=pitch)
    letter, alter = key.spell(pitch)
    spelled = m21.pitch.Pitch(letter + {-2: "--", -1: "-", 0: "", 1: "#", 2: "##"}[alter])
    spelled.octave = (pitch - alter - NATURAL[letter]) // 12 - 1
    return spelled


def write_midi(symbols: list[str], path: str | Path, **stream_kwargs) -> None:
    """Write one melody as a standard MIDI file, whole or not at all.

    The flat part is written directly, so a note crossing a barline stays one MIDI note
    and the last note keeps its full length; a pickup starts after its silence, on the bar grid.
    """
    part = melody_stream(symbols, **stream_kwargs).parts[0]
    midi_file = m21.midi.translate.streamToMidiFile(part)
    with atomic_path(path) as tmp:
        midi_file.open(str(tmp), "wb")
        try:
            midi_file.write()
        finally:
            midi_file.close()


def write_musicxml(symbols: list[str], path: str | Path, **stream_kwargs) -> None:
    """Write one melody as MusicXML, whole or not at all: measures and ties made by music21, and a
    pickup written as a short first measure (number 0), as engravers write an anacrusis."""
    score = melody_stream(symbols, **stream_kwargs)
    part = score.parts[0]
    lead = part.notesAndRests.first().offset  # the silence before a pickup, in quarter notes
    measured = part.makeMeasures()
    measured.makeTies(inPlace=True)
    if lead:
        first = measured.getElementsByClass(m21.stream.Measure).first()
        for element in list(first.notesAndRests):
            if element.offset < lead:
                first.remove(element)  # the rest makeMeasures filled the silence with
            else:
                first.coreSetElementOffset(element, element.offset - lead)
        first.coreElementsChanged()
        first.paddingLeft, first.number = lead, 0
    score.replace(part, measured)
    with atomic_path(path) as tmp:
        score.write("musicxml", fp=str(tmp.with_suffix(".musicxml")))
        tmp.with_suffix(".musicxml").replace(tmp)


def write_abc(tunes: list[tuple[list[str], Tune]], path: str | Path) -> None:
    """Write melodies as one ABC file (one tune, or a tune book of several), whole or not at all."""
    with atomic_path(path) as tmp:
        tmp.write_text(tune_book([tune_text(symbols, tune) for symbols, tune in tunes]), encoding="utf-8")


def generation_tunes(generation: Generation, step: float, name: str, qpm: float | None,
                     comments: tuple[str, ...] = (), fold: bool = True) -> list[Tune]:
    """Each melody's ABC `Tune`: its meter, pickup and key, X: 1.., titled `TITLE k` (k from 0; the tune
    seed's title, else `name`) with the seed's R:; the command's and the web app's ABC."""
    base = generation.title or name
    plans = generation.plans or [None] * len(generation.meters)
    return [Tune(step, meter.time_signature, meter.pickup, key, f"{base} {k}", k + 1, qpm,
                 generation.rhythm or _rhythm(plan), comments, fold, section_starts(plan),
                 repeated_parts(plan))
            for k, (meter, key, plan) in enumerate(zip(generation.meters, generation.keys, plans,
                                                       strict=True))]


def _rhythm(plan) -> str | None:
    """A planned melody's R: field: its tune type, where known."""
    return plan.tune_type if plan is not None and plan.tune_type not in ("", "unknown") else None


def repeated_parts(plan) -> tuple[tuple[int, int], ...] | None:
    """A planned form's parts played twice in a row (`plan.pairs`) as (first unit, units), the units being
    the pickup (if any) and then the bars: the folds the ABC writes. None: no form planned (the writer
    finds the repeats itself)."""
    if plan is None or not plan.form:
        return None
    lead = 1 if plan.meter.pickup else 0
    return tuple((lead + sum(plan.part_bars[:k]), plan.part_bars[k]) for k in plan.pairs)


def section_starts(plan) -> tuple[int, ...]:
    """The downbeats where a planned part begins between two parts that are not repeated (`AB`, the B
    and C of `AABCDD`): the `||` that shows the part, where no repeat sign does."""
    if plan is None or len(plan.form) < 2:
        return ()
    paired = {k for pair in plan.pairs for k in (pair, pair + 1)}
    return tuple(start for k, start in enumerate(plan.part_starts)
                 if k and k not in paired and k - 1 not in paired)
