"""The meter, pickup and mode each generated melody is written in, fixed by the request or drawn.

`time_signature=auto`, `pickup=auto` and no `key` draw all three together from the training songs'
own counts (stored in the checkpoint: `encoding.meters`), so a 6/8 tune gets a 6/8 pickup; fixing one
draws the others from the songs that match it. A meter no training song had is allowed, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from src.checks import check, is_integer
from src.data.meter import bar_steps, check_pickup
from src.data.plans import context_rows
from src.errors import UserError

AUTO = "auto"


@dataclass(frozen=True)
class Meter:
    """One melody's meter: its time signature, pickup (steps before the first downbeat), mode."""

    time_signature: str = "4/4"
    pickup: int = 0
    mode: str = "major"
    bar_length: int = 16  # steps per bar

    def as_record(self) -> dict:
        """As a melody's JSON holds it (`key_mode`: `mode` there is the generation mode)."""
        return {"time_signature": self.time_signature, "pickup": self.pickup, "key_mode": self.mode}


def draw_meters(rows: tuple, step: float, count: int, time_signature: str, pickup: int | str,
                mode: str | None, rng_seed: int, max_bar: int | None = None) -> tuple[list[Meter], list[str]]:
    """`count` meters (and notes on how they were chosen) from the training songs' (time signature,
    pickup, mode, songs) `rows`, those the request fixes (`auto`/None: drawn) held."""
    notes: list[str] = []
    fixed = {0: None if time_signature == AUTO else time_signature, 1: None if pickup == AUTO else pickup,
             2: mode}
    if fixed[0] is not None and max_bar is not None and bar_steps(fixed[0], step) > max_bar:
        raise UserError(f"time_signature={fixed[0]} has bars of {bar_steps(fixed[0], step)} steps, "
                        f"longer than this model's position table; accepted: meters of at most {max_bar} "
                        "steps a bar")
    # `auto` draws only meters the model can place (all of Essen has 4/1 songs: 64 steps a bar)
    rows = tuple(row for row in rows if fits_table(row[0], step, max_bar))
    matching = [row for row in rows if all(v is None or row[i] == v for i, v in fixed.items())]
    if not matching:
        if fixed[0] is not None and rows and not any(row[0] == fixed[0] for row in rows):
            notes.append(f"note: no training song is in {fixed[0]}; the model has not seen its bars")
        # nothing matches all of it: keep what is fixed, draw the rest from the songs matching the mode
        matching = [row for row in rows if mode is None or row[2] == mode] or list(rows)
        if not matching:  # an older checkpoint: no counts at all
            matching = [("4/4", 0, mode or "major", 1)]
        matching = [(fixed[0] or row[0], 0 if fixed[0] and fixed[1] is None else row[1],
                     mode or row[2], row[3]) for row in matching]
        if fixed[1] is not None:
            matching = [(row[0], fixed[1], row[2], row[3]) for row in matching]
    weights = np.array([row[3] for row in matching], dtype=np.float64)
    picks = np.random.default_rng(rng_seed).choice(len(matching), size=count, p=weights / weights.sum())
    meters = []
    for index in picks:
        signature, pickup_steps, song_mode = matching[index][:3]
        bar = bar_steps(signature, step)
        meters.append(Meter(signature, check_pickup(pickup_steps, bar), song_mode, bar))
    return meters, notes


def fixed_meters(meters: tuple[Meter, ...], count: int) -> list[Meter]:
    """Meters given one per melody (the evaluation's seeded set: each test song's own), checked. A song's
    bar longer than the model's position table is kept: the net reads it as an unknown meter, as in
    training."""
    if len(meters) != count:
        raise UserError(f"meters: {len(meters)} given for {count} melodies; accepted: one per melody")
    for meter in meters:
        check_pickup(meter.pickup, meter.bar_length)
    return list(meters)


def fits_table(time_signature: str, step: float, max_bar: int | None) -> bool:
    """Whether a training song's meter is a whole number of steps a bar that the position table holds."""
    try:
        return max_bar is None or bar_steps(time_signature, step) <= max_bar
    except UserError:
        return False


def check_meter_settings(time_signature: object, pickup: object) -> tuple[str, int | str]:
    """The request's `time_signature` (`auto` or N/D) and `pickup` (`auto` or steps >= 0), checked."""
    signature = str(time_signature).strip()
    if signature != AUTO:
        bar_steps(signature, 1 / 64)  # the form; whether it fits the model's grid is checked on drawing
    check("pickup", pickup, pickup == AUTO or is_integer(pickup) and pickup >= 0,
          "auto, or an integer >= 0 (steps before the first downbeat, shorter than the bar)")
    return signature, pickup


def context_of(meters: list[Meter], device: torch.device, labels: list[tuple[int, int]] | None = None,
               forms: list[tuple[str, tuple[int, ...]]] | None = None, chunk: int = 256,
               spans: list[int | None] | None = None):
    """(start, count) -> the context (B, count, WIDTH) int64 of each melody's inputs start..start+count-1
    (input i predicts step i): its bar position, bar length and mode, and with `labels` its (style, tune
    type) ids, with `forms` its (form, part bars) plan and with `spans` its span in semitones (None:
    unknown), as src/data/sequences.py reads them from a song
    (src/data/plans.py; unknown where not given). Made `chunk` steps at a time as the loop reaches them:
    a sampled step reads a slice."""
    labels = labels or [(0, 0)] * len(meters)
    forms = forms or [("", ())] * len(meters)
    spans = spans or [None] * len(meters)
    chunks: dict[int, Tensor] = {}

    def rows(index: int) -> Tensor:  # (B, chunk, WIDTH) of steps index * chunk ...
        if index not in chunks:
            steps = np.arange(index * chunk, (index + 1) * chunk)
            table = []
            for meter, label, (form, part_bars), span in zip(meters, labels, forms, spans, strict=True):
                bar, pickup = meter.bar_length, meter.pickup
                positions = np.stack([(steps - pickup) % bar, np.full_like(steps, bar)], axis=1)
                bars = np.where(steps < pickup, 0, (steps - pickup) // bar + 1)  # 0: the pickup
                table.append(context_rows(positions, bars, meter.mode, label, form, part_bars, span))
            chunks[index] = torch.from_numpy(np.stack(table)).long().to(device)
        return chunks[index]

    def context(start: int, count: int) -> Tensor:
        first, last = start // chunk, (start + count - 1) // chunk
        offset = start - first * chunk
        if first == last:  # a sampled step: a view, no copy
            return rows(first)[:, offset:offset + count]
        return torch.cat([rows(k) for k in range(first, last + 1)], dim=1)[:, offset:offset + count]
    return context
