"""Where the bar is: each step's position in its bar and its bar's length, in grid steps (pure numpy).

A song's bars come from its measures as written (`src/data/encoding.py` reads them): a list of
(first step, written length) relative to the song's first sounding step. `nominal_bars` turns them
into bars of their full length: a short first measure is a pickup (its bar starts before the song),
a short last measure completes it. `bar_positions` then gives every step, and the song's closing `/`,
its (position in bar, bar length); the closing `/` continues the bar grid, as a next step would.
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from src.checks import check, integer, number
from src.errors import UserError

MAX_GRID_DENOMINATOR = 64  # a grid step is a fraction of a quarter note with at most this denominator
MAX_BAR_STEPS = 255  # positions are stored as uint8
MODES = ("major", "minor")  # a song's mode id is its index here
_TIME_SIGNATURE = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{1,2})\s*$")


def grid_of(step: float) -> Fraction:
    """The exact grid step (quarter notes) a stored `step` stands for: 0.25 -> 1/4, 1/12's float -> 1/12."""
    return Fraction(step).limit_denominator(MAX_GRID_DENOMINATOR)


def midi_divisors(step: float) -> tuple[int, ...]:
    """What music21 snaps MIDI onsets and durations to (`quarterLengthDivisors`): the grid (16ths at the
    coarsest), on a grid of thirds (1/12) alone; otherwise also its triplets, as music21 does by
    default ((4, 3) for 16ths), so a triplet stays off the grid (skipped) rather than moved."""
    grid = max(4, grid_of(step).denominator)
    return (grid,) if grid % 3 == 0 else (grid, 3 * grid // 4)


def parse_time_signature(text: object, setting: str = "time_signature") -> tuple[int, int]:
    """`3/4` -> (3, 4): a numerator 1..32 over a power-of-two denominator 1..64 (UserError otherwise)."""
    match = _TIME_SIGNATURE.match(str(text))
    numerator, denominator = (int(g) for g in match.groups()) if match else (0, 0)
    check(setting, text, 1 <= numerator <= 32 and denominator in (1, 2, 4, 8, 16, 32, 64),
          "N/D with N 1..32 and D a power of two 1..64, e.g. 4/4, 3/4, 6/8")
    return numerator, denominator


def bar_steps(time_signature: str, step: float, setting: str = "time_signature") -> int:
    """Grid steps in one bar of `time_signature` (UserError when a bar is not a whole number of steps)."""
    numerator, denominator = parse_time_signature(time_signature, setting)
    steps = Fraction(4 * numerator, denominator) / grid_of(step)
    if steps.denominator != 1:
        raise UserError(f"{setting}={time_signature} is not a whole number of {step}-quarter-note steps")
    return int(steps)


def beat_steps(time_signature: str, step: float) -> int:
    """Grid steps in one beat: a dotted quarter in compound meters (6/8, 9/8, 12/8), else the
    denominator's note; 3/8 counts one beat per eighth."""
    numerator, denominator = parse_time_signature(time_signature)
    beat = Fraction(4, denominator) * (3 if denominator >= 8 and numerator % 3 == 0 and numerator > 3 else 1)
    return max(1, int(beat / grid_of(step)))


def nominal_bars(measures: list[tuple[int, int]], first_bar: int | None) -> list[tuple[int, int]]:
    """(start, length) of each bar at its full length, from measures as written (start, written length).

    The first measure shorter than `first_bar` (the opening time signature's bar, when known) is a
    pickup: its bar starts `first_bar - written` steps earlier. A last measure shorter than the bar
    before it is the rest of that bar. Two measures, each shorter than the bar before them, that add
    up to it are one bar split by a repeat or section sign (`e2 :| G`: the end of a section and its
    pickup played again). Every other measure is as long as it is written, so a meter change (which
    some readers drop from the time signatures) still moves the bar lines.
    """
    measures = [(start, length) for start, length in measures if length > 0]
    bars: list[tuple[int, int]] = []
    index = 0
    while index < len(measures):
        start, length = measures[index]
        following = measures[index + 1][1] if index + 1 < len(measures) else None
        if index == 0 and first_bar and length < first_bar:
            bars.append((start + length - first_bar, first_bar))
        elif bars and length < bars[-1][1] and (following is None or length + following == bars[-1][1]):
            bars.append((start, bars[-1][1]))  # the last bar, or the first half of a split one
            index += following is not None  # its second half is in it
        else:
            bars.append((start, length))
        index += 1
    return bars


def bar_positions(bars: list[tuple[int, int]], length: int) -> np.ndarray:
    """(length + 1, 2) uint8: each step's (position in its bar, bar length), then the closing `/`'s.

    Steps before the first bar or after the last continue the nearest bar's grid.
    """
    if not bars:
        raise ValueError("a song needs at least one bar")
    if max(size for _, size in bars) > MAX_BAR_STEPS:
        raise ValueError(f"a bar longer than {MAX_BAR_STEPS} steps")
    starts = np.array([start for start, _ in bars], dtype=np.int64)
    sizes = np.array([size for _, size in bars], dtype=np.int64)
    steps = np.arange(length + 1)
    which = np.clip(np.searchsorted(starts, steps, side="right") - 1, 0, len(bars) - 1)  # (length+1,)
    position = (steps - starts[which]) % sizes[which]  # before the first bar: its grid, backwards
    return np.stack([position, sizes[which]], axis=1).astype(np.uint8)


def pickup(positions: np.ndarray) -> int:
    """Steps before the first downbeat (0 when the song starts on one)."""
    position, size = int(positions[0, 0]), int(positions[0, 1])
    return (size - position) % size


def planned_positions(bar_length: int, pickup_steps: int, count: int) -> np.ndarray:
    """(count, 2) int64 (position, bar length) of a song's first `count` steps in one meter."""
    first = (bar_length - pickup_steps) % bar_length
    steps = np.arange(count)
    return np.stack([(first + steps) % bar_length, np.full(count, bar_length)], axis=1)


def check_pickup(pickup_steps: object, bar_length: int, setting: str = "pickup") -> int:
    """A pickup is 0 (a downbeat start) up to one step less than the bar (UserError otherwise)."""
    return integer(setting, pickup_steps, 0, bar_length - 1, note="(steps before the first downbeat, "
                   f"shorter than the bar of {bar_length} steps)")


def check_qpm(qpm: object) -> float:
    """The tempo written files take, checked: a number in (0, 1000] (with the meter, what a written score
    states besides its notes)."""
    return number("qpm", qpm, gt=0, le=1000)
