"""Melodies as ABC tune text (ABC 2.1), as folk players write it: the writing half of ABC, beside
src/data/score_writer.py's MIDI and MusicXML.

A tune is its header (`X T % R M L Q K`) and a body of bars: bar lines from the meter and pickup, four
bars a line, lengths in `L:1/8` units, a space at each beat (four eighths together in 4/4 and 2/2, as
reels are written), notes held over a bar line or split at a beat tied (`A4- A`), dotted pairs `A>B`,
rests `z`, triplets `(3` where notes leave the duple grid, and repeated parts folded into `|: :|` with
first and second endings (src/data/folding.py). Accidentals: music21 does not carry an accidental
through the bar, abc2midi does, so an accidental is written on every note that needs one against the
key signature, and a natural where a letter follows an altered one in the bar: both read the same
notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from src.data.abc_bar import bar_text, beat_steps
from src.data.abc_keys import AbcKey
from src.data.folding import Measure, measures
from src.data.meter import bar_steps
from src.data.vocab import HOLD, REST, held_symbol

BARS_PER_LINE = 4
_PLAIN_BAR = re.compile(r"(?<!:)\|(?![:\]1-9])")  # a bar line that is no repeat sign, ending or end


@dataclass(frozen=True)
class Tune:
    """What an ABC tune needs beside its symbols."""

    step: float = 0.25  # quarter notes per symbol
    time_signature: str = "4/4"
    pickup: int = 0  # steps before the first downbeat
    key: AbcKey = AbcKey(0)
    title: str = "melody"
    number: int = 1  # X:
    qpm: float | None = None  # Q:1/4=qpm
    rhythm: str | None = None  # R: (reel, jig, ...) when known
    comments: tuple[str, ...] = ()  # `%` lines in the header
    fold: bool = True  # repeated parts written once between repeat signs
    sections: tuple[int, ...] = ()  # steps where a part begins that no repeat sign marks: `||` before them
    parts: tuple[tuple[int, int], ...] | None = None  # a planned form's repeated parts, (first unit, units)
    #                                                  (units: the pickup, then the bars); None: found


def tune_text(symbols: list[str], tune: Tune) -> str:
    """One melody (symbols without `/`) as an ABC tune, header and body, ending in a newline."""
    header = [f"X:{tune.number}", f"T:{tune.title}", *(f"% {line}" for line in tune.comments)]
    if tune.rhythm:
        header.append(f"R:{tune.rhythm}")
    header += [f"M:{tune.time_signature}", "L:1/8"]
    if tune.qpm:
        header.append(f"Q:1/4={tune.qpm:g}")
    header.append(f"K:{tune.key.field()}")
    return "\n".join(header + body_lines(symbols, tune)) + "\n"


def tune_book(tunes: list[str]) -> str:
    """Tunes one after another, a blank line between them (a tune book)."""
    return "\n".join(tunes)


def bars_of(symbols: list[str], bar: int, pickup: int) -> list[list[str]]:
    """The symbols cut at the bar lines: the pickup first, the last bar as long as what is left."""
    cuts = [0] + list(range(pickup or bar, len(symbols), bar)) + [len(symbols)]
    return [symbols[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def plain_bar_lines(text: str) -> int:
    """Plain bar lines `|` in a tune's body: music21 makes measures only where there are two or more."""
    body = text.partition("\nK:")[2].partition("\n")[2] if "\nK:" in text else text
    return len(_PLAIN_BAR.findall(body))


def body_lines(symbols: list[str], tune: Tune) -> list[str]:
    """The tune's body; unfolded if folding leaves fewer than two plain bar lines (music21 reads none)."""
    if not symbols:
        return []
    bar = bar_steps(tune.time_signature, tune.step)
    lines = _lines(symbols, measures(symbols, bar, tune.pickup, tune.fold, tune.parts), tune)
    if plain_bar_lines("\n".join(lines)) < 2:
        lines = _lines(symbols, measures(symbols, bar, tune.pickup, folded=False), tune)
    return lines


def _lines(symbols: list[str], written: list[Measure], tune: Tune) -> list[str]:
    """Written measures as lines of ABC: BARS_PER_LINE bars a line, a new line at each part."""
    notes = _measure_notes(symbols, written)
    beats = beat_steps(tune.time_signature, tune.step)
    lines, line, count = [], "|:" if written[0].opens else "", 0
    for k, measure in enumerate(written):
        if measure.ending and (k == 0 or written[k - 1].ending != measure.ending):
            line += f"{measure.ending} "
        line += bar_text(notes[k], measure.offset, tune.step, tune.key, beats)
        count += measure.offset == 0  # a bar begun (a pickup does not count)
        following = written[k + 1] if k + 1 < len(written) else None
        if following is None:
            lines.append(line + (":|" if measure.closes else "|]"))
            break
        if measure.closes:
            line += ":|"
            if following.ending == 2:
                continue
            lines.append(line)
            line, count = "|:" if following.opens else "", 0
        elif following.opens:  # its `|:` is the bar line (a pickup alone stays on the line)
            if count:
                lines.append(line)
                line, count = "", 0
            line += "|:"
        else:
            section = measure.end in tune.sections
            line += "||" if section else "|"
            part_end = section or measure.ending == 2 and following.ending != 2
            if part_end or (count >= BARS_PER_LINE and not following.ending):  # endings kept on one line
                lines.append(line)
                line, count = "", 0
    return lines


def _measure_notes(symbols: list[str], written: list[Measure]) -> list[list[tuple[int | None, int, bool]]]:
    """Each measure's (pitch or None, steps, tied on) notes; a hold opening a measure is its note again."""
    result: list[list[tuple[int | None, int, bool]]] = []
    for measure in written:
        notes: list[list] = []
        for index in range(measure.start, measure.end):
            symbol = symbols[index]
            if symbol == HOLD and notes:
                notes[-1][1] += 1
                continue
            if symbol == HOLD:  # held over the bar line: the note or rest sounding before it
                held = held_symbol(symbols, index)
                pitch = None if held == REST else int(held)
                if pitch is not None:
                    result[-1][-1] = (*result[-1][-1][:2], True)
                notes.append([pitch, 1])
                continue
            notes.append([None if symbol == REST else int(symbol), 1])
        result.append([(pitch, steps, False) for pitch, steps in notes])
    return result
