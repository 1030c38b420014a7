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
from fractions import Fraction
from typing import NamedTuple

from src.data.abc_keys import AbcKey, pitch_text
from src.data.folding import Measure, measures
from src.data.meter import bar_steps, grid_of, parse_time_signature
from src.data.vocab import HOLD, REST, held_symbol

UNIT = Fraction(1, 2)  # L:1/8 in quarter notes
BARS_PER_LINE = 4
MAX_TUPLET = 9  # notes in one `(3:p:r` (music21 reads r of one digit)
_PLAIN_BAR = re.compile(r"(?<!:)\|(?![:\]1-9])")  # a bar line that is no repeat sign, ending or end
_BROKEN = {(Fraction(3, 2), Fraction(1, 2)): ">", (Fraction(1, 2), Fraction(3, 2)): "<"}  # L units


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
    beats = _beats(tune.time_signature, tune.step)
    lines, line, count = [], "|:" if written[0].opens else "", 0
    for k, measure in enumerate(written):
        if measure.ending and (k == 0 or written[k - 1].ending != measure.ending):
            line += f"{measure.ending} "
        line += _bar_text(notes[k], measure.offset, tune, beats)
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


class _Token(NamedTuple):
    """One written note or rest (`^F`, `c'`, `z`), its length in L units, where it starts in its bar."""

    position: int | None
    pitch: str
    length: Fraction
    tied: bool = False
    tuplet: str = ""

    def text(self) -> str:
        return self.tuplet + self.pitch + _length(self.length) + ("-" if self.tied else "")


def _beats(time_signature: str, step: float) -> tuple[int, int, bool]:
    """(steps long notes are split at, steps spaces are written at, whether four eighths beam together)."""
    numerator, denominator = parse_time_signature(time_signature)
    compound = denominator == 8 and numerator % 3 == 0
    split = Fraction(3, 2) if compound else Fraction(2 if denominator <= 2 else 1)
    space = Fraction(3, 2) if compound else Fraction(1)
    grid = grid_of(step)
    return max(1, int(split / grid)), max(1, int(space / grid)), (numerator, denominator) in ((4, 4), (2, 2))


def _bar_text(notes: list[tuple[int | None, int, bool]], start: int, tune: Tune,
              beats: tuple[int, int, bool]) -> str:
    """One measure's notes from step `start` of its bar, beats apart, dotted pairs as `A>B` and `A<B`."""
    tokens = _tokens(notes, start, tune, beats)
    spaces = _spaces(tokens, beats[1], beats[2])
    text, index = "", 0
    while index < len(tokens):
        token = tokens[index]
        text += " " if text and token.position in spaces else ""
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        sign = _broken(token, following) if following and following.position not in spaces else ""
        text += token.pitch + sign + following.pitch + "-" * following.tied if sign else token.text()
        index += 2 if sign else 1
    return text


def _tokens(notes: list[tuple[int | None, int, bool]], start: int, tune: Tune,
            beats: tuple[int, int, bool]) -> list[_Token]:
    """A measure's notes in plain or dotted pieces tied together, triplets as `(3` or `(3:2:n`."""
    grid = grid_of(tune.step)
    duple = 3 if (1 / grid).numerator % 3 == 0 else 1
    notes, tokens, altered = list(notes), [], {}
    position, index = start, 0
    while index < len(notes):
        run = notes[index:index + _run(notes, index, position, duple, 2 * beats[1], grid)]
        end = position + sum(steps for _, steps, _ in run)
        tuplet = len(run) > 1 or end % duple or position % duple
        scale = grid * Fraction(3, 2) if tuplet else grid  # quarter notes a step is written as
        written = []
        for pitch, steps, tied in run:
            pieces = _pieces(steps, scale, None if tuplet else position, beats[0])
            written += [(pitch, n, tied or (pitch is not None and k < len(pieces) - 1))
                        for k, n in enumerate(pieces)]
        at, even = position, len(written) == 3 and len({steps for _, steps, _ in written}) == 1
        for k, (pitch, steps, tied) in enumerate(written):
            sign = ("(3" if even else f"(3:2:{len(written)}") if tuplet and k == 0 else ""
            tokens.append(_Token(None if tuplet and k else at, pitch_text(pitch, tune.key, altered),
                                 steps * scale / UNIT, tied, sign))
            at += steps
        position, index = end, index + len(run)
    return tokens


def _run(notes: list[tuple[int | None, int, bool]], index: int, position: int, duple: int, cap: int,
         grid: Fraction) -> int:
    """How many notes from `index` are one group: one note, or a tuplet up to the next duple point
    (16ths on 1/12), its note there cut in two where it would pass `cap` steps or MAX_TUPLET notes."""
    end = position + notes[index][1]
    if end % duple and end - position > cap:  # one long note ending off the duple grid
        _cut(notes, index, position, end // duple * duple if position % duple == 0 else
             position + (-position) % duple)
        return 1
    count, pieces = 1, len(_pieces(notes[index][1], grid * Fraction(3, 2), None, 1))
    while end % duple and index + count < len(notes):
        steps = notes[index + count][1]
        more = len(_pieces(steps, grid * Fraction(3, 2), None, 1))
        if end + steps - position > cap or pieces + more > MAX_TUPLET - 2:  # close at the next duple point:
            # the notes up to it, or their parts there, are one piece each, at most two of them
            _cut(notes, index + count, end, end + (-end) % duple)
            more = 1
        pieces += more
        end += notes[index + count][1]
        count += 1
    return count


def _cut(notes: list[tuple[int | None, int, bool]], index: int, position: int, at: int) -> None:
    """Note `index` (at step `position`) as two notes tied at step `at` when `at` falls inside it."""
    pitch, steps, tied = notes[index]
    if position < at < position + steps:
        notes[index:index + 1] = [(pitch, at - position, pitch is not None),
                                  (pitch, position + steps - at, tied)]


def _spaces(tokens: list[_Token], space: int, fours: bool) -> set[int]:
    """The steps a space goes before: beats and triplet ends, not between four eighths where `fours`."""
    starts = [t for t in tokens if t.position is not None]
    at = {t.position for t in starts if t.position % space == 0}
    at |= {b.position for a, b in zip(starts, starts[1:], strict=False)
           if a.tuplet and b.position - a.position >= space}
    halves: dict[int, list[_Token]] = {}
    half = None
    for token in tokens:
        half = half if token.position is None else token.position // (2 * space)
        halves.setdefault(half, []).append(token)
    for half, members in halves.items():
        if fours and len(members) == 4 and members[0].position == 2 * space * half and all(
                t.length == 1 and not t.tuplet and t.pitch != "z" for t in members):
            at.discard(2 * space * half + space)
    return at


def _broken(token: _Token, following: _Token) -> str:
    """`>` or `<` when two notes are a dotted eighth and a sixteenth or the reverse, else ``."""
    pair = (token.length, following.length)
    if (token.tied or token.tuplet or following.tuplet or None in (token.position, following.position)
            or "z" in (token.pitch, following.pitch) or pair not in _BROKEN):
        return ""
    return _BROKEN[pair]


def _pieces(steps: int, scale: Fraction, position: int | None, beat: int) -> list[int]:
    """A note's steps in plain or dotted pieces (a step: `scale` quarter notes), the first to a beat."""
    pieces = []
    while steps:
        plain = [n for n in range(steps, 0, -1) if _notatable(n * scale)]
        edge = [n for n in plain if position is None or (position + n) % beat == 0 or n == steps]
        pieces.append((edge or plain)[0])
        position = None if position is None else position + pieces[-1]
        steps -= pieces[-1]
    return pieces


def _notatable(quarters: Fraction) -> bool:
    """Whether a length is one plain or dotted note value (2**k or 3 * 2**k quarter notes)."""
    for value in (quarters, quarters / 3):
        if value.numerator & (value.numerator - 1) == 0 and value.denominator & (value.denominator - 1) == 0:
            return True
    return False


def _length(length: Fraction) -> str:
    """A length in L units as ABC writes it: `` (1), `2`, `/` (1/2), `/4`, `3/2`."""
    if length == 1:
        return ""
    if length.denominator == 1:
        return str(length.numerator)
    if length.numerator == 1:
        return "/" if length.denominator == 2 else f"/{length.denominator}"
    return f"{length.numerator}/{length.denominator}"
