"""Repeats folded: a melody's bars as played -> the bars as written once, between `|:` and `:|`, with first
and second endings where only a part's last bar differs. The inverse of playing repeats out
(src/data/repeats.py): playing the written bars by its rules gives back the played bars exactly.

Pure Python on bars of symbols. A part is folded only where its edges are clean: no bar at a sign
(the part's first bar, each ending, the bar after the part) begins by holding a note over its bar line,
since the note held would differ between the first time through and the second.
"""

from __future__ import annotations

from dataclasses import dataclass

from src.data.vocab import HOLD, REST

MIN_PART = 2  # bars in the shortest part folded; a part with two endings shares at least MIN_PART bars


@dataclass(frozen=True)
class Written:
    """One written bar: the index of the played bar it shows, and its signs."""

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


def fold(bars: list[list[str]]) -> list[Written]:
    """The written bars of `bars` (played), each repeated part folded: at each bar the longest part
    that is played twice in a row, exactly or with a different last bar, parts taken left to right."""
    clean = clean_starts(bars) + [True]  # after the last bar: nothing is held into
    written: list[Written] = []
    index = 0
    while index < len(bars):
        folded = _longest_part(bars, clean, index)
        if folded is None:
            written.append(Written(index))
            index += 1
            continue
        length, endings = folded
        if not endings:
            written += [Written(index + k, start=k == 0, end=k == length - 1) for k in range(length)]
        else:
            written += [Written(index + k, start=k == 0) for k in range(length - 1)]
            written += [Written(index + length - 1, end=True, ending=1), Written(index + 2 * length - 1, ending=2)]
        index += 2 * length
    return written


def _longest_part(bars: list[list[str]], clean: list[bool], index: int) -> tuple[int, bool] | None:
    """(bars in the part, whether it has two endings) of the longest part starting at `index` that is
    played twice in a row; None when there is none."""
    if not clean[index]:
        return None
    for length in range((len(bars) - index) // 2, MIN_PART - 1, -1):
        first, second, after = index, index + length, index + 2 * length
        if not clean[after]:
            continue
        if bars[first:second] == bars[second:after]:
            return length, False
        shared = length - 1
        if (shared >= MIN_PART and bars[first:first + shared] == bars[second:second + shared]
                and clean[second - 1] and clean[after - 1]):
            return length, True
    return None


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
