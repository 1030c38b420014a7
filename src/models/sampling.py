"""Model-agnostic generation: temperature, top-k and top-p sampling over a sliding window."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from src.errors import UserError


def check_sampling_settings(
    temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, steps: int = 1, min_steps: int = 0
) -> None:
    """Raise UserError naming the first setting outside its accepted range."""
    if not _is_number(temperature) or not (temperature > 0 and math.isfinite(temperature)):
        raise UserError(f"temperature={temperature!r} is not accepted; accepted: a number > 0")
    if not _is_int(top_k) or top_k < 0:
        raise UserError(
            f"top_k={top_k!r} is not accepted; accepted: an integer >= 0 (0 keeps every symbol)"
        )
    if not _is_number(top_p) or not 0 < top_p <= 1:
        raise UserError(
            f"top_p={top_p!r} is not accepted; accepted: a number in (0, 1] (1 keeps every symbol)"
        )
    if not _is_int(steps) or steps < 1:
        raise UserError(f"steps={steps!r} is not accepted; accepted: an integer >= 1")
    if not _is_int(min_steps) or min_steps < 0:
        raise UserError(f"min_steps={min_steps!r} is not accepted; accepted: an integer >= 0")


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
    check_sampling_settings(top_k=top_k, top_p=top_p)
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
) -> list[list[int]]:
    """Draw up to `steps` symbols per melody, each from the last `window` ids.

    Args:
        next_logits: maps int64 ids (b, window) to next-symbol logits (b, V); called once per step
            with the melodies still running.
        prompt: int64 ids (B, T), T >= window (the caller pads the front with `/`).
        min_steps: `stop_id` cannot be drawn before this many symbols were generated.
        generator: makes draws repeatable; draws happen on its device.
        stop_id: a melody ends when it draws this id, which is not included in its output.
    Returns:
        Per melody, the generated ids.
    """
    check_sampling_settings(temperature, top_k, top_p, steps, min_steps)
    if prompt.dim() != 2 or prompt.shape[1] < window:
        raise ValueError(
            f"prompt must be (B, T) with T >= window={window}, got {tuple(prompt.shape)}"
        )
    B = prompt.shape[0]
    draw_device = generator.device if generator is not None else prompt.device
    context = prompt[:, -window:].long()  # (B, window): a rolling window, not the whole history
    running = torch.ones(B, dtype=torch.bool, device=prompt.device)  # (B,)
    outputs: list[list[int]] = [[] for _ in range(B)]
    for step in range(steps):
        live = running.nonzero().squeeze(1)  # (b,)
        logits = next_logits(context[live]).float() / temperature  # (b, V)
        if step < min_steps:
            logits[:, stop_id] = -math.inf
        logits = filter_logits(logits, top_k, top_p)
        probs = torch.softmax(logits, dim=-1).to(draw_device)  # (b, V)
        drawn = torch.multinomial(probs, 1, generator=generator).squeeze(1).to(prompt.device)
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


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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
    ) -> list[list[int]]:
        """Generate from int64 prompts (B, T >= window) in eval mode; see `sample_windowed`."""
        was_training = self.training
        self.eval()
        weight = next(self.parameters(), None)
        weight = next(self.buffers(), None) if weight is None else weight  # the n-gram has only buffers
        try:
            with torch.no_grad():
                return sample_windowed(
                    self, prompt if weight is None else prompt.to(weight.device), steps, window,
                    temperature=temperature, top_k=top_k, top_p=top_p, min_steps=min_steps,
                    generator=generator,
                )
        finally:
            self.train(was_training)
