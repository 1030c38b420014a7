"""Repeats folded: a melody's bars as played -> the measures as written, each repeated part once between
`|:` and `:|`, with first and second endings where only a part's last bars differ. The inverse of
playing repeats out (src/data/repeats.py): playing the written measures by its rules gives back the
played melody exactly.

Pure Python on symbols. Parts are found in units of a bar (`fold`): cut at the bar lines, or in a tune
with a pickup, that far before them, so that a part keeps its own pickup inside its repeat as printed
tunes do (`|:ed|c2A2 ... A2:|`, a bar split by the sign); `measures` writes whichever is shorter. A
part is folded only where its edges are clean: no unit at a sign (the part's first, each ending, the
one after the part) begins by holding a note over its start, since the note held would differ
between the first time through and the second.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise

from src.data.vocab import HOLD, REST

MIN_PART = 2  # bars a folded part shares at least (its endings no more)
MAX_ENDING = 2  # bars in an ending (music21 reads a longer volta ending wrong)


@dataclass(frozen=True)
class Written:
    """One written unit (a bar, or a bar's length from a pickup on): the played unit it shows, its signs."""

    bar: int
    start: bool = False  # `|:` before it
    end: bool = False  # `:|` after it
    ending: int = 0  # 1 or 2: played under that volta ending only


def clean_starts(bars: list[list[str]]) -> list[bool]:
    """For each bar: whether it begins without holding a note over its bar line (a hold after a rest is
    a rest, and clean)."""
    clean, sounding = [], None  # sounding: the symbol that the next hold continues
    for symbols in bars:
        clean.append(not symbols or symbols[0] != HOLD or sounding in (None, REST))
        for symbol in symbols:
            if symbol != HOLD:
                sounding = symbol
    return clean


def fold(bars: list[list[str]], endings: bool = True,
         planned: tuple[tuple[int, int], ...] | None = None) -> list[Written]:
    """The written bars of `bars` (played), each repeated part folded: at each bar the part played twice
    in a row, exactly or (`endings`) with different endings, written shortest; parts left to right.
    `planned` (first bar, bars) parts, a melody's form: only those are folded, each with its repeat."""
    clean = clean_starts(bars) + [True]  # after the last bar: nothing is held into
    starts = dict(planned or ())
    written: list[Written] = []
    index = 0
    while index < len(bars):
        if planned is None:
            folded = _best_part(bars, clean, index, endings)
        else:
            folded = _part(bars, clean, index, starts[index], endings, 1) if index in starts else None
        if folded is None:
            written.append(Written(index))
            index += 1
            continue
        length, ending = folded
        shared = length - ending
        written += [Written(index + k, start=k == 0, end=k == length - 1) for k in range(shared)]
        written += [Written(index + shared + k, end=k == ending - 1, ending=1) for k in range(ending)]
        written += [Written(index + length + shared + k, ending=2) for k in range(ending)]
        index += 2 * length
    return written


def _best_part(bars: list[list[str]], clean: list[bool], index: int, endings: bool) -> tuple[int, int] | None:
    """(bars in the part, bars in each of its two endings, 0 without) of the part from `index` played
    twice in a row whose repeat saves the most bars (an exact one on a tie); None when there is none."""
    best, score = None, (0, 0)
    for length in range((len(bars) - index) // 2, MIN_PART - 1, -1):
        folded = _part(bars, clean, index, length, endings, MIN_PART)
        if folded is not None and (length - folded[1], -folded[1]) > score:
            best, score = folded, (length - folded[1], -folded[1])
    return best


def _part(bars: list[list[str]], clean: list[bool], index: int, length: int, endings: bool,
          least: int) -> tuple[int, int] | None:
    """(length, bars in each ending) of the part of `length` bars from `index` played twice in a row,
    sharing at least `least` bars, with clean edges; None when it cannot be folded so."""
    first, second, after = index, index + length, index + 2 * length
    if after > len(bars) or not (clean[first] and clean[second] and clean[after]):
        return None  # both times through begin as written, and what follows
    shared = next((k for k in range(length) if bars[first + k] != bars[second + k]), length)
    ending = length - shared  # endings no longer than the part they end
    if (shared < least or ending > min(shared, MAX_ENDING) or (ending and not endings)
            or not (clean[second - ending] and clean[after - ending])):
        return None
    return length, ending


def played(written: list[Written]) -> list[int]:
    """The played bar order of written bars: each part twice, its first ending the first time and its
    second ending the second (what src/data/repeats.py plays from the same signs)."""
    order: list[int] = []
    part: list[int] = []  # the bars since the last `|:` that are played every time through
    for bar in written:
        if bar.start:
            part = []
        order.append(bar.bar)
        if not bar.ending:
            part.append(bar.bar)
        if bar.end:
            order += part
            part = []
    return order


@dataclass(frozen=True)
class Measure:
    """One written measure: the steps [start, end) of the played melody it shows, and its signs."""

    start: int
    end: int
    offset: int  # steps from its bar's downbeat to its start (a pickup's: the bar less the pickup)
    opens: bool = False  # `|:` before it
    ending: int = 0  # 1 or 2: under that volta ending
    closes: bool = False  # `:|` after it


def measures(symbols: list[str], bar: int, pickup: int, folded: bool = True,
             planned: tuple[tuple[int, int], ...] | None = None) -> list[Measure]:
    """The measures a melody (symbols, bars of `bar` steps after a `pickup`) is written in: its parts
    folded at the bar lines or, with a pickup, that far before them (exact repeats only: an ending
    begins at a bar line), whichever writes fewer bars. `planned` (first unit, units) parts of a form
    (units: the pickup, then the bars): only those are folded, at the bar lines."""
    plans = [_measures(symbols, bar, pickup, pickup, folded, planned)]
    if pickup and folded and planned is None:
        plans.append(_measures(symbols, bar, pickup, 0, folded))
    return min(plans, key=lambda plan: sum(m.offset == 0 for m in plan) + (plan[0].offset > 0))


def _measures(symbols: list[str], bar: int, pickup: int, shift: int, folded: bool,
              planned: tuple[tuple[int, int], ...] | None = None) -> list[Measure]:
    """The measures of the melody cut in units at `shift + k * bar` steps, folded or not: each unit in
    its pieces between bar lines, a piece joined to the one before where they meet inside a bar."""
    cuts = [0, *range(shift or bar, len(symbols), bar), len(symbols)]
    units = [(a, b) for a, b in pairwise(cuts) if b > a]
    pieces = [symbols[a:b] for a, b in units]
    written = (fold(pieces, endings=shift == pickup, planned=planned) if folded
               else [Written(k) for k in range(len(units))])
    result: list[Measure] = []
    for unit in written:
        start, end = units[unit.bar]
        edges = [start, *(x for x in range(start + 1, end) if (x - pickup) % bar == 0), end]
        for k, (a, b) in enumerate(pairwise(edges)):
            opens, closes = unit.start and k == 0, unit.end and b == end
            last = result[-1] if result else None
            if (last and last.end == a and (a - pickup) % bar and not last.closes and not opens
                    and unit.ending in (0, last.ending)):
                result[-1] = replace(last, end=b, closes=closes)
            else:
                result.append(Measure(a, b, (a - pickup) % bar, opens, unit.ending, closes))
    return result
