"""A song's register so far, and a learned cost for widening it (the Transformer's `register=true`).

Folk songs keep to a compass: no essen_erk validation or test song spans more than 20 semitones. A net
trained for ten minutes does not hold on to how low its melody opened when it later climbs (a pickup on
the dominant below, then a climax a tenth above the tonic), and 8% of its melodies span more than 20.
Each step gets the lowest and highest pitch of its song read so far, and every candidate pitch that would
widen that range from r to r' semitones gets `potential[r'] - potential[r]` added to its logit: one
learned number per range (37 in all), 0 for a pitch inside the range and for a song with no pitch yet.

The range is read from the look-back memory (src/models/nets/bar_memory.py) by place, not in reading order:
filling a gap, the part after it belongs to the same song and is read first, and a window that runs into
the next song does not lend the gap that song's notes. A song is the run of places between two `/` read
so far, so every place of the gap (none of which is a `/`) falls in the song around it. Sampling left to
right, the net carries each melody's range in its state and updates it per symbol (`next_range`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from src.data.vocab import BOUNDARY_ID, FIRST_PITCH_ID
from src.models.generation.sampling import widened, width_with
from src.models.nets.bar_memory import Memory

MAX_RANGE = 36  # semitones; a wider range shares the last potential
# Adam moves a parameter about lr a step whatever the size of its gradient, so 37 plain numbers could move
# about one nat in make train's 1,800 steps, and all alike; scaled by GAIN they can learn a cost of several
GAIN = 10.0


def song_range(memory: Memory, places: Tensor, seen: int, vocab_size: int) -> tuple[Tensor, Tensor]:
    """(lowest, highest) pitch id (B, T) among the inputs of each query's song read by then (the query
    itself included), from the memory after queries at `places` (B, T) arrived at seen..seen+T-1; both 0
    where the song has no pitch yet."""
    ids, arrived = memory  # (B, M) each
    T = places.shape[1]
    now = seen + torch.arange(T, device=ids.device)  # (T,)
    read = arrived[:, None, :] <= now[None, :, None]  # (B, T, M): place m read by query t
    # each place's song, as query t sees it: the `/` read at or before it (a `/` opens its song)
    song = (read & (ids == BOUNDARY_ID)[:, None, :]).cumsum(dim=-1)  # (B, T, M)
    own = song.gather(-1, places[..., None].long())  # (B, T, 1)
    pitch = (ids >= FIRST_PITCH_ID) & (ids < vocab_size)  # (B, M): MARKER and `/ _ r` are not pitches
    mask = read & (song == own) & pitch[:, None, :]  # (B, T, M)
    highest = torch.where(mask, ids[:, None, :], 0).amax(dim=-1)  # (B, T)
    lowest = torch.where(mask, ids[:, None, :], vocab_size).amin(dim=-1)
    return torch.where(mask.any(dim=-1), lowest, 0), highest


def next_range(range_: tuple[Tensor, Tensor], x: Tensor, vocab_size: int) -> tuple[Tensor, Tensor]:
    """The song's (lowest, highest) (B,) after one more input x (B,) read left to right, from the range
    before it: what `song_range` gives such a query, in O(B) instead of O(B x memory) (sampling)."""
    pitch = (x >= FIRST_PITCH_ID) & (x < vocab_size)  # MARKER and `/ _ r` are not pitches
    lowest, highest = widened(*range_, x, pitch)  # 0 = no pitch yet
    opens = x == BOUNDARY_ID  # a `/` opens the next song: no pitch in it yet
    return lowest.masked_fill(opens, 0), highest.masked_fill(opens, 0)


class RangeCost(nn.Module):
    """Logits (B, T, V) plus the learned cost of widening each query's song range (`song_range`)."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.potential = nn.Parameter(torch.zeros(MAX_RANGE + 1))  # starts at 0: no cost, a plain net
        self.register_buffer("candidates", torch.arange(vocab_size), persistent=False)  # (V,)

    def forward(self, logits: Tensor, lowest: Tensor, highest: Tensor) -> Tensor:
        known = (highest > 0)[..., None] & (self.candidates >= FIRST_PITCH_ID)  # (B, T, V)
        low, high = lowest[..., None], highest[..., None]  # (B, T, 1)
        now = (high - low).clamp(max=MAX_RANGE)  # (B, T, 1)
        wider = width_with(low, high, self.candidates)  # (B, T, V)
        potential = GAIN * self.potential  # (MAX_RANGE + 1,)
        cost = potential[wider.clamp(max=MAX_RANGE)] - potential[now]
        return logits + torch.where(known, cost, 0.0).to(logits.dtype)
