"""What knowing each song's length costs: the bits to send it, for a net that reads the bars left.

A `bars_to_end` net (src/models/transformer.py) is told, at every step, how many bars remain to its song's
last bar, so its held-out bits are conditional on each test song's length, information a plain net has to
pay for. To compare the two honestly, the length is coded with the training songs' own counts: a song of
`b` bars in time signature `ts` costs -log2 p(b | ts), with

    p(b | ts) = (count(ts, b) + q(b)) / (songs(ts) + 1),   q(b) = (count(b) + 1) / (songs + MAX_CODED_BARS)

(the songs in its time signature, backed off to all songs' lengths, add-one smoothed over 1..MAX_CODED_BARS
bars so that no length is impossible), spread over the test targets. Bits plus this code are a total a
plain net's bits compare with.
"""

from __future__ import annotations

import math
from collections import Counter

MAX_CODED_BARS = 256  # lengths 1..this bars have a code; a longer song still gets one (count 0 + q)


def length_bits(rows: tuple, time_signature: str, bars: int) -> float:
    """-log2 p(bars | time_signature) under the training songs' (time signature, bars, songs) rows."""
    by_length, in_signature = Counter(), Counter()
    for signature, length, songs in rows:
        by_length[int(length)] += songs
        if signature == time_signature:
            in_signature[int(length)] += songs
    backoff = (by_length[bars] + 1) / (sum(by_length.values()) + max(MAX_CODED_BARS, bars))
    return -math.log2((in_signature[bars] + backoff) / (sum(in_signature.values()) + 1))


def length_code(rows: tuple, songs: list[tuple[str, int]], targets: int) -> dict:
    """The code of the test songs' (time signature, bars) over `targets` scored steps: bits a song, a step."""
    total = sum(length_bits(rows, signature, bars) for signature, bars in songs)
    return {"songs": len(songs), "bits_per_song": total / len(songs) if songs else math.nan,
            "bits_per_step": total / targets if targets else math.nan}
