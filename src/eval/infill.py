"""Infilling scored on held-out songs: bits of a gap given both of its sides against given the left only.

Each test song of at least `MIN_STEPS` steps has its middle third ([N // 3, 2N // 3)) cut out; a model
that fills gaps (src/models/generation/infill.py) scores the cut steps once in fill-in-the-middle order
(having read everything after the gap too) and once left to right, each step in its song's true context.
"""

from __future__ import annotations

import math

import torch

from src.data.corpus import Corpus
from src.data.sequences import stream_array
from src.models.generation.infill import gap_bits

MIN_STEPS = 12


def infill_report(module, corpus: Corpus, split: str = "test") -> dict:
    """Bits per gap step given both sides and given the left side, over the split's middle thirds."""
    tokens, starts, context = stream_array(corpus, split)
    ends = list(starts[1:]) + [len(tokens) - 1]  # each song's closing '/'
    both = left = 0.0
    steps = songs = 0
    for start, end in zip(starts.tolist(), ends, strict=True):
        length = end - start - 1  # the song's steps between its two '/'
        if length < MIN_STEPS:
            continue
        song = torch.from_numpy(tokens[start + 1:end].astype("int64"))
        song_context = torch.from_numpy(context[start + 1:end + 1].astype("int64"))  # inputs 0..N
        gap = (length // 3, 2 * length // 3)
        b, lft = gap_bits(module.net, song, *gap, song_context)
        both, left, steps, songs = both + b, left + lft, steps + gap[1] - gap[0], songs + 1
    return {"songs": songs, "steps": steps, "gap": "the middle third of each song",
            "bits_both_sides": both / steps if steps else math.nan,
            "bits_left_only": left / steps if steps else math.nan}
