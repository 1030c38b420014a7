"""What each style's training songs hold, kept in a checkpoint for the sampler to draw from: the style list
a model reads, each style's (tune type, meter, pickup, mode, form) rows, its keys, the range its songs
keep within (its `max_span`) and how many of its songs span each number of semitones. Read from the
cache's song records and tokens.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from src.data.corpus import Corpus

SPAN_QUANTILE = 0.95  # a style's max_span: the range 95% of its songs keep within (essen_erk: 17, the
#                       default chosen on its validation songs before styles were known)


def style_names(songs: list[dict]) -> tuple[str, ...]:
    """The styles of `songs`, sorted (songs without one are left out)."""
    return tuple(sorted({song["style"] for song in songs if song.get("style")}))


def style_rows(corpus: Corpus, songs: list[dict], with_keys: bool) -> dict:
    """EncodingRecord fields `styles`, `plans`, `style_keys`, `spans` and `ranges` of the training `songs`."""
    labelled = [song for song in songs if song.get("style")]
    plans = Counter((s["style"], s.get("tune_type", "unknown"), s["time_signature"], s["pickup"], s["mode"],
                     s.get("form", ""), " ".join(str(b) for b in s.get("part_bars", ())))
                    for s in labelled)
    keys = Counter((s["style"], *s["key"].split()) for s in labelled) if with_keys else Counter()
    ranges: dict[str, list[int]] = {}
    for song in labelled:
        ranges.setdefault(song["style"], []).append(corpus.song_range(song))
    spans = tuple((style, int(np.ceil(np.quantile(values, SPAN_QUANTILE))), len(values))
                  for style, values in sorted(ranges.items()))
    counted = Counter((style, value) for style, values in ranges.items() for value in values)
    return {"styles": style_names(labelled), "plans": tuple((*key, n) for key, n in sorted(plans.items())),
            "style_keys": tuple((*key, n) for key, n in sorted(keys.items())), "spans": spans,
            "ranges": tuple((*key, n) for key, n in sorted(counted.items()))}
