"""Fill-in-the-middle order: how a causal net learns to fill a gap (`mix_in_infilling`), and the order
a gap is filled in (src/models/generation/infill.py).

A window of inputs x (L,) with targets y and the targets' context is reordered as prefix, the part
after the gap (the suffix), then the gap (the middle), so a left-to-right net predicts the middle
having read both sides. With the middle's targets y[a-1 .. b-2] (input indices, 1 <= a < b <= L):

    order = [0 .. a-2]  +  [b-1 .. L-1]  +  [a-1 .. b-2]
             prefix         MARKER, suffix     middle

Input b-1 (the middle's last symbol, which the suffix may not see) is replaced by MARKER, an input id
of the net's own, still predicting y[b-1], the suffix's first symbol. Every input keeps its target and
context, so the reordering moves (input, target, context) triples and loses none; `positions` are the
inputs' original places (the rotary embeddings see true distances: the middle knows how far the suffix
is), `roles` say which part each input is in (src/models/nets/transformer.py's ROLES).
"""

from __future__ import annotations

import torch
from torch import Tensor

from src.data.vocab import BOUNDARY_ID

LEFT, AFTER, FILL = 0, 1, 2  # roles


def middle_order(length: int, a: int, b: int) -> tuple[Tensor, Tensor]:
    """Input indices (L,) in fill-in-the-middle order and their roles (L,), for middle targets
    y[a-1 .. b-2] of `length` inputs (1 <= a < b <= length)."""
    order = torch.cat([torch.arange(0, a - 1), torch.arange(b - 1, length), torch.arange(a - 1, b - 1)])
    roles = torch.cat([torch.full((a - 1,), LEFT), torch.full((length - b + 1,), AFTER),
                       torch.full((b - a,), FILL)])
    return order, roles


def mix_in_infilling(x: Tensor, y: Tensor, context: Tensor, share: float, marker: int,
                     generator: torch.Generator | None = None) -> tuple[Tensor, ...]:
    """A training batch (x (B, L), y (B, L), context (B, L, 3)) with about `share` of its rows in
    fill-in-the-middle order, the gap inside one song (`song_gap`) -> (x, y, context, positions (B, L),
    roles (B, L)); the other rows unchanged (positions 0..L-1, role LEFT)."""
    B, L = x.shape
    positions = torch.arange(L).repeat(B, 1)  # (B, L)
    roles = torch.zeros(B, L, dtype=torch.long)
    if L < 2 or share <= 0:
        return x, y, context, positions, roles
    x = x.clone()
    picked = torch.rand(B, generator=generator) < share  # (B,)
    for row in picked.nonzero().squeeze(1).tolist():
        cut = song_gap(torch.cat([x[row, :1], y[row]]).cpu(), generator)
        if cut is None:  # no song step in the window
            continue
        a, b = cut
        x[row, b - 1] = marker
        positions[row], roles[row] = middle_order(L, a, b)
    index = positions.to(x.device)
    x, y = x.gather(1, index), y.gather(1, index)
    context = context.gather(1, index[..., None].expand(-1, -1, context.shape[-1]))
    return x, y, context, index, roles.to(x.device)


def song_gap(window: Tensor, generator: torch.Generator | None = None) -> tuple[int, int] | None:
    """Cut points (a, b), 1 <= a < b <= L, of a gap w[a..b-1] in a window w (L + 1,) of symbols: a
    step drawn uniformly picks the song, then two cuts are drawn uniformly within it, so the gap holds
    no `/` and the suffix resumes the same song. A gap across songs would teach the net that the part
    after it says nothing about it (most of a 512-step window's suffix is other songs)."""
    L = len(window) - 1
    boundary = window == BOUNDARY_ID
    steps = (~boundary[1:L]).nonzero().flatten() + 1  # song steps w[1..L-1] (w[L] ends no gap: b <= L)
    if len(steps) == 0:
        return None
    step = int(steps[torch.randint(len(steps), (1,), generator=generator)])
    before = boundary[:step].nonzero().flatten()
    after = boundary[step:].nonzero().flatten()
    low = int(before[-1]) + 1 if len(before) else 1  # the song's first step in the window
    high = min(step + int(after[0]) if len(after) else L + 1, L)  # the gap ends by its '/' and by L
    a, b = (torch.randperm(high - low + 1, generator=generator)[:2] + low).sort().values.tolist()
    return a, b
