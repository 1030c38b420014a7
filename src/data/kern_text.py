"""Humdrum kern expansion labels: `*>[A,A,B,B]` and `*>A` -> the order a player plays the measures in.

A kern file may name its sections (`*>A` where section A begins) and list the order they are played in
(`*>[A,A,B,B]`, the default expansion list; `*>norep[A,B]` is a named variant, not followed). Humdrum's
`thru` plays a file by that list, and where a file has one it says more than its repeat bar lines (which
cannot spell out, say, `[A,A,B,B,A]`), so the list wins. music21 ignores both; this module reads them from
the text. Pure Python: src/data/encoding.py matches the result to music21's measures.

Measures here are the stretches of data records between bar lines, in order, counting a pickup before the
first bar line; records before the first label play once, before the first section.
"""

from __future__ import annotations

import re

from src.data.repeats import RepeatError

_EXPANSION = re.compile(r"^\*>\[(?P<labels>[^\]]*)\]$")  # the unnamed list only
_LABEL = re.compile(r"^\*>(?P<label>[^\[\]]+)$")


def expansion_order(text: str, measures: int) -> list[int] | None:
    """Indices of the file's `measures` measures in the order its default expansion list plays them, or
    None without a list.

    Raises RepeatError when the list names a section the file never labels, a label falls inside a
    measure (after some of its notes), where no measure order can express it, or the file's bar lines
    make another number of measures than the reader found."""
    expansion: list[str] | None = None
    starts: dict[str, int] = {}  # label -> index of its first measure
    measure, has_data = 0, False  # the measure being read; whether it has a data record yet
    for line in text.splitlines():
        token = line.split("\t", 1)[0].strip()
        if not token or token.startswith("!"):
            continue  # empty line, comment
        if token.startswith("="):  # a bar line closes the measure being read (if it held anything)
            measure, has_data = measure + has_data, False
        elif token.startswith("*"):
            found = _EXPANSION.match(token)
            if found and expansion is None:
                expansion = [label.strip() for label in found.group("labels").split(",") if label.strip()]
            elif (found := _LABEL.match(token)) is not None:
                if has_data:
                    raise RepeatError(f"section label {token} inside a measure")
                starts.setdefault(found.group("label").strip(), measure)
        else:
            has_data = True
    if expansion is None:
        return None
    count = measure + has_data
    if count != measures:
        raise RepeatError(f"the bar lines make {count} measures, the score has {measures}")
    missing = [label for label in expansion if label not in starts]
    if missing:
        raise RepeatError(f"the expansion list names section {missing[0]}, which is never labelled")
    if not expansion:
        raise RepeatError("an empty expansion list")
    bounds = sorted(set(starts.values()) | {count})
    section = {label: range(start, bounds[bounds.index(start) + 1]) for label, start in starts.items()}
    first = min(starts.values())
    return list(range(first)) + [index for label in expansion for index in section[label]]
