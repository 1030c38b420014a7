"""Infilling with a causal net: fill-in-the-middle order for training and a gap filled at sampling.

A window of inputs x (L,) with targets y and the targets' context is reordered as prefix, the part
after the gap (the suffix), then the gap (the middle), so a left-to-right net predicts the middle
having read both sides. With the middle's targets y[a-1 .. b-2] (input indices, 1 <= a < b <= L):

    order = [0 .. a-2]  +  [b-1 .. L-1]  +  [a-1 .. b-2]
             prefix         MARKER, suffix     middle

Input b-1 (the middle's last symbol, which the suffix may not see) is replaced by MARKER, an input id
of the net's own, still predicting y[b-1], the suffix's first symbol. Every input keeps its target and
context, so the reordering moves (input, target, context) triples and loses none; `positions` are the
inputs' original places (the rotary embeddings see true distances: the middle knows how far the suffix
is), `roles` say which part each input is in (src/models/transformer.py's ROLES).
"""

from __future__ import annotations

import torch
from torch import Tensor

from src.data.vocab import BOUNDARY_ID
from src.errors import UserError
from src.models.generation import song_opening
from src.models.meter_plan import context_of
from src.models.sampling import Sampling, Span, draw

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
    """A training batch (x (B, L), y (B, L), context (B, L, 4)) with about `share` of its rows in
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


@torch.inference_mode()
def fill_gap(net, song: Tensor, start: int, end: int, context: Tensor, count: int, sampling: Sampling,
             generator: torch.Generator | None) -> list[list[int]]:
    """`count` fillings of steps [start, end) of one song's ids (N,), given the rest of it, each
    `end - start` ids without a `/`. `context` (N + 1, 4) is that of inputs 0..N (input i, after the
    opening `/`, predicts step i)."""
    device = next(net.parameters()).device
    inputs = torch.cat([torch.tensor([BOUNDARY_ID]), song.long().cpu()])  # (L = N + 1,) `/` + song
    L, a, b = len(inputs), start + 1, end + 1  # the middle's targets: inputs a-1 .. b-2 predict them
    order, roles = middle_order(L, a, b)
    inputs[b - 1] = net.marker
    known = len(order) - (b - a) + 1  # prefix, marker, suffix and the middle's first input
    order, roles = order[:known].to(device), roles[:known].to(device)
    context = context.to(device)  # (L, 4), once: the loop below reads a row per step
    x = inputs.to(device)[order].repeat(count, 1)  # (count, known)
    # max_span: the span is counted over the song's notes on both sides of the gap, and what fills it
    span = (Span(torch.cat([song[:start], song[end:]]).long().to(device).repeat(count, 1), BOUNDARY_ID)
            if sampling.max_span else None)
    ctx = context[order].repeat(count, 1, 1)
    was_training = net.training
    net.eval()
    try:
        logits, state = net.advance(x, None, ctx, order, roles.repeat(count, 1))
        filling = torch.full((count, 1), FILL, device=device)  # the role of every drawn step
        filled = []
        for step in range(end - start):
            token = draw(logits[:, -1], sampling, generator, BOUNDARY_ID, allow_stop=False,
                         span=span)  # (count,): a gap never ends the song
            filled.append(token)
            if step == end - start - 1:
                break
            place = torch.tensor([a + step], device=device)  # the drawn step's input index
            logits, state = net.advance(token[:, None], state, context[place].repeat(count, 1, 1), place,
                                        filling)
    finally:
        net.train(was_training)
    return torch.stack(filled, dim=1).tolist()


def gap_bits(net, song: Tensor, start: int, end: int, context: Tensor) -> tuple[float, float]:
    """Bits of steps [start, end) of one song (N,) given both sides, and given the left side only
    (plain left-to-right), each summed over the gap's steps."""
    device = next(net.parameters()).device
    inputs = torch.cat([torch.tensor([BOUNDARY_ID]), song.long().cpu()]).to(device)  # (L,)
    targets = torch.cat([song.long().cpu(), torch.tensor([BOUNDARY_ID])]).to(device)  # (L,)
    L, a, b = len(inputs), start + 1, end + 1
    ctx = context.to(device)
    with torch.inference_mode():
        left, _ = net.advance(inputs[None], None, ctx[None])  # (1, L, V)
        left_bits = _bits(left[0, a - 1:b - 1], targets[a - 1:b - 1])
        order, roles = middle_order(L, a, b)
        order, roles = order.to(device), roles.to(device)
        x = inputs.clone()
        x[b - 1] = net.marker
        both, _ = net.advance(x[order][None], None, ctx[order][None], order, roles[None])
        both_bits = _bits(both[0, L - (b - a):], targets[order][L - (b - a):])
    return both_bits, left_bits


def _bits(logits: Tensor, targets: Tensor) -> float:
    """Summed -log2 p of `targets` (T,) under `logits` (T, V)."""
    logp = torch.log_softmax(logits.float(), dim=-1).gather(1, targets[:, None])
    return float(-logp.sum() / torch.log(torch.tensor(2.0)))


def seed_steps(request, seed_length: int, meter) -> tuple[int, int]:
    """The seed steps [A, B) a request's `span=` or `bars=` names, checked against the seed (UserError)."""
    if request.span:
        start, end = request.span
        if end > seed_length:
            raise UserError(f"span={start}:{end} is outside the seed ({seed_length} steps); accepted: "
                            f"0 <= A < B <= {seed_length}")
        return start, end
    first, last = request.bars
    bar, pickup = meter.bar_length, meter.pickup
    bars = (pickup > 0) + -(-(seed_length - pickup) // bar)  # the seed's bars, a partial last one too
    lowest = 0 if pickup else 1
    highest = bars - (pickup > 0)
    if first < lowest or last > highest:
        raise UserError(f"bars={first}:{last} is beyond the seed: {seed_length} steps in "
                        f"{meter.time_signature} with a pickup of {pickup} hold bars {lowest}..{highest}")

    def bar_start(number: int) -> int:
        return 0 if number == 0 else pickup + (number - 1) * bar
    return bar_start(first), min(bar_start(last + 1), seed_length)


def fill_seed(module, seed: list[str], request, generator: torch.Generator, notes: list[str],
              meters: list) -> list[list[str]]:
    """`num_samples` versions of the seed with the requested span regenerated, everything else kept."""
    if not seed:
        raise UserError("mode=infill needs a seed: the melody to regenerate part of")
    start, end = seed_steps(request, len(seed), meters[0])
    meter = meters[0]
    notes.append(f"infill: steps {start}:{end} of {len(seed)} regenerated ({meter.time_signature}, "
                 f"pickup {meter.pickup})")
    ids = module.vocab.encode(seed)
    context = context_of([meter], module.device)(0, len(seed) + 1)[0]  # (N + 1, 4)
    filled = fill_gap(module.net, torch.as_tensor(ids), start, end, context, request.num_samples,
                      request.sampling, generator)
    return [song_opening(seed[:start] + module.vocab.decode(row) + seed[end:]) for row in filled]
