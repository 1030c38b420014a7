"""A tune's form as written: its parts (cut at repeat signs, section bar lines `||` and after a part's
last ending), how many bars each is played for, and which parts repeat which: `AABB` for a reel whose two
parts are each played twice. Pure Python on the measures' marks (src/data/repeats.py) and the order they
are played in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from src.data.repeats import Mark


@dataclass(frozen=True)
class Form:
    """The parts as played: one letter per part played (`AABB`) and the bars of each."""

    labels: str = "A"
    bars: tuple[int, ...] = ()


def written_parts(marks: list[Mark], pickup: bool) -> list[int]:
    """Each written measure's part (0, 1, ...): a part starts at `|:`, after `:|` or `||`, and after a
    part's last ending; an ending stays in its part, and a pickup measure before the first `|:` is the
    first part's."""
    parts, part = [], 0
    for index, mark in enumerate(marks):
        if index > 0 and not mark.ending:
            before = marks[index - 1]
            starts = mark.start or before.end or before.section_end or bool(before.ending)
            part += starts and not (index == 1 and pickup)
        parts.append(part)
    return parts


def played_form(marks: list[Mark], lengths: list[int], order: list[int], bar: int | None) -> Form:
    """The form of measures of `lengths` steps with `marks`, played in `order`; a part's bars are its
    played steps over the bar's (`bar`, else the commonest measure length), rounded."""
    if not marks or not order:
        return Form("A", (round(sum(lengths) / bar) if bar else len(lengths),))
    bar = bar or Counter(lengths).most_common(1)[0][0]
    pickup = len(lengths) > 1 and lengths[0] < bar
    parts = written_parts(marks, pickup)
    played: list[list[int]] = []  # [written part, steps] per part played
    last = None
    for measure in order:
        if not played or parts[measure] != played[-1][0] or measure <= last:
            played.append([parts[measure], 0])
        played[-1][1] += lengths[measure]
        last = measure
    letters: dict[int, str] = {}
    for part, _ in played:
        letters.setdefault(part, chr(ord("A") + min(len(letters), 25)))
    return Form("".join(letters[part] for part, _ in played), tuple(max(1, round(steps / bar))
                                                                       for _, steps in played))
