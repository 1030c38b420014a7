"""What the look-back reads: a memory of the inputs read so far, by place.

Each net's look-back (src/models/nets/step_inputs.py) finds, for each input, the symbol that many bars
before (or, filling a gap, after) the step it predicts, at the same place in the bar, and for the
repeating flags the one that many bars from the input's own place. It reads it from this memory
(place -> id, and the sequence index it was read at), not from a history travelling with the data, so
any input order works: left to right, or fill-in-the-middle, where the part after a gap is read before
the gap. A place not read yet, or read after the query, is "none".
"""

from __future__ import annotations

import torch
from torch import Tensor

from src.data.vocab import BOUNDARY_ID

# (ids (B, N) at each position and the sequence index each arrived at (B, N)): what bars_back reads
Memory = tuple[Tensor, Tensor] | None
UNSEEN = 2**62  # the sequence index of a position not read yet


def remember(memory: Memory, x: Tensor, positions: Tensor, seen: int) -> Memory:
    """The look-back memory with ids x (B, T) written at their positions (B, T), arriving at sequence
    indices seen..seen+T-1. When a position lies beyond it, it grows (a new tensor) to at least twice
    its size, so sampling one symbol at a time copies it O(log N) times, not N; places not written yet
    read as unseen."""
    B, T = x.shape
    size = int(positions.max()) + 1
    if memory is None:
        memory = (x.new_zeros(B, 0, dtype=torch.long), x.new_zeros(B, 0, dtype=torch.long))
    ids, arrived = memory
    if ids.shape[1] < size:  # (B, grown): new places unseen
        grown = max(size, 2 * ids.shape[1]) - ids.shape[1]
        ids = torch.cat([ids, ids.new_zeros(B, grown)], dim=1)
        arrived = torch.cat([arrived, arrived.new_full((B, grown), UNSEEN)], dim=1)
    rows = torch.arange(B, device=x.device)[:, None]
    ids[rows, positions] = x.long()
    arrived[rows, positions] = seen + torch.arange(T, device=x.device)
    return ids, arrived


def looked_back(memory: Memory, positions: Tensor, bars: Tensor, distances: tuple[int, ...], seen: int,
                none: int, ahead: int | tuple[int, ...] = 1, within_song: bool = False) -> Tensor:
    """Ids (B, T, K) of the input each distance looks back to from each query's predicted step (the
    place `distance` bars before it; with `ahead=0`, from the query's own place), where that input was
    read no later than the query; else `none`. Several `ahead` values are read in one gather, side by
    side: (B, T, len(ahead) x K). `within_song`: also `none` where a `/` was read at or between that
    place and the query's own (the recurrent nets were trained so; the Transformer reads across it)."""
    ids, arrived = memory
    B, T = positions.shape
    ahead = (ahead,) if isinstance(ahead, int) else ahead
    steps = torch.tensor(distances * len(ahead), device=positions.device)  # (A*K,): negative = bars ahead
    offsets = torch.tensor(ahead, device=positions.device).repeat_interleave(len(distances))  # (A*K,)
    source = positions[..., None] + offsets - steps * bars[..., None]  # (B, T, A*K)
    valid = (bars[..., None] > 0) & (source >= 0) & (source < ids.shape[1])
    source = source.clamp(0, ids.shape[1] - 1).reshape(B, -1)  # (B, T*K)
    when = arrived.gather(1, source).reshape(B, T, -1)
    query = seen + torch.arange(T, device=positions.device)[None, :, None]  # (1, T, 1)
    valid &= when <= query
    if within_song:  # the last `/` at or before each query's own place, against each source
        places = torch.arange(ids.shape[1], device=ids.device)  # (M,)
        opens = (ids == BOUNDARY_ID) & (arrived < UNSEEN)  # (B, M)
        last = torch.where(opens, places, -1).cummax(dim=1).values  # (B, M)
        last = last.gather(1, positions.long().clamp(0, ids.shape[1] - 1))[..., None]  # (B, T, 1)
        valid &= last < source.reshape(B, T, -1)
    return torch.where(valid, ids.gather(1, source).reshape(B, T, -1), none)


def repeating(own: Tensor, x: Tensor, none: int) -> Tensor:
    """(B, T, K) True where each input x (B, T) equals its own symbol that many bars away (`own`,
    `looked_back` with ahead=0): is the song repeating that bar right now?"""
    return (own == x.long()[..., None]) & (own != none)
