"""How far each planned melody may range, and what a net that reads a song's span is told.

A model trained with styles records how many of each style's training songs span each number of
semitones, lowest to highest pitch (`encoding.ranges`), and the span 95% of them keep within
(`encoding.spans`). With `max_span=auto` a net that reads the span (`model.net.span`, src/data/plans.py)
is told a span drawn for each melody from its style's songs, and the melody keeps within it and
SPAN_SLACK semitones more (never past its style's 95% span), so the melodies range as the style's songs
do, narrow and wide; a net that does not is held within its style's 95% span. `max_span=N` holds every
melody within N semitones (a net that reads the span is told the drawn span or N, the smaller);
`max_span=0` holds none (the drawn span is still told). A seed continued is told no span (one training
song in 8 reads it unknown): its own notes set the range.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from src.models.generation.forms import Plan
from src.models.generation.meters import AUTO
from src.models.generation.request import DEFAULT_SPAN

STREAM = 3  # the span draw's numpy stream beside rng_seed (meters: rng_seed alone, octaves 1, keys 2)
# semitones a melody may range past the span it is told: held to the span itself, the net's melodies fall
# 1.3-2.1 short of the songs' mean range (it does not always reach it); held only by the style's 95% span,
# essen_han's run 1.4 wide. Of 0, 2, 3, 4 and no slack, 4 brings every style's mean range closest to
# its training songs' (within 0.73; validation, docs/benchmarks.md "One model for every folk collection")
SPAN_SLACK = 4


def draw_spans(rows: tuple, styles: list[str], rng_seed: int) -> list[int | None]:
    """One span per melody of `styles`, drawn from its style's (style, semitones, songs) `rows`; None for
    a style without rows."""
    rng = np.random.default_rng([rng_seed, STREAM])
    spans: list[int | None] = []
    for style in styles:
        own = [row for row in rows if row[0] == style]
        if not own:
            spans.append(None)
            continue
        weights = np.array([row[2] for row in own], dtype=np.float64)
        spans.append(int(own[rng.choice(len(own), p=weights / weights.sum())][1]))
    return spans


def told_spans(plans: list[Plan], encoding, reads_span: bool, max_span: int | str,
               rng_seed: int) -> list[Plan]:
    """`plans` with the span each melody is told: drawn from its style's songs by a net that reads it
    (at most `max_span` where that is a number), else unknown."""
    if not reads_span or not encoding.ranges:
        return plans
    drawn = draw_spans(encoding.ranges, [plan.style for plan in plans], rng_seed)
    if max_span != AUTO and max_span:
        drawn = [span if span is None else min(span, int(max_span)) for span in drawn]
    return [replace(plan, span=span) for plan, span in zip(plans, drawn, strict=True)]


def span_limits(plans: list[Plan], encoding, max_span: int | str) -> list[int] | None:
    """With `max_span=auto`, the semitones each planned melody keeps within: its style's 95% span (a model
    trained with styles), or its told span and SPAN_SLACK more where that is less; None: `max_span`
    holds all alike."""
    style_span = {style: span for style, span, _ in encoding.spans}
    if max_span != AUTO or not style_span:
        return None
    widest = [style_span.get(plan.style, DEFAULT_SPAN) for plan in plans]
    return [most if plan.span is None else min(plan.span + SPAN_SLACK, most)
            for plan, most in zip(plans, widest, strict=True)]
