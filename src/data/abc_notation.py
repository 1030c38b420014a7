"""Melodies as ABC tune text (ABC 2.1), as folk players write it: the writing half of ABC, beside
src/data/score_writer.py's MIDI and MusicXML.

A tune is its header (`X T % R M L Q K`) and a body of bars: bar lines from the meter and pickup, notes
with lengths in `L:1/8` units, notes held over a bar line tied (`-`), rests `z`, triplets `(3` on grids
that hold them, four bars a line, and repeated parts folded (src/data/folding.py). Accidentals are
written against the key signature on every note that needs one, and a natural where a letter
follows an altered one in the bar: readers that carry an accidental through the bar (abc2midi) and
readers that do not (music21) then read the same notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from src.data.folding import Written, fold
from src.data.meter import bar_steps, grid_of, parse_time_signature
from src.data.vocab import HOLD, REST

UNIT = Fraction(1, 2)  # L:1/8 in quarter notes
BARS_PER_LINE = 4
LETTERS = "CDEFGAB"
NATURAL = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
SHARPS, FLATS = "FCGDAEB", "BEADGCF"  # the order key signatures add them
# mode -> semitones from the major key whose signature it shares to its tonic; its suffix after K:
MODES = {"major": (0, ""), "ionian": (0, ""), "dorian": (2, "dor"), "phrygian": (4, "phr"),
         "lydian": (5, "lyd"), "mixolydian": (7, "mix"), "minor": (9, "m"), "aeolian": (9, "m"),
         "locrian": (11, "loc")}
_MAJOR_SHARPS = {0: 0, 7: 1, 2: 2, 9: 3, 4: 4, 11: 5, 6: 6, 1: -5, 8: -4, 3: -3, 10: -2, 5: -1}
_PLAIN_BAR = re.compile(r"(?<!:)\|(?![:\]1-9])")  # a bar line that is no repeat sign, ending or end
_ACCIDENTAL = {-2: "__", -1: "_", 0: "=", 1: "^", 2: "^^"}


@dataclass(frozen=True)
class AbcKey:
    """A key as `K:` names it: the tonic's pitch class and the mode (major, minor or a church mode)."""

    tonic: int
    mode: str = "major"

    @property
    def sharps(self) -> int:
        """The key signature: sharps (> 0) or flats (< 0)."""
        return _MAJOR_SHARPS[(self.tonic - MODES[self.mode][0]) % 12]

    @property
    def alters(self) -> dict[str, int]:
        """Each letter's alteration under the key signature."""
        count = self.sharps
        letters = SHARPS[:count] if count > 0 else FLATS[:-count]
        return {letter: (1 if count > 0 else -1) if letter in letters else 0 for letter in LETTERS}

    def field(self) -> str:
        """`K:` as written: `D`, `Am`, `Edor`, `Bb`, `F#m`."""
        alters = self.alters
        letter = next(x for x in LETTERS if (NATURAL[x] + alters[x]) % 12 == self.tonic)
        return letter + {1: "#", -1: "b", 0: ""}[alters[letter]] + MODES[self.mode][1]

    def spell(self, pitch: int) -> tuple[str, int]:
        """(letter, alteration) of a MIDI pitch: in the scale when it is; else a natural sign, the raised
        sixth or seventh of a minor mode as sharps, flats in flat keys and sharps otherwise."""
        pc, alters = pitch % 12, self.alters
        for letter in LETTERS:
            if (NATURAL[letter] + alters[letter]) % 12 == pc:
                return letter, alters[letter]
        for letter in LETTERS:
            if NATURAL[letter] == pc:
                return letter, 0
        raised = MODES[self.mode][0] in (2, 4, 9, 11) and (pc - self.tonic) % 12 in (9, 11)
        if self.sharps < 0 and not raised:
            return next(x for x in LETTERS if (NATURAL[x] - 1) % 12 == pc), -1
        return next(x for x in LETTERS if (NATURAL[x] + 1) % 12 == pc), 1


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
    """The symbols cut at the bar lines: the pickup first when there is one, the last bar as long as
    what is left."""
    cuts = [0] + list(range(pickup or bar, len(symbols), bar)) + [len(symbols)]
    return [symbols[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def body_lines(symbols: list[str], tune: Tune) -> list[str]:
    """The tune's body: bars, signs and line breaks. A tune folded to fewer than two plain bar lines is
    written unfolded: music21 reads no bars (and so no repeats) in it."""
    bar = bar_steps(tune.time_signature, tune.step)
    bars = bars_of(symbols, bar, tune.pickup)
    plain = [Written(k) for k in range(len(bars))]
    lines = _lines(bars, fold(bars) if tune.fold else plain, bar, tune)
    if len(_PLAIN_BAR.findall("".join(lines))) < 2:
        lines = _lines(bars, plain, bar, tune)
    return lines


def _lines(bars: list[list[str]], written: list[Written], bar: int, tune: Tune) -> list[str]:
    """Written bars as lines of ABC."""
    starts = [sum(len(b) for b in bars[:k]) + (bar - tune.pickup if tune.pickup else 0) for k in range(len(bars))]
    notes = _bar_notes(bars)
    group = _group_steps(tune.time_signature, tune.step)
    lines, line, count = [], "|:" if written[0].start else "", 0
    for k, bar_written in enumerate(written):
        if bar_written.ending:
            line += f"{bar_written.ending} "
        index = bar_written.bar
        line += _bar_text(notes[index], starts[index], tune, group)
        count += len(bars[index]) == bar or index > 0  # a pickup bar does not count toward a line
        following = written[k + 1] if k + 1 < len(written) else None
        if following is None:
            lines.append(line + (":|" if bar_written.end else "|]"))
            break
        if bar_written.end:
            line += ":|"
            if following.ending == 2:
                continue
            lines.append(line)
            line, count = "|:" if following.start else "", 0
        elif following.start:  # its `|:` is the bar line (a pickup alone stays on the line)
            if count:
                lines.append(line)
                line, count = "", 0
            line += "|:"
        else:
            line += "|"
            if bar_written.ending == 2 or (count >= BARS_PER_LINE and following.ending != 1):
                lines.append(line)
                line, count = "", 0
    return lines


def _group_steps(time_signature: str, step: float) -> int:
    """Steps beamed together (written without a space): a dotted quarter in x/8 meters of threes, a
    half note in x/2 and x/1, else a quarter."""
    numerator, denominator = parse_time_signature(time_signature)
    quarters = Fraction(3, 2) if denominator == 8 and numerator % 3 == 0 else Fraction(2 if denominator <= 2 else 1)
    return max(1, int(quarters / grid_of(step)))


def _bar_notes(bars: list[list[str]]) -> list[list[tuple[int | None, int, bool]]]:
    """Each bar's (pitch or None, steps, tied to the next bar) notes; a bar that opens with a hold
    repeats the note it continues (tied from the bar before)."""
    result: list[list[tuple[int | None, int, bool]]] = []
    sounding: int | None = None
    for symbols in bars:
        notes: list[list] = []
        for symbol in symbols:
            if symbol == HOLD and notes:
                notes[-1][1] += 1
                continue
            if symbol == HOLD:  # held over the bar line
                if sounding is not None:
                    result[-1][-1] = (*result[-1][-1][:2], True)
                notes.append([sounding, 1])
                continue
            sounding = None if symbol == REST else int(symbol)
            notes.append([sounding, 1])
        result.append([(pitch, steps, False) for pitch, steps in notes])
    return result


def _bar_text(notes: list[tuple[int | None, int, bool]], start: int, tune: Tune, group: int) -> str:
    """One bar's notes: spaces between beat groups, triplets where onsets leave the duple grid."""
    grid = grid_of(tune.step)
    # a duple point: on the grid of halves of the grid's largest power-of-two fraction (16ths on 1/12)
    duple = 3 if (1 / grid).numerator % 3 == 0 else 1
    text, position, altered = "", start, {}
    index = 0
    while index < len(notes):
        if position % group == 0 and text:
            text += " "
        tuplet = [notes[index]]
        end = position + notes[index][1]
        while end % duple and index + len(tuplet) < len(notes):
            tuplet.append(notes[index + len(tuplet)])
            end += tuplet[-1][1]
        factor = Fraction(3, 2) if len(tuplet) > 1 or end % duple or position % duple else Fraction(1)
        if factor != 1:
            text += "(3" if len(tuplet) == 3 else f"(3:2:{len(tuplet)}"
        if factor == 1:  # one note, maybe tied across beat groups (`A4-A`, not `A5`)
            pitch, steps, tied = tuplet[0]
            pieces = _pieces(position, steps, group, grid)
            tuplet = [(pitch, n, tied or (pitch is not None and k < len(pieces) - 1))
                      for k, n in enumerate(pieces)]
        for pitch, steps, tied in tuplet:
            length = steps * grid * factor / UNIT
            text += _note(pitch, tune.key, altered) + _length(length) + ("-" if tied else "")
        position, index = end, index + len(tuplet) if factor != 1 else index + 1
    return text


def _pieces(position: int, steps: int, group: int, grid: Fraction) -> list[int]:
    """A note's steps as notes a player reads at a glance, each a plain or dotted value: the longest
    such piece that ends on a beat group's edge (or ends the note), then the rest."""
    pieces = []
    while steps:
        plain = [n for n in range(steps, 0, -1) if _notatable(n * grid)]
        edge = [n for n in plain if (position + n) % group == 0 or n == steps]
        pieces.append((edge or plain)[0])
        position, steps = position + pieces[-1], steps - pieces[-1]
    return pieces


def _notatable(quarters: Fraction) -> bool:
    """Whether a length is one plain or dotted note value (2**k or 3 * 2**k quarter notes)."""
    for value in (quarters, quarters / 3):
        if value.numerator & (value.numerator - 1) == 0 and value.denominator & (value.denominator - 1) == 0:
            return True
    return False


def _note(pitch: int | None, key: AbcKey, altered: dict[str, int]) -> str:
    """A pitch with its accidental (see the module docstring) and octave marks; `z` for a rest.
    `altered` holds the letters altered so far in the bar (letter -> alteration)."""
    if pitch is None:
        return "z"
    letter, alter = key.spell(pitch)
    sign = ""
    if alter != key.alters[letter] or altered.get(letter, alter) != alter:
        sign = _ACCIDENTAL[alter]
        altered[letter] = alter
    octave = (pitch - alter - NATURAL[letter]) // 12 - 1  # 4: the octave of middle C
    if octave >= 5:
        return sign + letter.lower() + "'" * (octave - 5)
    return sign + letter + "," * (4 - octave)


def _length(length: Fraction) -> str:
    """A length in L units as ABC writes it: `` (1), `2`, `/` (1/2), `/4`, `3/2`."""
    if length == 1:
        return ""
    if length.denominator == 1:
        return str(length.numerator)
    if length.numerator == 1:
        return "/" if length.denominator == 2 else f"/{length.denominator}"
    return f"{length.numerator}/{length.denominator}"
