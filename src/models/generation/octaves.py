"""`octave=auto`: a one-register model's unseeded melodies written back where its training songs sat.

A model trained with `data.normalize_octave` learned every song moved by whole octaves so its median
pitch sits nearest the middle of the range (`keys.centre_octaves`), so all its melodies come out in that
one register. Its checkpoint records, per mode, how many training songs had each median pitch in their
own register (`encoding.medians`); a melody of median m is moved by 12k semitones with probability
proportional to the songs of its mode whose median was m + 12k, over the k that keep every note inside
the vocabulary (none with weight: it stays). Seeded melodies, `octave=model` and every other model are
left as they are.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from src.data.keys import median_pitch
from src.data.record import EncodingRecord
from src.models.generation.request import GenerationRequest
from src.models.generation.seeds import transpose_symbols

STREAM = 1  # the octave draw's numpy stream beside rng_seed: apart from the meters' (rng_seed alone)


def moves_octaves(request: GenerationRequest, encoding: EncodingRecord) -> bool:
    """Whether `octave=auto` applies: unseeded continuations of a model trained in one register that
    records where its songs sat."""
    return (request.octave == "auto" and request.mode == "continue" and encoding.normalize_octave
            and bool(encoding.medians) and not any(text.strip() for text in request.seeds))


def in_song_register(melodies: list[list[str]], modes: list[str], request: GenerationRequest,
                     encoding: EncodingRecord) -> list[list[str]]:
    """Each melody (symbols in the model's key) moved by its drawn octave when `moves_octaves`, else all
    as they are; `modes` is each melody's mode."""
    if not moves_octaves(request, encoding):
        return melodies
    counts = Counter({(mode, float(median)): songs for mode, median, songs in encoding.medians})
    draws = np.random.default_rng([request.rng_seed, STREAM]).random(len(melodies))  # (B,): one per melody
    shifts = [draw_shift(octave_weights(melody, mode, counts, encoding.min_pitch, encoding.max_pitch), u)
              for melody, mode, u in zip(melodies, modes, draws, strict=True)]
    return [transpose_symbols(melody, shift) for melody, shift in zip(melodies, shifts, strict=True)]


def octave_weights(melody: list[str], mode: str, counts: Counter, min_pitch: int,
                   max_pitch: int) -> dict[int, int]:
    """Shift (semitones, whole octaves that keep every note inside min_pitch..max_pitch) -> training songs
    of `mode` whose median was the melody's median plus it; only shifts with songs."""
    pitches = [int(s) for s in melody if s.isascii() and s.isdigit()]  # each note once
    if not pitches:
        return {}
    low, high, median = min(pitches), max(pitches), median_pitch(pitches)
    fitting = (12 * k for k in range(-10, 11) if min_pitch <= low + 12 * k and high + 12 * k <= max_pitch)
    return {shift: counts[mode, median + shift] for shift in fitting if counts[mode, median + shift] > 0}


def draw_shift(weights: dict[int, int], u: float) -> int:
    """The shift whose share of the weights holds `u` in [0, 1), in rising order of shift; 0 without any."""
    total = sum(weights.values())
    reached = 0.0
    for shift in sorted(weights):
        reached += weights[shift] / total
        if u < reached:
            return shift
    return max(weights, default=0)  # u within rounding of 1
