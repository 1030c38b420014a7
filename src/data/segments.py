"""Fixed-length segments inside songs, for models that reconstruct a whole segment (the VAE)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from src.data.augment import transpose
from src.data.vocab import BOUNDARY_ID, REST_ID


def segment_starts(tokens: np.ndarray, length: int, stride: int) -> np.ndarray:
    """Start positions of the `length`-symbol segments of a `split_array` layout.

    Every `stride` steps from each song's first symbol, the segment starts at the first note or rest
    onset at or after that point (never at `_`), if the whole segment fits inside the song (no `/`).
    Two grid points that reach the same onset (a note held past the next one) give one segment.
    Returns (S,) int64 positions into `tokens`, ascending.
    """
    n = len(tokens)
    boundary = tokens == BOUNDARY_ID  # (N,)
    index = np.arange(n)
    # each position's song start: the last position whose predecessor is '/'
    opens = ~boundary & np.concatenate([[True], boundary[:-1]])
    song_start = np.maximum.accumulate(np.where(opens, index, 0))  # (N,)
    grid = index[~boundary & ((index - song_start) % stride == 0)]
    # the first onset at or after each position (n when none): a reversed running minimum
    onset = tokens >= REST_ID
    next_onset = np.minimum.accumulate(np.where(onset, index, n)[::-1])[::-1]
    starts = np.unique(next_onset[grid])
    starts = starts[starts + length <= n]
    # no '/' in [start, start + length): a running count of boundaries, equal at both ends
    seen = np.concatenate([[0], np.cumsum(boundary)])  # (N+1,)
    return starts[seen[starts + length] == seen[starts]].astype(np.int64)


class SegmentDataset(Dataset):
    """(segment, segment) pairs; segments are views over one uint8 split array.

    As WindowDataset, `__getitems__` gathers a whole batch with one vectorized index.
    """

    def __init__(self, tokens: np.ndarray, length: int = 64, stride: int = 16, vocab_size: int = 40,
                 augment: tuple[int, int] | None = None) -> None:
        if len(tokens) < length:  # no segment fits (an empty split): room for an empty view
            tokens = np.concatenate([tokens, np.full(length - len(tokens), BOUNDARY_ID, np.uint8)])
        self.tokens = torch.from_numpy(tokens)  # (N,) uint8
        self.starts = torch.from_numpy(segment_starts(tokens, length, stride))  # (S,) int64
        self.segments = self.tokens.unfold(0, length, 1)  # (N-T+1, T) view, no copy
        self.length, self.vocab_size, self.augment = length, vocab_size, augment

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[tuple[Tensor, Tensor]]:
        return [self.batch(torch.as_tensor(indices, dtype=torch.long))]

    def batch(self, indices: Tensor) -> tuple[Tensor, Tensor]:
        """Segments (B, T) uint8 as input and (B, T) int64 as the reconstruction target."""
        x = self.segments[self.starts[indices]]  # (B, T) gather
        if self.augment is not None:
            # `transpose` shifts (window, next symbol) pairs: hand it the segment split that way
            head, last = transpose(x[:, :-1], x[:, -1], self.augment, self.vocab_size)
            x = torch.cat([head, last[:, None]], dim=1)  # (B, T)
        return x, x.long()
