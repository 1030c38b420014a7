"""Filling a gap: the sampling loop with the prompt in fill-in-the-middle order
(src/models/modules/fill_order.py), the steps before and after the gap read first, then the gap drawn one
step at a time.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from src.data.vocab import BOUNDARY_ID
from src.errors import UserError
from src.models.generation.loop import Placement, sample
from src.models.generation.meters import context_of
from src.models.generation.sampling import Sampling, Span
from src.models.generation.seeds import song_opening
from src.models.modules.fill_order import FILL, middle_order


def fill_gap(net, song: Tensor, start: int, end: int, context: Tensor, count: int, sampling: Sampling,
             generator: torch.Generator | None) -> list[list[int]]:
    """`count` fillings of steps [start, end) of one song's ids (N,), given the rest of it, each
    `end - start` ids without a `/`. `context` (N + 1, 3) is that of inputs 0..N (input i, after the
    opening `/`, predicts step i)."""
    device = next(net.parameters()).device
    inputs = torch.cat([torch.tensor([BOUNDARY_ID]), song.long().cpu()])  # (L = N + 1,) `/` + song
    L, a, b = len(inputs), start + 1, end + 1  # the middle's targets: inputs a-1 .. b-2 predict them
    order, roles = middle_order(L, a, b)
    inputs[b - 1] = net.marker
    known = len(order) - (b - a) + 1  # prefix, marker, suffix and the middle's first input: the prompt
    order, roles = order[:known].to(device), roles[:known].to(device)
    context = context.to(device)  # (L, 3), once: the loop reads a row per step
    prompt = inputs.to(device)[order].repeat(count, 1)  # (count, known)
    prompt_context = context[order].repeat(count, 1, 1)  # (count, known, 3)

    def context_of_inputs(first: int, length: int) -> Tensor:  # the prompt's, then the gap's k-th step
        return prompt_context if first == 0 else context[[a + first - known]].repeat(count, 1, 1)

    # max_span: the span is counted over the song's notes on both sides of the gap, and what fills it
    span = (Span(torch.cat([song[:start], song[end:]]).long().to(device).repeat(count, 1), BOUNDARY_ID)
            if sampling.max_span else None)
    steps = end - start
    return sample(net, prompt, steps, replace(sampling, min_steps=steps), generator, BOUNDARY_ID,  # no '/'
                  context_of_inputs, Placement(order, roles.repeat(count, 1), a, FILL), span)


def gap_bits(net, song: Tensor, start: int, end: int, context: Tensor) -> tuple[float, float]:
    """Bits of steps [start, end) of one song (N,) given both sides, and given the left side only
    (plain left-to-right), each summed over the gap's steps."""
    device = next(net.parameters()).device
    inputs = torch.cat([torch.tensor([BOUNDARY_ID]), song.long().cpu()]).to(device)  # (L,)
    targets = torch.cat([song.long().cpu(), torch.tensor([BOUNDARY_ID])]).to(device)  # (L,)
    L, a, b = len(inputs), start + 1, end + 1
    ctx = context.to(device)
    with torch.inference_mode():
        left, _ = net.step(inputs[None], None, ctx[None])  # (1, L, V)
        left_bits = _bits(left[0, a - 1:b - 1], targets[a - 1:b - 1])
        order, roles = middle_order(L, a, b)
        order, roles = order.to(device), roles.to(device)
        x = inputs.clone()
        x[b - 1] = net.marker
        both, _ = net.step(x[order][None], None, ctx[order][None], order, roles[None])
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
    context = context_of([meter], module.device)(0, len(seed) + 1)[0]  # (N + 1, 3)
    filled = fill_gap(module.net, torch.as_tensor(ids), start, end, context, request.num_samples,
                      request.sampling, generator)
    return [song_opening(seed[:start] + module.vocab.decode(row) + seed[end:]) for row in filled]
