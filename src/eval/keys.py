"""The key a melody is scored in: a held-out song's own (from songs.json), a generated melody's estimated."""

from __future__ import annotations

import functools

import numpy as np

from src.data import encoding
from src.data.keys import KEY_NAMES, estimate_key
from src.data.vocab import symbols_to_events

REFERENCE_KEYS = ((0, "major"), (9, "minor"))  # C major, A minor: the keys of key-normalized songs


def song_key(record: dict) -> tuple[int, str]:
    """(tonic pitch class, mode) of a songs.json record, after its transposition."""
    name, mode = record["key"].split()
    return (KEY_NAMES.index(name) + int(record["transposition"])) % 12, mode


def melody_key(symbols: list[str], normalize_key: bool = True) -> tuple[int, str]:
    """(tonic pitch class, mode) estimated with the key profiles the corpus uses; a key-normalized
    model writes in C major or A minor, so only those two are considered then."""
    candidates = REFERENCE_KEYS if normalize_key else None
    return estimate_key(symbols_to_events(symbols), _profiles(), candidates)


@functools.cache
def _profiles() -> np.ndarray:
    return np.array(encoding.key_profiles(), dtype=np.float64)  # (2, 12): major, minor
