"""How each symbol is drawn: the sampling settings (`Sampling`), the filters they name (temperature,
top-k, top-p, the end floor, the span of a melody's range) and `draw`, one id per row of logits.

The settings arrive checked (src/models/generation/request.py's GenerationRequest is the one place that
checks them); these functions trust them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from src.data.vocab import FIRST_PITCH_ID


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


@dataclass(frozen=True)
class Sampling:
    """How each symbol is drawn; checked where a request is made (GenerationRequest), trusted here."""

    temperature: float = 1.0
    top_k: int = 0  # 0 = off
    top_p: float = 1.0  # 1.0 = off
    min_steps: int = 0  # the stop symbol cannot be drawn before this many symbols
    end_floor: float = 0.0  # the stop symbol only where the net gives it at least this probability
    max_span: int = 0  # semitones a melody (its seed included) may span; 0 = off
    endings: int = 1  # ways a planned melody's last bars are drawn, the most final kept (loop.PlannedRows)


PLAIN = Sampling()  # temperature 1, nothing cut: each symbol as likely as the net says


def widened(low: Tensor, high: Tensor, x: Tensor, pitch: Tensor) -> tuple[Tensor, Tensor]:
    """Ranges (lowest, highest pitch id) (b,), 0 while a row has no pitch, after ids x (b,) that are
    pitches where `pitch` (b,); other ids leave them as they are."""
    return (torch.where(pitch & ((high == 0) | (x < low)), x, low),
            torch.where(pitch & (x > high), x, high))


def width_with(low: Tensor, high: Tensor, candidates: Tensor) -> Tensor:
    """Semitones each range (low, high) (..., 1) would span with each candidate pitch id (V,) in it:
    (..., V) (pitch ids are a semitone apart)."""
    return torch.maximum(high, candidates) - torch.minimum(low, candidates)


class Span:
    """Each melody's lowest and highest pitch id so far, (B,) each, 0 while it has none: `max_span`
    keeps a melody within that many semitones (pitch ids are a semitone apart, from FIRST_PITCH_ID)."""

    def __init__(self, prompt: Tensor, stop_id: int = 0, limits: Tensor | None = None) -> None:
        """From int64 prompts (B, T): each row's melody is what follows its last `stop_id`; `limits`
        (B,): each row's own max_span (a style's), instead of the sampling's one."""
        self.limits = limits
        B, T = prompt.shape
        index = torch.arange(T, device=prompt.device)  # (T,)
        last_stop = torch.where(prompt == stop_id, index, -1).amax(dim=1, keepdim=True)  # (B, 1)
        own = (index > last_stop) & (prompt >= FIRST_PITCH_ID)  # (B, T): the melodies' pitches
        self.high = torch.where(own, prompt, 0).amax(dim=1)  # (B,)
        self.low = torch.where(own, prompt, torch.iinfo(prompt.dtype).max).amin(dim=1)
        self.low = torch.where(own.any(dim=1), self.low, 0)
        self.ids: Tensor | None = None  # (V,) every id, made on the first `outside`, not every step

    def add(self, drawn: Tensor, rows: Tensor | None = None) -> None:
        """Widen by the ids drawn (b,) for `rows` (b,) (default: every row)."""
        low, high = (self.low, self.high) if rows is None else (self.low[rows], self.high[rows])
        low, high = widened(low, high, drawn, drawn >= FIRST_PITCH_ID)  # a sampler never draws MARKER
        if rows is None:
            self.low, self.high = low, high
        else:
            self.low[rows], self.high[rows] = low, high

    def take_rows(self, index: Tensor) -> None:
        """Keep rows `index` (b',), repeats allowed (a melody drawn on several ways from here)."""
        self.low, self.high = self.low[index], self.high[index]
        if self.limits is not None:
            self.limits = self.limits[index]

    def outside(self, vocab_size: int, max_span: int, rows: Tensor | None = None) -> Tensor:
        """(b, V) True for each pitch id that would widen a row past `max_span` semitones (or, where the
        seed alone spans more, widen it at all); nothing where a row has no pitch yet."""
        low, high = (self.low, self.high) if rows is None else (self.low[rows], self.high[rows])
        if self.ids is None or len(self.ids) != vocab_size:
            self.ids = torch.arange(vocab_size, device=low.device)
        ids = self.ids  # (V,)
        if self.limits is not None:
            max_span = self.limits if rows is None else self.limits[rows]  # (b,)
        limit = torch.clamp(high - low, min=max_span)[:, None]  # (b, 1)
        wider = width_with(low[:, None], high[:, None], ids)  # (b, V)
        return (wider > limit) & (ids >= FIRST_PITCH_ID) & (high > 0)[:, None]


def draw(logits: Tensor, sampling: Sampling, generator: torch.Generator | None, stop_id: int = 0, *,
         allow_stop: bool = True, span: Span | None = None, rows: Tensor | None = None) -> Tensor:
    """One id per row of next-symbol logits (b, V), drawn on the generator's device -> (b,) int64.

    `end_floor` > 0: `stop_id` is drawn only in rows where the net itself (at temperature 1, before any
    truncation) gives it at least that probability, so a melody ends where the net is fairly sure a
    tune can end, not on a long-shot draw. `max_span` > 0 (with the melodies' `span`, of `rows` of it):
    no pitch that would widen a melody past that many semitones; the drawn ids widen `span`.
    """
    scaled = logits.float() / sampling.temperature  # (b, V), new: the caller's logits stay as they are
    if not allow_stop:
        scaled[:, stop_id] = -math.inf
    elif sampling.end_floor > 0:  # log P('/') at temperature 1 from one logsumexp, no (b, V) probabilities
        own = logits[:, stop_id].float() - torch.logsumexp(logits.float(), dim=-1)  # (b,)
        scaled[own < math.log(sampling.end_floor), stop_id] = -math.inf
    if span is not None:
        scaled = scaled.masked_fill(span.outside(scaled.shape[1], sampling.max_span, rows), -math.inf)
    probs = torch.softmax(filter_logits(scaled, sampling.top_k, sampling.top_p), dim=-1)  # (b, V)
    draw_device = generator.device if generator is not None else logits.device
    drawn = torch.multinomial(probs.to(draw_device), 1, generator=generator).squeeze(1).to(logits.device)
    if span is not None:
        span.add(drawn, rows)
    return drawn
