"""ABC tune text made right for music21 before it parses it, and what music21 would lose from it.

music21's ABC reader keeps only ending 1 or 2 of a volta label (`[1,3` reads as 1; `[1-3` and `[3` read as
chords), drops the rest of a tune after a `::` written without spaces, and ignores an inline key change
`[K:D]` (the notes after it keep the old key's accidentals), while a `K:` line of its own is applied.
`prepare_abc` rewrites those and keeps what the rewrite hides: the volta numbers in order, whether the
tune has repeat signs at all, and how many key changes it has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# in a tune body: quoted text, decorations and comments (kept as they are), an inline key field, a
# double repeat (`::`, `:|:`, `:||:`), or a volta label after a bar line (`|1`, `:|2`, `[1`, `[1,3`, `[1-3`)
_BODY_TOKEN = re.compile(r'"[^"\n]*"|![^!\n]*!|%.*|\[K:(?P<key>[^\]\n]*)\]|(?P<double>:\|{0,2}:)'
                         r'|(?<=[|\[])(?P<space>\s*)(?P<volta>[1-9][0-9]*(?:\s*[,-]\s*[1-9][0-9]*)*)')
_REPEAT_SIGN = re.compile(r"\|:|:\||::")
_FIELD = re.compile(r"^[A-Za-z+]:")


@dataclass
class PreparedAbc:
    """A tune's text as music21 should read it, and what the rewrite keeps aside."""

    text: str
    voltas: list[frozenset[int]] = field(default_factory=list)  # each volta label's numbers, in order
    repeat_signs: bool = False  # any `|:`, `:|`, `::` or volta in the body
    key_changes: int = 0  # `K:` fields after the tune's first
    plan: str = ""  # the header's `P:` part order, played out (`P:A2B` -> `AAB`; empty: none or unreadable)
    part_starts: list[tuple[str, int]] = field(default_factory=list)  # body `P:X` labels, measure index


def abc_field(text: str | None, name: str) -> str:
    """An ABC tune's first `name:` field (`T`, `R`, `K`, ...), stripped; empty when it has none."""
    match = re.search(rf"(?m)^{name}:(.*)$", text or "")
    return match.group(1).strip() if match else ""


def prepare_abc(text: str) -> PreparedAbc:
    """Rewrite one ABC tune for music21 (see the module's docstring)."""
    prepared = PreparedAbc("")

    def one(match: re.Match) -> str:
        if match.group("key") is not None:
            prepared.key_changes += 1
            return f"\nK:{match.group('key').strip()}\n"  # a K: line of its own, which music21 applies
        if match.group("double"):
            return " :: "
        if match.group("volta") is None:
            return match.group(0)
        numbers: set[int] = set()
        for part in re.split(r"\s*,\s*", match.group("volta")):
            low, _, high = part.partition("-")
            ends = sorted((int(low), int(high or low)))  # a range written backwards (`[3-1`) reads forwards
            numbers.update(range(ends[0], ends[1] + 1))
        prepared.voltas.append(frozenset(numbers))
        return match.group("space") + ("1" if min(numbers) == 1 else "2")  # music21 knows endings 1 and 2

    lines, in_body, counter = [], False, _MeasureCounter()
    for line in text.splitlines():
        if _FIELD.match(line):  # a header or field line; the first K: ends the header
            prepared.key_changes += in_body and line.startswith("K:")
            if line.startswith("P:") and not in_body:
                prepared.plan = played_plan(line[2:])
            elif line.startswith("P:") and prepared.plan:
                prepared.part_starts.append((line[2:].split("%")[0].strip(), counter.measures))
            in_body = in_body or line.startswith("K:")
            lines.append(line)
            continue
        if in_body and prepared.plan:  # measures are counted only for a tune whose P: orders its parts
            prepared.part_starts += counter.read(line)
        lines.append(_BODY_TOKEN.sub(one, line))
        prepared.repeat_signs |= bool(_REPEAT_SIGN.search(re.sub(r'"[^"]*"|%.*', "", line)))
    prepared.text = "\n".join(lines) + "\n"
    prepared.repeat_signs |= bool(prepared.voltas)
    return prepared


# in a body line: a bar line (one measure ends there when a note came since the last), a note or rest, an
# inline part label; quoted text, decorations, comments and inline fields are read past
_MEASURE_TOKEN = re.compile(r'"[^"\n]*"|![^!\n]*!|%.*|\[P:\s*(?P<part>[^\]]*)\]|\[[A-Za-z]:[^\]\n]*\]'
                            r"|(?P<bar>::|:*\|[\]|:]*|\[\|)|(?P<note>[A-Ga-gzZx])")


class _MeasureCounter:
    """Measures as music21 makes them from an ABC body: a bar line ends one when notes came since the
    last (a leading `|:` and a `:|` `|:` pair end only one)."""

    def __init__(self) -> None:
        self.measures, self._notes = 0, False

    def read(self, line: str) -> list[tuple[str, int]]:
        """Count a body line's measures; the inline part labels (`[P:B]`) it holds, with the measure each
        starts."""
        labels = []
        for match in _MEASURE_TOKEN.finditer(line):
            if match.group("note"):
                self._notes = True
            elif match.group("bar") and self._notes:
                self.measures, self._notes = self.measures + 1, False
            elif match.group("part") is not None:
                labels.append((match.group("part").strip(), self.measures))
        return labels


def played_plan(text: str) -> str:
    """A header `P:` field's part order played out: `ABA` -> `ABA`, `A2B` -> `AAB`, `(AB)2C` -> `ABABC`;
    empty when it is not letters, counts and parentheses (`P:Modern Version.`)."""
    text = re.sub(r"[\s.]", "", text.split("%")[0])
    plan, index = _sequence(text, 0)
    return plan if plan and index == len(text) else ""


def _sequence(text: str, index: int) -> tuple[str, int]:
    """Parts from `index` up to a `)` or the end, each followed by an optional count."""
    out = ""
    while index < len(text) and text[index] != ")":
        if text[index] == "(":
            inner, index = _sequence(text, index + 1)
            if index >= len(text):
                return "", len(text) + 1  # an unclosed group: not a plan
            index += 1
        elif "A" <= text[index] <= "Z":
            inner, index = text[index], index + 1
        else:
            return "", len(text) + 1
        count = re.match(r"\d*", text[index:]).group(0)
        out += inner * (int(count) if count else 1)
        index += len(count)
    return out, index
