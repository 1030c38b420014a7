"""`key=auto`: each melody's key drawn as the model's training songs had them.

A model trained with `data.normalize_key` writes in C major / A minor; its checkpoint records how many
training songs were written in each key (`encoding.keys`: tonic name, mode, songs). Each melody's key is
drawn from the songs of its mode (its meter's, drawn first), so an Irish collection's melodies come out
mostly in D and G, and Essen's in its own spread of keys.
"""

from __future__ import annotations

import numpy as np

from src.data.abc_keys import AbcKey
from src.data.keys import KEY_NAMES, MINOR_MODES, shift_to_reference
from src.errors import UserError

STREAM = 2  # the key draw's numpy stream beside rng_seed (the meters use rng_seed alone, octaves 1)


def draw_keys(rows: tuple, modes: list[str], rng_seed: int, styles: list[str] | None = None,
              style_rows: tuple = ()) -> list[AbcKey]:
    """One key per melody of `modes`, from the training songs' (tonic name, mode, songs) `rows`; with
    each melody's style and the (style, tonic name, mode, songs) `style_rows`, from its style's songs."""
    if not rows:
        raise UserError("key=auto needs a checkpoint that records its training songs' keys (trained since "
                        "encoding.keys was added); accepted: a key such as key=D or key=Em")
    rng = np.random.default_rng([rng_seed, STREAM])
    keys = []
    for index, mode in enumerate(modes):
        own = [row[1:] for row in style_rows if styles and row[0] == styles[index]] or rows
        matching = [row for row in own if row[1] == mode] or list(own)
        weights = np.array([row[2] for row in matching], dtype=np.float64)
        name, song_mode, _ = matching[rng.choice(len(matching), p=weights / weights.sum())]
        keys.append(AbcKey(KEY_NAMES.index(name), song_mode))
    return keys


def shift_of(key: AbcKey) -> int:
    """Semitones from a key to the model's C major / A minor."""
    return shift_to_reference(key.tonic, "minor" if key.mode in MINOR_MODES else "major")
