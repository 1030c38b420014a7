"""One measure of a tune as ABC note text (src/data/abc_notation.py writes the tune around it): notes in
plain or dotted lengths in `L:1/8` units, tied where they cross a beat, triplets `(3` where notes leave
the duple grid, dotted pairs `A>B`, and a space at each beat (four eighths together in 4/4 and 2/2).
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

from src.data.abc_keys import AbcKey, pitch_text
from src.data.meter import grid_of, parse_time_signature

UNIT = Fraction(1, 2)  # L:1/8 in quarter notes
MAX_TUPLET = 9  # notes in one `(3:p:r` (music21 reads r of one digit)
_BROKEN = {(Fraction(3, 2), Fraction(1, 2)): ">", (Fraction(1, 2), Fraction(3, 2)): "<"}  # L units


class _Token(NamedTuple):
    """One written note or rest (`^F`, `c'`, `z`), its length in L units, where it starts in its bar."""

    position: int | None
    pitch: str
    length: Fraction
    tied: bool = False
    tuplet: str = ""

    def text(self) -> str:
        return self.tuplet + self.pitch + _length(self.length) + ("-" if self.tied else "")


def beat_steps(time_signature: str, step: float) -> tuple[int, int, bool]:
    """(steps long notes are split at, steps spaces are written at, whether four eighths beam together)."""
    numerator, denominator = parse_time_signature(time_signature)
    compound = denominator == 8 and numerator % 3 == 0
    split = Fraction(3, 2) if compound else Fraction(2 if denominator <= 2 else 1)
    space = Fraction(3, 2) if compound else Fraction(1)
    grid = grid_of(step)
    return max(1, int(split / grid)), max(1, int(space / grid)), (numerator, denominator) in ((4, 4), (2, 2))


def bar_text(notes: list[tuple[int | None, int, bool]], start: int, step: float, key: AbcKey,
             beats: tuple[int, int, bool]) -> str:
    """One measure's notes from step `start` of its bar, beats apart, dotted pairs as `A>B` and `A<B`."""
    tokens = _tokens(notes, start, step, key, beats)
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


def _tokens(notes: list[tuple[int | None, int, bool]], start: int, step: float, key: AbcKey,
            beats: tuple[int, int, bool]) -> list[_Token]:
    """A measure's notes in plain or dotted pieces tied together, triplets as `(3` or `(3:2:n`."""
    grid = grid_of(step)
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
            tokens.append(_Token(None if tuplet and k else at, pitch_text(pitch, key, altered),
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
