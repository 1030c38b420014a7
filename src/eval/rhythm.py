"""Rhythm statistics of melodies in their meter. Pure numpy and the stdlib: no torch, no music21.

A melody is the symbol list of one song (no `/`) on a 16th-note grid; a pitch symbol is a note onset,
`r` a rest onset and `_` a hold. Each melody comes with its meter: `bar_length` (steps per bar: 16 for
4/4, 12 for 3/4 and 6/8, 8 for 2/4, 6 for 3/8) and `first_position` (the bar position of its first
step: 0 on a downbeat, bar_length - p for a pickup of p steps). Step t lies at bar position
(first_position + t) % bar_length.

The bar-based statistics use complete bars only, from one downbeat to the next: the pickup before the
first downbeat and an incomplete last bar are left out. A statistic a melody cannot have (no complete
bar, no note) is nan and is left out of means.

Beats: a compound meter (6/8 = 12 steps) cannot be told from a simple one (3/4 = 12 steps) by the step
count alone, so the caller gives `beat_length` (steps per beat): 4 (a quarter note) by default, 6 (a
dotted quarter) for 6/8, 9/8 and 12/8, and so on. A position is on a beat when position % beat_length == 0.
"""

from __future__ import annotations

import math

import numpy as np

from src.data.vocab import HOLD, REST

RHYTHM_METRICS = ("downbeat_onset_rate", "offbeat_onset_rate", "groove_consistency", "bar_repetition")

# (bar_length, first_position, beat_length, label) of one melody
RhythmMeter = tuple[int, int, int, str]


def _is_onset(symbol: str) -> bool:
    """True for a note onset (a pitch symbol), False for a rest or a hold."""
    return symbol not in (HOLD, REST)


def _check_meter(bar_length: int, first_position: int) -> None:
    """Raise ValueError unless bar_length > 0 and 0 <= first_position < bar_length."""
    if bar_length <= 0:
        raise ValueError(f"bar_length must be positive, got {bar_length}")
    if not 0 <= first_position < bar_length:
        raise ValueError(f"first_position must be in 0..{bar_length - 1}, got {first_position}")


def bars(melody: list[str], bar_length: int, first_position: int) -> list[list[str]]:
    """The symbols of the melody's complete bars (pickup and incomplete last bar left out)."""
    _check_meter(bar_length, first_position)
    start = (bar_length - first_position) % bar_length  # the first downbeat's step (0 without pickup)
    return [melody[s : s + bar_length] for s in range(start, len(melody) - bar_length + 1, bar_length)]


def downbeat_onset_rate(melody: list[str], bar_length: int, first_position: int) -> float:
    """Share of complete bars whose first step is a note onset (a rest or hold there is not)."""
    complete = bars(melody, bar_length, first_position)
    return sum(_is_onset(bar[0]) for bar in complete) / len(complete) if complete else math.nan


def offbeat_onset_rate(
    melody: list[str], bar_length: int, first_position: int, beat_length: int = 4
) -> float:
    """Share of the melody's note onsets (pickup and last bar included) that are not on a beat."""
    _check_meter(bar_length, first_position)
    if beat_length <= 0:
        raise ValueError(f"beat_length must be positive, got {beat_length}")
    positions = [(first_position + t) % bar_length for t, symbol in enumerate(melody) if _is_onset(symbol)]
    return sum(p % beat_length != 0 for p in positions) / len(positions) if positions else math.nan


def groove_consistency(melody: list[str], bar_length: int, first_position: int) -> float:
    """1 - mean Hamming distance / bar_length between consecutive complete bars' onset patterns (MusPy)."""
    complete = bars(melody, bar_length, first_position)
    if len(complete) < 2:
        return math.nan
    patterns = np.array([[_is_onset(s) for s in bar] for bar in complete], dtype=bool)
    distances = (patterns[1:] != patterns[:-1]).sum(axis=1) / bar_length
    return float(1.0 - distances.mean())


def bar_repetition(melody: list[str], bar_length: int, first_position: int) -> float:
    """Share of complete bars equal, symbol for symbol, to an earlier complete bar of the melody."""
    complete = bars(melody, bar_length, first_position)
    if not complete:
        return math.nan
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for bar in complete:
        key = tuple(bar)
        repeats += key in seen
        seen.add(key)
    return repeats / len(complete)


def rhythm_metrics(melody: list[str], bar_length: int, first_position: int, beat_length: int = 4) -> dict:
    """All RHYTHM_METRICS of one melody, by name."""
    return {
        "downbeat_onset_rate": downbeat_onset_rate(melody, bar_length, first_position),
        "offbeat_onset_rate": offbeat_onset_rate(melody, bar_length, first_position, beat_length),
        "groove_consistency": groove_consistency(melody, bar_length, first_position),
        "bar_repetition": bar_repetition(melody, bar_length, first_position),
    }


def _nanmean(values: list[float]) -> float:
    """Mean of the values that are not nan; nan (and no RuntimeWarning) when none is left."""
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else math.nan


def _summarize(rows: list[dict]) -> dict:
    """Per-metric means ignoring nan, plus the number of melodies."""
    summary = {name: _nanmean([row[name] for row in rows]) for name in RHYTHM_METRICS}
    summary["melodies"] = len(rows)
    return summary


def rhythm_summary(melodies: list[list[str]], meters: list[RhythmMeter]) -> dict:
    """{"overall": means, "by_meter": {label: means}} of the melodies' RHYTHM_METRICS.

    meters[i] = (bar_length, first_position, beat_length, label) of melodies[i]. Means ignore nan
    (a melody without complete bars still counts in offbeat_onset_rate). Labels keep the order in
    which they first appear.
    """
    if len(melodies) != len(meters):
        raise ValueError(f"{len(melodies)} melodies but {len(meters)} meters")
    rows = [
        rhythm_metrics(melody, bar_length, first_position, beat_length)
        for melody, (bar_length, first_position, beat_length, _) in zip(melodies, meters, strict=True)
    ]
    groups: dict[str, list[dict]] = {}
    for row, (_, _, _, label) in zip(rows, meters, strict=True):
        groups.setdefault(label, []).append(row)
    by_meter = {label: _summarize(group) for label, group in groups.items()}
    return {"overall": _summarize(rows), "by_meter": by_meter}
