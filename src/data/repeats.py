"""Repeats as played: measures' repeat signs and volta endings -> the order a player plays them in.

Pure Python on measure marks (music21 stays in src/data/encoding.py, which reads the marks). The
rules, as folk players read ABC and MusicXML:
- `|:` opens a repeated section; `:|` goes back to the last `|:`, or, with none since the last `:|`,
  `||` / `|]` or the start, back to there; a section is played twice unless the sign says more times.
- A measure under volta ending n (`[1`, `|2`, `[1,3` ...) is played on the n-th time through only;
  `:|` under an ending repeats while a later ending of the same group waits for the next time.
- After the last ending of a group (or a section's last time through) the count starts again.
- An ABC tune whose header `P:` orders its labelled parts (`P:ABA`, Aird's da capo) is played part by
  part in that order (`planned_order`), each part's repeats within it.
A tune whose signs cannot be played this way (an ending never reached, a repeat that never ends) is
refused with `RepeatError`, and the corpus counts it under its own reason, never keeping it wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from src.data.vocab import HOLD, REST, events_to_symbols, symbols_to_events, tidy_rests

MAX_TIMES = 8  # a `:|` asking for more passes than this is refused
Events = list[tuple[int | None, int]]


class RepeatError(ValueError):
    """A tune's repeat signs cannot be resolved into one order of measures."""


@dataclass(frozen=True)
class Mark:
    """One measure's signs as written."""

    start: bool = False  # `|:` at its left
    end: int = 0  # `:|` at its right: how many times the section is played in all (0: no sign)
    ending: frozenset[int] = frozenset()  # the volta numbers it is played under (empty: every time)
    section_end: bool = False  # `||` or `|]` at its right: a later bare `:|` goes back to after it


def played_order(marks: list[Mark]) -> list[int]:
    """Measure indices in the order they are played (the identity when there are no signs)."""
    order: list[int] = []
    section, passes, jumped, index = 0, 1, False, 0
    limit = (MAX_TIMES + 1) * len(marks) + 1
    while index < len(marks):
        mark = marks[index]
        if mark.start and not jumped:  # arriving at a new `|:` in order (not by going back)
            section, passes = index, 1
        jumped = False
        if mark.ending and passes not in mark.ending:
            index += 1
            continue
        order.append(index)
        if len(order) > limit:
            raise RepeatError("the repeats never end")
        if mark.end:
            times = _times(marks, index)
            if not 2 <= times <= MAX_TIMES:
                raise RepeatError(f"a repeat played {times} times (accepted: 2..{MAX_TIMES})")
            if passes < times:
                passes, index, jumped = passes + 1, section, True
                continue
            section, passes = index + 1, 1  # the section is done: the next `:|` goes back to here
        elif mark.ending and not _next_has_ending(marks, index):
            section, passes = index + 1, 1  # the last ending of its group: done with this section
        elif mark.section_end:
            section = index + 1
            if not mark.ending:
                passes = 1
        index += 1
    played = set(order)
    unplayed = [i for i, m in enumerate(marks) if m.ending and i not in played]
    if unplayed:
        raise RepeatError(f"volta ending {sorted(marks[unplayed[0]].ending)} is never reached")
    return order


def planned_order(marks: list[Mark], starts: list[tuple[str, int]], plan: str) -> list[int] | None:
    """The measures played part by part in a `P:` field's order (`ABA`), each part's own repeats played
    within it; measures before the first labelled part are played once, first. None when a part of the
    plan has no label in the tune, or the labels are out of order or beyond its measures."""
    indices = [index for _, index in starts]
    if indices != sorted(indices) or not starts or indices[-1] >= len(marks):
        return None
    ends = [*indices[1:], len(marks)]
    bounds = {label: (first, end) for (label, _), first, end in zip(starts, indices, ends, strict=True)}
    if len(bounds) != len(starts) or any(label not in bounds for label in plan):
        return None
    order = list(range(indices[0]))
    for label in plan:
        first, end = bounds[label]
        order += [first + index for index in played_order(marks[first:end])]
    return order


def _times(marks: list[Mark], index: int) -> int:
    """How many passes the `:|` of measure `index` asks for: its own count, or with volta endings the
    highest ending of its group (`[1 ... :|[2 ...`: 2; `[1,2 ... :|[3 ...`: 3)."""
    if not marks[index].ending:
        return marks[index].end
    first = index
    while first > 0 and marks[first - 1].ending:
        first -= 1
    last = index
    while last + 1 < len(marks) and marks[last + 1].ending:
        last += 1
    return max(max(m.ending) for m in marks[first:last + 1])


def _next_has_ending(marks: list[Mark], index: int) -> bool:
    return index + 1 < len(marks) and bool(marks[index + 1].ending)


def expand(events: Events, first: int, measures: list[tuple[int, int]],
           order: list[int]) -> tuple[Events, int, list[tuple[int, int]]]:
    """Events starting at step `first`, cut at the measures (start, length) and replayed in `order`:
    (events, the step of the first one, the played measures (start, length)).

    The cut is made on the symbols (src/data/vocab.py): a note held over a bar line into a measure
    that is played after a jump keeps sounding into the measure played next, as a player holds it into
    the repeat; a hold with no note before it is a rest."""
    symbols = [REST] * first + events_to_symbols(events)
    symbols += [REST] * (max(s + n for s, n in measures) - len(symbols))
    played: list[str] = []
    bars: list[tuple[int, int]] = []
    for index in order:
        start, length = measures[index]
        bars.append((len(played), length))
        played.extend(symbols[start:start + length])
    if played and played[0] == HOLD:
        played[0] = REST
    return *tidy_rests(symbols_to_events(played)), bars
