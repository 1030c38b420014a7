"""Musical statistics of melodies and distances between sets of melodies. Pure numpy: no torch, no music21.

A melody is the symbol list of one song (no `/`). Notes are counted at their onsets. A statistic a
melody cannot have (the range of a melody with no notes) is nan and is left out of means and distances.
"""

from __future__ import annotations

import math

import numpy as np

from src.data.vocab import symbols_to_events

DURATION_BINS = 16  # note lengths of 1..16 steps, then one bin for all longer notes
# the scales of in_key_rate, as pitch classes above the tonic; minor = natural + harmonic (raised 7th)
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10, 11)}
SCALARS = ("pitch_range", "pitch_class_entropy", "in_key_rate", "rest_ratio", "length", "ends_on_tonic",
           "repetition")
HISTOGRAMS = ("pitch_classes", "durations")

Events = list[tuple[int | None, int]]


def _notes(symbols: list[str]) -> list[tuple[int, int]]:
    return [(pitch, steps) for pitch, steps in symbols_to_events(symbols) if pitch is not None]


def pitch_range(symbols: list[str]) -> float:
    """Highest minus lowest pitch, in semitones."""
    pitches = [pitch for pitch, _ in _notes(symbols)]
    return float(max(pitches) - min(pitches)) if pitches else math.nan


def pitch_class_histogram(symbols: list[str]) -> np.ndarray:
    """(12,) counts of note onsets per pitch class (C = 0)."""
    return np.bincount([pitch % 12 for pitch, _ in _notes(symbols)], minlength=12).astype(np.float64)


def pitch_class_entropy(symbols: list[str]) -> float:
    """Shannon entropy (bits) of the melody's pitch-class distribution: 0 for one pitch class, at most
    log2(12) = 3.585 for all twelve equally often."""
    counts = pitch_class_histogram(symbols)
    if not counts.sum():
        return math.nan
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: no -0.0


def in_key_rate(symbols: list[str], tonic: int, mode: str) -> float:
    """Share of notes whose pitch class is in the scale of `tonic` (pitch class) and `mode` (SCALES)."""
    scale = {(tonic + degree) % 12 for degree in SCALES[mode]}
    notes = _notes(symbols)
    return sum(pitch % 12 in scale for pitch, _ in notes) / len(notes) if notes else math.nan


def duration_histogram(symbols: list[str]) -> np.ndarray:
    """(DURATION_BINS + 1,) counts of note durations: 1, 2, ..., 16 steps, longer."""
    steps = [min(steps, DURATION_BINS + 1) - 1 for _, steps in _notes(symbols)]
    return np.bincount(steps, minlength=DURATION_BINS + 1).astype(np.float64)


def rest_ratio(symbols: list[str]) -> float:
    """Share of the melody's steps that are rests."""
    events = symbols_to_events(symbols)
    return sum(steps for pitch, steps in events if pitch is None) / len(symbols) if symbols else math.nan


def ends_on_tonic(symbols: list[str], tonic: int) -> float:
    """1.0 when the last note's pitch class is the tonic, else 0.0."""
    notes = _notes(symbols)
    return float(notes[-1][0] % 12 == tonic) if notes else math.nan


def repetition(symbols: list[str]) -> float:
    """Share of the melody's steps covered by the occurrences of its longest repeated phrase.

    A phrase is a run of whole events (pitch or rest, and duration); it is repeated when it occurs
    twice without overlapping, and its occurrences are counted left to right without overlap. Among
    phrases of the longest length, the one covering most steps counts. Exact repeats only (a
    transposed repeat is a different phrase).
    """
    if not symbols:
        return math.nan
    events = symbols_to_events(symbols)
    length = longest_repeat(events)
    if length == 0:
        return 0.0
    codes = _event_codes(events)
    durations = np.array([steps for _, steps in events])
    starts_by_phrase = _starts_by_phrase(codes, length)
    covered = 0
    for starts in starts_by_phrase.values():
        kept, end = [], -1
        for start in starts:
            if start >= end:
                kept.append(start)
                end = start + length
        if len(kept) >= 2:
            covered = max(covered, sum(int(durations[s:s + length].sum()) for s in kept))
    return covered / len(symbols)


def longest_repeat(events: Events) -> int:
    """The most events a phrase has that occurs twice without overlapping (0 when none does).

    Binary search on the length: if a phrase of length k repeats, so does its first k - 1 events.
    """
    codes = _event_codes(events)
    low, high = 0, len(events) // 2
    while low < high:
        k = (low + high + 1) // 2
        if any(starts[-1] - starts[0] >= k for starts in _starts_by_phrase(codes, k).values()):
            low = k
        else:
            high = k - 1
    return low


def _event_codes(events: Events) -> np.ndarray:
    index: dict[tuple[int | None, int], int] = {}
    return np.array([index.setdefault(event, len(index)) for event in events], dtype=np.int64)


def _starts_by_phrase(codes: np.ndarray, k: int) -> dict[bytes, list[int]]:
    """Every phrase of k events -> its start indices, in order."""
    rows = np.lib.stride_tricks.sliding_window_view(codes, k)  # (n - k + 1, k) view
    starts: dict[bytes, list[int]] = {}
    for start, row in enumerate(rows):
        starts.setdefault(row.tobytes(), []).append(start)
    return starts


def melody_stats(symbols: list[str], tonic: int, mode: str) -> dict[str, float]:
    """Every scalar statistic of one melody, scored in the key (tonic pitch class, mode)."""
    return {
        "pitch_range": pitch_range(symbols),
        "pitch_class_entropy": pitch_class_entropy(symbols),
        "in_key_rate": in_key_rate(symbols, tonic, mode),
        "rest_ratio": rest_ratio(symbols),
        "length": float(len(symbols)),
        "ends_on_tonic": ends_on_tonic(symbols, tonic),
        "repetition": repetition(symbols),
    }


def summarize(melodies: list[list[str]], keys: list[tuple[int, str]]) -> dict:
    """Per-melody scalars and the set's pooled histograms (as shares) of a set of melodies."""
    per_melody = [melody_stats(m, tonic, mode) for m, (tonic, mode) in zip(melodies, keys, strict=True)]
    pitch_classes = sum((pitch_class_histogram(m) for m in melodies), np.zeros(12))
    durations = sum((duration_histogram(m) for m in melodies), np.zeros(DURATION_BINS + 1))
    return {
        "count": len(melodies),
        "scalars": {name: [row[name] for row in per_melody] for name in SCALARS},
        "pitch_classes": _shares(pitch_classes),
        "durations": _shares(durations),
    }


def describe(values: list[float]) -> dict:
    """Mean, standard deviation (population) and count of the values that are not nan."""
    kept = np.array([v for v in values if not math.isnan(v)], dtype=np.float64)
    if not len(kept):
        return {"mean": math.nan, "std": math.nan, "n": 0}
    return {"mean": float(kept.mean()), "std": float(kept.std()), "n": int(len(kept))}


def total_variation(p: list[float], q: list[float]) -> float:
    """Half the L1 distance between two distributions: 0 when equal, 1 when disjoint."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    return float(0.5 * np.abs(p - q).sum())


def wasserstein(a: list[float], b: list[float]) -> float:
    """Earth mover's distance between two samples of numbers (area between their CDFs), nan ignored.

    In the values' own unit: moving every value of a by d gives d.
    """
    a = np.sort([v for v in a if not math.isnan(v)])
    b = np.sort([v for v in b if not math.isnan(v)])
    if not len(a) or not len(b):
        return math.nan
    points = np.sort(np.concatenate([a, b]))
    widths = np.diff(points)  # (n - 1,)
    cdf_a = np.searchsorted(a, points[:-1], side="right") / len(a)
    cdf_b = np.searchsorted(b, points[:-1], side="right") / len(b)
    return float((np.abs(cdf_a - cdf_b) * widths).sum())


def distances(real: dict, generated: dict) -> dict[str, float]:
    """Per statistic: Wasserstein-1 between per-melody values, total variation between histograms."""
    out = {name: wasserstein(real["scalars"][name], generated["scalars"][name]) for name in SCALARS}
    for name in HISTOGRAMS:
        out[name] = total_variation(real[name], generated[name]) if generated["count"] else math.nan
    return out


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return (counts / total if total else counts).tolist()
