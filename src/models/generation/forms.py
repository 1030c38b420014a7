"""A melody's plan: its style, tune type, meter and form, asked for or drawn, and the form kept.

A model trained on labelled songs (experiment=transformer_folk) records, per style, the (tune type,
meter, pickup, mode, form, part bars) of its training songs (`encoding.plans`). `draw_plans` fixes what
the request asks (`style=`, `tune_type=`, `form=`, `part_bars=`, `time_signature=`, `pickup=`, the key's
mode) and draws the rest together from the songs that match, as the meter alone is drawn for other
models (src/models/generation/meters.py), so a reel comes in 4/4 or 2/2 with a reel's form.

`FormSteer` keeps the form while the sampling loop draws (src/models/generation/loop.py): no end before
the form's last bar, the end right after it, and each part that repeats an earlier one (the second A of
`AABB`) the same music as it, step for step, but for its last bar, which is drawn (a second ending).
No note is held over the bar line into a part's first or last bar: a repeat sign or an ending can stand
there (src/data/folding.py folds a part only at such clean edges).
A part is counted from its first downbeat; the notes leading into a repeat are the end of the part's
last bar, drawn with it, so the ABC writer folds the pair with a one-bar first and second ending
(src/data/folding.py).

Forcing the end where the form puts it is not the same as drawing a melody that ends there: the net may
not find that note a place to end. With `Sampling.endings` > 1 the loop draws each melody's last
`ENDING_BARS` bars that many ways from where they are first drawn (`forking`: where they begin, or, where
the last part repeats an earlier one, in the earlier part, whose bars the repeat copies) and keeps the
one where the net gives `/` the highest probability at the planned end (`ending`;
src/models/generation/loop.py, `PlannedRows`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from src.checks import refuse
from src.data.meter import bar_steps, check_pickup
from src.data.plans import label_ids
from src.data.vocab import HOLD_ID
from src.errors import UserError
from src.models.generation.meters import AUTO, Meter, context_of, fits_table

MAX_FORM_PARTS = 8
DEFAULT_PART_BARS = 8  # a part's bars when the form asked for is not among the style's songs
ENDING_BARS = 2  # the last bars drawn again with `endings` > 1 (docs/benchmarks.md, "Endings")


@dataclass(frozen=True)
class Plan:
    """One melody's plan: labels (empty: unknown), meter, form (parts' letters and bars) and span."""

    style: str
    tune_type: str
    meter: Meter
    form: str = ""
    part_bars: tuple[int, ...] = ()
    span: int | None = None  # semitones a net reading the span is told (spans.py); None: unknown

    @property
    def length(self) -> int:
        """Steps of a melody with this form: whole bars, the pickup taken from the last one."""
        return sum(self.part_bars) * self.meter.bar_length

    @property
    def part_starts(self) -> tuple[int, ...]:
        """The step at which each part's first full bar begins (a part is counted from its downbeat)."""
        starts, first = [], self.meter.pickup
        for bars in self.part_bars:
            starts.append(first)
            first += bars * self.meter.bar_length
        return tuple(starts)

    @property
    def pairs(self) -> tuple[int, ...]:
        """The parts played again right after themselves (the first A and B of `AABB`): the repeats the
        ABC writes between `|:` and `:|`."""
        form, bars = self.form, self.part_bars
        return tuple(k for k in range(len(form) - 1) if form[k + 1] == form[k] and bars[k + 1] == bars[k]
                     and (k == 0 or form[k - 1] != form[k]))

    def as_record(self) -> dict:
        """As a melody's JSON holds it."""
        told = {} if self.span is None else {"span": self.span}
        return {"style": self.style, "tune_type": self.tune_type, "form": self.form,
                "part_bars": list(self.part_bars), **told}


def check_form(form: object, part_bars: object) -> tuple[str, tuple[int, ...] | str]:
    """`form=` (auto, or parts as letters: AABB, AB, AABBCC) and `part_bars=` (auto, one count for every
    part, or one per part: "8 8 4 4"), checked."""
    form = str(form).strip()
    if form != AUTO:
        if not re.fullmatch(f"[A-Z]{{1,{MAX_FORM_PARTS}}}", form):
            refuse("form", form, f"auto, or the parts in order as capital letters (at most "
                   f"{MAX_FORM_PARTS}), a part played again named by its letter: AABB, AB, AABBCC")
        seen = ""
        for letter in form:
            if letter not in seen:
                if letter != chr(ord("A") + len(seen)):
                    refuse("form", form, "letters in order of first appearance: A first, then B, ... "
                           "(AABB, ABAC)")
                seen += letter
    text = str(part_bars).strip()
    if text == AUTO:
        return form, AUTO
    counts = text.replace(",", " ").split()
    if not counts or not all(c.isdigit() and 1 <= int(c) <= 32 for c in counts):
        refuse("part_bars", part_bars, "auto, or bars per part 1..32: one for every part (8) or one per "
               "part (\"8 8 4 4\")")
    if form == AUTO:
        raise UserError("part_bars= needs form= (such as form=AABB part_bars=8): the parts it counts")
    bars = tuple(int(c) for c in counts)
    if len(bars) == 1:
        bars *= len(form)
    if len(bars) != len(form):
        refuse("part_bars", part_bars, f"one count, or one per part of form={form} ({len(form)})")
    if not well_formed(form, bars):
        refuse("part_bars", part_bars, "a part played again as many bars as the first time (AABB: "
               "\"8 8 4 4\")")
    return form, bars


def well_formed(form: str, bars: tuple[int, ...]) -> bool:
    """Whether a form can be played as planned: a count of at least 1 bar per part, and each part played
    again as long as its first time (a repeat is the same music)."""
    first: dict[str, int] = {}
    return (len(form) == len(bars) and all(b >= 1 for b in bars)
            and all(first.setdefault(letter, b) == b for letter, b in zip(form, bars, strict=True)))


def draw_plans(rows: tuple, step: float, count: int, asked: dict, rng_seed: int,
               max_bar: int | None, longer_than: int = 0) -> tuple[list[Plan], list[str]]:
    """`count` plans from the training songs' (style, tune type, time signature, pickup, mode, form,
    part bars, songs) `rows`, each value the request `asked` (None: drawn) held; notes on what no song
    had. Where no song matches every asked value, the last asked values (form, then tune type, pickup,
    meter) stop choosing the songs drawn from, but are still kept."""
    notes: list[str] = []
    names = ("style", "tune_type", "time_signature", "pickup", "mode", "form", "part_bars")
    rows = [(*row[:6], tuple(int(b) for b in str(row[6]).split()), row[7]) for row in rows]  # bars read once
    # only meters the position table holds, and forms a melody can have as planned (the songs' forms as
    # read include parts played again shorter or longer, and songs without bars)
    rows = [row for row in rows if fits_table(row[2], step, max_bar) and well_formed(row[5], row[6])]
    if longer_than:
        rows = [row for row in rows if sum(row[6]) * bar_steps(row[2], step) > longer_than] or rows
    fixed = {i: asked.get(name) for i, name in enumerate(names) if asked.get(name) is not None}
    if 0 in fixed and fixed[0] not in {row[0] for row in rows}:
        styles = sorted({row[0] for row in rows})
        refuse("style", fixed[0], f"auto or one of this model's styles: {', '.join(styles)}")
    matching, relaxed = rows, []
    for drop in (None, 6, 5, 1, 3, 2):  # give up the least defining asked value first
        if drop is not None and drop in fixed:
            relaxed.append(names[drop])
        keep = {i: v for i, v in fixed.items() if names[i] not in relaxed}
        matching = [row for row in rows if all(row[i] == v for i, v in keep.items())]
        if matching:
            break
    if relaxed and matching:
        notes.append(f"note: no training song has all of {', '.join(relaxed)} as asked; the rest is drawn "
                     "from the songs that match the others")
    if not matching:
        raise UserError("no training song matches style/mode as asked; accepted: style=auto or another mode")
    weights = np.array([row[7] for row in matching], dtype=np.float64)
    picks = np.random.default_rng(rng_seed).choice(len(matching), size=count, p=weights / weights.sum())
    plans = []
    for index in picks:
        row = list(matching[index][:7])
        for i, value in fixed.items():
            row[i] = value
        style, tune_type, signature, pickup, mode, form, bars = row
        if 5 in fixed and (6 not in fixed) and len(bars) != len(form):  # a form no matching song had
            bars = (DEFAULT_PART_BARS,) * len(form)
        bar = bar_steps(signature, step)
        plans.append(Plan(style, tune_type, Meter(signature, check_pickup(pickup, bar), mode, bar), form,
                          tuple(bars)))
    return plans, notes


class FormSteer:
    """Keeps each melody's form while the loop draws: `mask(step, logits)` before each draw (step k: the
    k-th drawn symbol), `record(step, drawn)` after it. Melodies without a form are left free."""

    def __init__(self, plans: list[Plan | None], seeds: list[list[int]], steps: int, stop_id: int,
                 device: torch.device) -> None:
        self.stop_id, self.seed_length = stop_id, len(seeds[0]) if seeds else 0
        B, width = len(plans), self.seed_length + steps + 1
        self.melody = torch.full((B, width), -1, dtype=torch.long, device=device)  # (B, W): symbols so far
        for row, seed in enumerate(seeds):
            self.melody[row, :len(seed)] = torch.tensor(seed, dtype=torch.long)
        self.end = torch.full((B,), -1, dtype=torch.long, device=device)  # (B,): steps of each form; -1 free
        self.source = torch.full((B, width), -1, dtype=torch.long, device=device)  # step copied, or -1
        self.clean = torch.zeros((B, width), dtype=torch.bool, device=device)  # no hold drawn there
        self.fork = torch.full((B,), -1, dtype=torch.long, device=device)  # (B,): where the last bars fork
        for row, plan in enumerate(plans):
            if plan is None or not plan.form:
                continue
            self.end[row] = plan.length
            source, edges = copy_sources(plan), part_edges(plan)
            held_over(source, edges, seeds[row] if seeds else [])
            self.source[row, :min(len(source), width)] = torch.from_numpy(source[:width])
            self.clean[row, [e for e in edges if e < width]] = True
            # the last bars' steps, each where it is first drawn: a repeat's copied bar in the part it
            # copies (AABB: the first B's second-to-last bar), so the ways differ where the ending is made
            last = np.arange(max(edges[-1] - (ENDING_BARS - 1) * plan.meter.bar_length, 0), plan.length)
            drawn_at = np.where(source[last] >= 0, source[last], last)
            self.fork[row] = max(int(drawn_at.min()), self.seed_length)
        # the drawn steps where some melody's last bars fork or its form ends, known on the host: the
        # loop looks at the rows only there (no device sync on every other step)
        self.fork_steps = {int(f) - self.seed_length for f in self.fork.tolist() if f >= 0}
        self.end_steps = {int(e) - self.seed_length for e in self.end.tolist() if e >= 0}

    def forking(self, step: int) -> Tensor | None:
        """(B,) True for the melodies whose last `ENDING_BARS` bars fork at drawn symbol `step` (from there
        the sampling loop may draw each several ways: `Sampling.endings`); None where none does."""
        return self.fork == self.seed_length + step if step in self.fork_steps else None

    def ending(self, step: int) -> Tensor | None:
        """(B,) True for the melodies whose planned end is drawn symbol `step`; None where none ends."""
        return self.end == self.seed_length + step if step in self.end_steps else None

    def take_rows(self, index: Tensor) -> None:
        """Keep rows `index` (b',), repeats allowed (a melody drawn on several ways from here)."""
        self.melody, self.end, self.source = self.melody[index], self.end[index], self.source[index]
        self.clean, self.fork = self.clean[index], self.fork[index]

    def mask(self, step: int, logits: Tensor) -> Tensor:
        """Logits (B, V) for drawn symbol `step`: only the stop at a form's end, no stop before it, and a
        repeated part's symbol where it copies one."""
        at = self.seed_length + step  # the melody's step being drawn
        planned = self.end >= 0
        out = logits.clone()
        out[planned & (at < self.end), self.stop_id] = -float("inf")
        if at < self.clean.shape[1]:
            out[self.clean[:, at], HOLD_ID] = -float("inf")
        ended = planned & (at >= self.end)
        source = self.source[:, at] if at < self.source.shape[1] else torch.full_like(self.end, -1)
        copied = torch.where(source >= 0, self.melody.gather(1, source.clamp(min=0)[:, None])[:, 0], -1)
        forced = torch.where(ended, self.stop_id, copied)  # (B,): -1 where free
        only = torch.full_like(out, -float("inf")).scatter(1, forced.clamp(min=0)[:, None], 0.0)
        return torch.where((forced >= 0)[:, None], out + only, out)

    def record(self, step: int, drawn: Tensor) -> None:
        """The symbols (B,) drawn at `step`."""
        at = self.seed_length + step
        if at < self.melody.shape[1]:
            self.melody[:, at] = drawn


def plan_context_of(plans: list[Plan], styles: tuple[str, ...], device: torch.device):
    """(start, count) -> the context (B, count, WIDTH) of each planned melody's inputs: its meter, its
    labels' ids against the model's `styles`, its form plan and its span (`meters.context_of`)."""
    return context_of([plan.meter for plan in plans], device,
                      [label_ids(plan.style, plan.tune_type, styles) for plan in plans],
                      [(plan.form, plan.part_bars) for plan in plans], spans=[plan.span for plan in plans])


def part_edges(plan: Plan) -> list[int]:
    """The steps where a part's first bar and its last bar begin (where repeat signs and endings go)."""
    bar = plan.meter.bar_length
    edges = [edge for first, bars in zip(plan.part_starts, plan.part_bars, strict=True)
             for edge in (first, first + (bars - 1) * bar)]
    return [edge for edge in edges if edge < plan.length]


def held_over(source: np.ndarray, edges: list[int], seed: list[int]) -> None:
    """Where a repeat's first step would copy a hold of the seed (a seed held over the part's first
    downbeat), copy the note held there instead: the repeat's edge stays clean, the note struck again."""
    for edge in edges:
        if 0 <= source[edge] < len(seed) and seed[source[edge]] == HOLD_ID:
            onsets = [k for k in range(source[edge]) if seed[k] != HOLD_ID]
            source[edge] = onsets[-1] if onsets else -1


def copy_sources(plan: Plan) -> np.ndarray:
    """(length,) int64: for each step of a melody with `plan`'s form, the earlier step it repeats (a part
    that repeats the first part of its letter, from its first downbeat, but for its last bar), else -1."""
    bar, starts = plan.meter.bar_length, plan.part_starts
    source = np.full(plan.length, -1, np.int64)
    first: dict[str, int] = {}
    for k, letter in enumerate(plan.form):
        if letter in first:
            j = first[letter]
            shared = (min(plan.part_bars[j], plan.part_bars[k]) - 1) * bar
            source[starts[k]:starts[k] + shared] = np.arange(starts[j], starts[j] + shared)
        else:
            first[letter] = k
    return source
