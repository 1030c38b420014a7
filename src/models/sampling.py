"""Model-agnostic generation: temperature, top-k and top-p sampling over a sliding window or carried state.

The settings arrive checked (src/models/generation.py's GenerationRequest is the one place that checks
them); these functions trust them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor


def filter_logits(logits: Tensor, top_k: int = 0, top_p: float = 1.0) -> Tensor:
    """Set to -inf every logit outside the top-k, then outside the smallest top-p probability mass.

    Args:
        logits: (B, V). Entries already at -inf stay excluded.
        top_k: keep the k largest (0: no limit). Ties are broken like argmax (lowest id first),
            so top_k=1 is greedy decoding.
        top_p: keep the most likely symbols whose probabilities, renormalised after top-k, first
            reach top_p (1.0: no limit). The most likely symbol is always kept.
    Returns:
        A new (B, V) tensor.
    """
    V = logits.shape[-1]
    if (top_k == 0 or top_k >= V) and top_p >= 1.0:
        return logits.clone()
    # stable sort: equal logits keep id order, as argmax does
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True, stable=True)  # (B, V)
    rank = torch.arange(V, device=logits.device)  # (V,)
    drop = torch.zeros_like(sorted_logits, dtype=torch.bool)  # (B, V), in sorted order
    if 0 < top_k < V:
        drop |= rank >= top_k
    if top_p < 1.0:
        probs = torch.softmax(sorted_logits.float().masked_fill(drop, -math.inf), dim=-1)
        mass_before = probs.cumsum(dim=-1) - probs  # (B, V): probability of better symbols
        drop |= (mass_before >= top_p) & (rank > 0)
    drop = drop.scatter(-1, order, drop)  # back to id order
    return logits.masked_fill(drop, -math.inf)


def sample_windowed(
    next_logits: Callable[[Tensor], Tensor],
    prompt: Tensor,
    steps: int,
    window: int,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    min_steps: int = 0,
    generator: torch.Generator | None = None,
    stop_id: int = 0,
    end_floor: float = 0.0,
) -> list[list[int]]:
    """Draw up to `steps` symbols per melody, each from the last `window` ids.

    Args:
        next_logits: maps int64 ids (b, window) to next-symbol logits (b, V); called once per step
            with the melodies still running.
        prompt: int64 ids (B, T), T >= window (the caller pads the front with `/`).
        min_steps: `stop_id` cannot be drawn before this many symbols were generated.
        end_floor: `stop_id` cannot be drawn where the net gives it less than this probability (see `draw`).
        generator: makes draws repeatable; draws happen on its device.
        stop_id: a melody ends when it draws this id, which is not included in its output.
    Returns:
        Per melody, the generated ids.
    """
    if prompt.dim() != 2 or prompt.shape[1] < window:
        raise ValueError(
            f"prompt must be (B, T) with T >= window={window}, got {tuple(prompt.shape)}"
        )
    B = prompt.shape[0]
    context = prompt[:, -window:].long()  # (B, window): a rolling window, not the whole history
    running = torch.ones(B, dtype=torch.bool, device=prompt.device)  # (B,)
    outputs: list[list[int]] = [[] for _ in range(B)]
    for step in range(steps):
        live = running.nonzero().squeeze(1)  # (b,)
        drawn = draw(next_logits(context[live]), temperature, top_k, top_p,
                     step < min_steps, generator, stop_id, end_floor)  # (b,)
        new = torch.full((B,), stop_id, dtype=torch.long, device=prompt.device)  # (B,)
        new[live] = drawn
        for i, token in zip(live.tolist(), drawn.tolist(), strict=True):
            if token != stop_id:
                outputs[i].append(token)
        running &= new != stop_id
        if not running.any():
            break
        context = torch.cat([context[:, 1:], new[:, None]], dim=1)  # (B, window)
    return outputs


def sample_causal(
    advance: Callable[[Tensor, object], tuple[Tensor, object]],
    prompt: Tensor,
    steps: int,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    min_steps: int = 0,
    generator: torch.Generator | None = None,
    stop_id: int = 0,
    cached: bool = True,
    context_of: Callable[[int, int], Tensor] | None = None,
    end_floor: float = 0.0,
) -> list[list[int]]:
    """Draw up to `steps` symbols per melody from a causal net, one recurrent step per symbol.

    Args:
        advance: maps ids (B, T), the state after the ids before them (None at the start) and their
            context (B, T, 3) or None to logits (B, T, V) and the state after them.
        prompt: int64 ids (B, T); runs of leading `/` are cut to one (a causal net saw one `/`
            between songs in training, not a window of them).
        context_of: (start, count) -> the context (B, count, 3) of inputs start..start+count-1,
            counted from the one leading `/` (input i predicts the song's step i); None: no context.
        cached: False recomputes the whole sequence every step instead of carrying the state
            (the reference the cached path is tested and benchmarked against).
    Other arguments as in `sample_windowed`.
    """
    sequence = one_leading_boundary(prompt.long(), stop_id)  # (B, T')
    if context_of is None:
        context_of = lambda start, count: None  # noqa: E731
    logits, state = advance(sequence, None, context_of(0, sequence.shape[1]))
    logits = logits[:, -1]  # (B, V): after the prompt
    B = sequence.shape[0]
    running = torch.ones(B, dtype=torch.bool, device=sequence.device)  # (B,)
    drawn_so_far = []
    for step in range(steps):
        # every row draws, finished ones too: the batch keeps its shape and the cache its rows
        drawn = draw(logits, temperature, top_k, top_p, step < min_steps, generator, stop_id,
                     end_floor)  # (B,)
        drawn_so_far.append(torch.where(running, drawn, stop_id))
        running &= drawn != stop_id
        if step == steps - 1 or not running.any():
            break
        if cached:  # one step: (B, 1, V)
            logits, state = advance(drawn[:, None], state, context_of(sequence.shape[1] + step, 1))
        else:
            sequence = torch.cat([sequence, drawn[:, None]], dim=1)
            # the whole history again: (B, T' + step + 1, V)
            logits, _ = advance(sequence, None, context_of(0, sequence.shape[1]))
        logits = logits[:, -1]
    ids = torch.stack(drawn_so_far, dim=1).tolist()  # (B, steps drawn)
    return [row[:row.index(stop_id)] if stop_id in row else row for row in ids]


def one_leading_boundary(prompt: Tensor, boundary_id: int = 0) -> Tensor:
    """Cut each row's leading run of `/` to a single `/` -> (B, T'); shorter rows are left-padded
    with `/` (only when rows' seeds differ in length)."""
    rows = []
    for row in prompt:
        leading = int((row != boundary_id).int().argmax()) if (row != boundary_id).any() else len(row)
        rows.append(row[max(leading - 1, 0):])
    width = max(len(row) for row in rows)
    return torch.stack([torch.nn.functional.pad(row, (width - len(row), 0), value=boundary_id)
                        for row in rows])


class CausalSampling:
    """Mixin for causal nets with `advance(ids, state, context) -> (logits, state)`: adds `sample`."""

    def sample(
        self,
        prompt: Tensor,
        steps: int,
        window: int | None = None,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        min_steps: int = 0,
        generator: torch.Generator | None = None,
        cached: bool = True,
        context_of: Callable[[int, int], Tensor] | None = None,
        end_floor: float = 0.0,
    ) -> list[list[int]]:
        """Generate from int64 prompts (B, T) in eval mode; `window` is unused (the net carries its
        own history); see `sample_causal`."""
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():  # no autograd bookkeeping at all: cheaper per step
                return sample_causal(
                    self.advance, prompt.to(next(self.parameters()).device), steps,
                    temperature=temperature, top_k=top_k, top_p=top_p, min_steps=min_steps,
                    generator=generator, cached=cached, context_of=context_of, end_floor=end_floor,
                )
        finally:
            self.train(was_training)


def draw(logits: Tensor, temperature: float, top_k: int, top_p: float, forbid_stop: bool,
         generator: torch.Generator | None, stop_id: int = 0, end_floor: float = 0.0) -> Tensor:
    """One id per row of next-symbol logits (b, V), drawn on the generator's device -> (b,) int64.

    `end_floor` > 0: `stop_id` is drawn only in rows where the net itself (at temperature 1, before any
    truncation) gives it at least that probability, so a melody ends where the net is fairly sure a
    tune can end, not on a long-shot draw.
    """
    scaled = logits.float() / temperature  # (b, V), a new tensor: the caller's logits stay as they are
    if forbid_stop:
        scaled[:, stop_id] = -math.inf
    elif end_floor > 0:  # log P('/') at temperature 1 from one logsumexp, no (b, V) probabilities
        own = logits[:, stop_id].float() - torch.logsumexp(logits.float(), dim=-1)  # (b,)
        scaled[own < math.log(end_floor), stop_id] = -math.inf
    probs = torch.softmax(filter_logits(scaled, top_k, top_p), dim=-1)  # (b, V)
    draw_device = generator.device if generator is not None else logits.device
    return torch.multinomial(probs.to(draw_device), 1, generator=generator).squeeze(1).to(logits.device)


class WindowSampling:
    """Mixin for nets that map a window of ids (B, L) to next-symbol logits (B, V): adds `sample`."""

    def sample(
        self,
        prompt: Tensor,
        steps: int,
        window: int,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        min_steps: int = 0,
        generator: torch.Generator | None = None,
        end_floor: float = 0.0,
    ) -> list[list[int]]:
        """Generate from int64 prompts (B, T >= window) in eval mode; see `sample_windowed`."""
        was_training = self.training
        self.eval()
        weight = next(self.parameters(), None)
        weight = next(self.buffers(), None) if weight is None else weight  # the n-gram has only buffers
        try:
            with torch.inference_mode():
                return sample_windowed(
                    self, prompt if weight is None else prompt.to(weight.device), steps, window,
                    temperature=temperature, top_k=top_k, top_p=top_p, min_steps=min_steps,
                    generator=generator, end_floor=end_floor,
                )
        finally:
            self.train(was_training)
