"""What each style's training songs hold, kept in a checkpoint for the sampler to draw from: the style
list a model reads, each style's (tune type, meter, pickup, mode, form) rows, its keys and the range its
songs keep within (its `max_span`). Read from the cache's song records and tokens.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from src.data.corpus import Corpus
from src.data.vocab import FIRST_PITCH_ID

SPAN_QUANTILE = 0.95  # a style's max_span: the range 95% of its songs keep within (essen_erk: 17, the
#                       default chosen on its validation songs before styles were known)


def style_names(songs: list[dict]) -> tuple[str, ...]:
    """The styles of `songs`, sorted (songs without one are left out)."""
    return tuple(sorted({song["style"] for song in songs if song.get("style")}))


def song_range(corpus: Corpus, song: dict) -> int:
    """Semitones from a song's lowest to its highest pitch (0 without pitches)."""
    ids = corpus.song_tokens(song)
    pitches = ids[ids >= FIRST_PITCH_ID]
    return int(pitches.max()) - int(pitches.min()) if len(pitches) else 0


def style_rows(corpus: Corpus, songs: list[dict], with_keys: bool) -> dict:
    """EncodingRecord fields `styles`, `plans`, `style_keys` and `spans` of the training `songs`."""
    labelled = [song for song in songs if song.get("style")]
    plans = Counter((s["style"], s.get("tune_type", "unknown"), s["time_signature"], s["pickup"], s["mode"],
                     s.get("form", ""), " ".join(str(b) for b in s.get("part_bars", ())))
                    for s in labelled)
    keys = Counter((s["style"], *s["key"].split()) for s in labelled) if with_keys else Counter()
    ranges: dict[str, list[int]] = {}
    for song in labelled:
        ranges.setdefault(song["style"], []).append(song_range(corpus, song))
    spans = tuple((style, int(np.ceil(np.quantile(values, SPAN_QUANTILE))), len(values))
                  for style, values in sorted(ranges.items()))
    return {"styles": style_names(labelled), "plans": tuple((*key, n) for key, n in sorted(plans.items())),
            "style_keys": tuple((*key, n) for key, n in sorted(keys.items())), "spans": spans}
