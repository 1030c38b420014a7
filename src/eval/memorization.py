"""Verbatim overlap with the training songs: which k-step windows of a melody occur in one of them, and
the longest phrase a melody shares with any of them.

Phrases are looked up by 64-bit polynomial hashes of their token ids, computed for every start at once
from prefix sums (uint64 arithmetic wraps, i.e. works modulo 2**64); every match is then checked symbol
by symbol, so a reported match is exact. A phrase never spans two training songs.
"""

from __future__ import annotations

import math

import numpy as np

from src.data.vocab import BOUNDARY_ID

_BASE = 0x100000001B3  # odd, so invertible modulo 2**64
_INVERSE = pow(_BASE, -1, 1 << 64)


def _powers(base: int, n: int) -> np.ndarray:
    """(n + 1,) uint64: base**0 .. base**n modulo 2**64."""
    out = np.ones(n + 1, dtype=np.uint64)
    out[1:] = np.cumprod(np.full(n, base, dtype=np.uint64))
    return out


class PhraseHasher:
    """Hashes of every k-window of one uint8 token array, for any k, in O(len) each."""

    def __init__(self, tokens: np.ndarray) -> None:
        self.tokens = np.ascontiguousarray(tokens, dtype=np.uint8)
        n = len(self.tokens)
        self._up = _powers(_BASE, n)
        # prefix[i] = sum_{j < i} (t_j + 1) * base**-(j + 1); a window's sum scaled by base**end is its
        # hash sum_j (t_j + 1) * base**(end - 1 - j), the same wherever the window starts
        self._prefix = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum((self.tokens.astype(np.uint64) + 1) * _powers(_INVERSE, n)[1:], out=self._prefix[1:])

    def windows(self, k: int) -> np.ndarray:
        """(n - k + 1,) uint64 hashes of tokens[i:i + k] (empty when k > n)."""
        n = len(self.tokens)
        if k > n:
            return np.empty(0, dtype=np.uint64)
        return (self._prefix[k:] - self._prefix[:n - k + 1]) * self._up[k:]


class TrainingPhrases:
    """Every phrase inside the training songs, looked up by length."""

    def __init__(self, songs: list[np.ndarray]) -> None:
        pieces = []
        for song in songs:
            pieces += [np.asarray(song, dtype=np.uint8), np.array([BOUNDARY_ID], dtype=np.uint8)]
        self.tokens = np.concatenate(pieces) if pieces else np.array([BOUNDARY_ID], dtype=np.uint8)
        self.song_of = np.cumsum(self.tokens == BOUNDARY_ID) - (self.tokens == BOUNDARY_ID)  # (N,) song index
        self._boundaries = np.concatenate([[0], np.cumsum(self.tokens == BOUNDARY_ID)])  # (N + 1,)
        self._hasher = PhraseHasher(self.tokens)
        self._table: tuple[int, np.ndarray, np.ndarray] | None = None  # (k, sorted hashes, starts)

    def table(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Sorted hashes of the k-windows inside training songs, and their start positions."""
        if self._table is None or self._table[0] != k:
            hashes = self._hasher.windows(k)
            inside = self._boundaries[k:] == self._boundaries[:len(hashes)]  # no '/' in the window
            starts = np.flatnonzero(inside)
            order = np.argsort(hashes[starts], kind="stable")
            self._table = (k, hashes[starts][order], starts[order])
        return self._table[1], self._table[2]

    def match(self, melody: np.ndarray, k: int) -> np.ndarray:
        """(len - k + 1,) per k-window of `melody`: the training position it occurs at, or -1."""
        melody = np.ascontiguousarray(melody, dtype=np.uint8)
        queries = PhraseHasher(melody).windows(k)
        found = np.full(len(queries), -1, dtype=np.int64)
        if not len(queries):
            return found
        hashes, starts = self.table(k)
        index = np.searchsorted(hashes, queries)
        hit = index < len(hashes)
        hit[hit] = hashes[index[hit]] == queries[hit]
        if hit.any():  # check the candidates symbol by symbol
            where = np.flatnonzero(hit)
            candidates = starts[index[where]]
            ours = np.lib.stride_tricks.sliding_window_view(melody, k)[where]  # (h, k)
            theirs = self.tokens[candidates[:, None] + np.arange(k)]  # (h, k)
            exact = (ours == theirs).all(axis=1)
            found[where[exact]] = candidates[exact]
        return found

    def longest(self, melodies: list[np.ndarray]) -> list[tuple[int, int, int]]:
        """Per melody: (length of its longest phrase found in a training song, its start in the melody,
        the training song's index), (0, -1, -1) when not even one symbol is found.

        Galloping then binary search on the length (a shared phrase's prefix is shared too); all
        melodies probe in lockstep, so each length's table is built once per round.
        """
        low = [0] * len(melodies)  # longest length known to be shared
        high = [len(m) for m in melodies]  # longest length that may be shared
        best = [(0, -1, -1)] * len(melodies)
        galloping = [True] * len(melodies)
        while any(lo < hi for lo, hi in zip(low, high, strict=True)):
            probes: dict[int, list[int]] = {}
            for i, (lo, hi) in enumerate(zip(low, high, strict=True)):
                if lo < hi:
                    k = min(max(1, 2 * lo), hi) if galloping[i] else (lo + hi + 1) // 2
                    probes.setdefault(k, []).append(i)
            for k in sorted(probes):
                for i in probes[k]:
                    found = self.match(melodies[i], k)
                    hits = np.flatnonzero(found >= 0)
                    if len(hits):
                        low[i] = k
                        best[i] = (k, int(hits[0]), int(self.song_of[found[hits[0]]]))
                    else:
                        high[i], galloping[i] = k - 1, False
        return best


def memorization(index: TrainingPhrases, melodies: list[np.ndarray], window: int = 64) -> dict:
    """Share of the melodies' `window`-step windows found verbatim in training, and longest shared phrases."""
    windows = hits = 0
    for melody in melodies:
        found = index.match(melody, window)
        windows += len(found)
        hits += int((found >= 0).sum())
    longest = index.longest(melodies)
    lengths = np.array([length for length, _, _ in longest], dtype=np.float64)
    top = int(np.argmax(lengths)) if len(lengths) else -1
    return {
        "window": window,
        "windows": windows,
        "verbatim": hits,
        "share": hits / windows if windows else math.nan,
        "longest_mean": float(lengths.mean()) if len(lengths) else math.nan,
        "longest_max": int(lengths[top]) if top >= 0 else 0,
        "longest_max_melody": top,
        "longest_max_song": longest[top][2] if top >= 0 else -1,
        "longest": [length for length, _, _ in longest],
    }
