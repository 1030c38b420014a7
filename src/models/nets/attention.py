"""Multi-head self-attention, the corrected form of the original project's MultiHeadAttention, and
rotary position embeddings for attention that knows how far apart two positions are."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from src.checks import check, is_integer
from src.errors import UserError

# Keys and values of the last `window` positions, a causal attention step's whole view: a ring
# (k, v), each (B, kv_heads, window, head_dim), the p-th input in slot p % window, and the inputs seen.
# None before the first input.
KVCache = tuple[Tensor, Tensor, int] | None


class MultiHeadSelfAttention(nn.Module):
    """Self-attention over a sequence: fused q/k/v projection, `heads` heads, output projection.

    With `kv_heads` < `heads` (grouped-query attention; 1 = multi-query), each key/value head serves
    `heads / kv_heads` query heads: the key/value cache a sampling step reads shrinks by that factor."""

    def __init__(self, embed_dim: int, heads: int, dropout: float = 0.0, rotary: bool = False,
                 kv_heads: int | None = None) -> None:
        super().__init__()
        check_heads(embed_dim, heads)
        self.heads = heads
        self.kv_heads = heads if kv_heads is None else kv_heads
        self.head_dim = embed_dim // heads
        self.dropout = dropout
        # rotary: queries and keys turned by their positions, so scores depend on distances only
        self.rotary = Rotary(self.head_dim) if rotary else None
        # Unlike the original: q/k/v are full (E -> E) projections of the whole vector made before
        # splitting into heads (it shared one small head_dim x head_dim matrix across heads), the
        # scale is 1/sqrt(head_dim) (it used 1/sqrt(embed_size)), and heads are merged with a real
        # reshape (its second einsum mixed up the axes and it passed a string to reshape).
        self.qkv = nn.Linear(embed_dim, embed_dim + 2 * self.kv_heads * self.head_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x: Tensor, causal: bool = False) -> Tensor:
        """(B, T, E) -> (B, T, E); with `causal`, position t attends only to positions <= t."""
        q, k, v = self._heads(x)
        return self._attend(q, k, v, mask=None, causal=causal)

    def local_causal(self, x: Tensor, window: int, cache: KVCache = None,
                     positions: Tensor | None = None) -> tuple[Tensor, KVCache]:
        """Causal attention over the last `window` positions, continuing from `cache`.

        Position p attends to positions p - window + 1 .. p, counting the cached ones before x, so
        running a sequence in pieces (a prompt, then one symbol at a time) gives the same outputs
        as running it whole. (B, T, E) -> (B, T, E) and the cache for the next piece.

        `positions` ((T,) or (B, T)) are the inputs' positions as the caller counts them (default: their
        places in the sequence, counting the cached ones): rotary embeddings turn queries and keys by
        them. The cache keeps turned keys.

        The cache is a ring of `window` key/value slots (position p in slot p % window), updated in
        place one position at a time: attention has no notion of order, so a step writes one slot
        and reads the filled ones, with no copying of the past.
        """
        q, k, v = self._heads(x)  # q (B, h, T, hd); k, v (B, kv, T, hd)
        T = q.shape[2]
        seen = 0 if cache is None else cache[2]
        if self.rotary is not None:  # only then do positions matter
            if positions is None:
                positions = torch.arange(seen, seen + T, device=x.device)
            q, k = self.rotary(q, positions), self.rotary(k, positions)
        if cache is not None and T == 1:
            return self._step(q, k, v, cache, window)
        if cache is not None:  # the cached positions, oldest first, before the new ones
            order = torch.arange(seen - min(seen, window), seen, device=x.device) % window
            k, v = torch.cat([cache[0][:, :, order], k], dim=2), torch.cat([cache[1][:, :, order], v], dim=2)
        S = k.shape[2]  # (B, kv, S, hd): cached + new
        if S == T and T <= window:
            y = self._attend(q, k, v, mask=None, causal=True)  # plain causal: the fused kernels
        else:
            query = torch.arange(S - T, S, device=x.device)[:, None]  # (T, 1) places in k
            key = torch.arange(S, device=x.device)[None, :]  # (1, S)
            allowed = (key <= query) & (key > query - window)  # (T, S)
            y = self._attend(q, k, v, mask=allowed, causal=False)
        total, kept = seen + T, min(S, window)  # positions so far; the last `kept` go in the ring
        ring_k, ring_v = (k.new_zeros(*k.shape[:2], window, k.shape[3]) for _ in range(2))
        slots = torch.arange(total - kept, total, device=x.device) % window
        ring_k[:, :, slots], ring_v[:, :, slots] = k[:, :, S - kept:], v[:, :, S - kept:]
        return y, (ring_k, ring_v, total)

    def _step(self, q: Tensor, k: Tensor, v: Tensor, cache: KVCache, window: int) -> tuple[Tensor, KVCache]:
        """One new position (q, k, v each (B, h, 1, hd)) against the ring, written in place."""
        ring_k, ring_v, seen = cache
        slot = seen % window
        ring_k[:, :, slot], ring_v[:, :, slot] = k[:, :, 0], v[:, :, 0]
        filled = min(seen + 1, window)
        B, kv = q.shape[0], self.kv_heads
        q = q.reshape(B, kv, self.heads // kv, self.head_dim)  # (B, kv, group, hd): a group shares its keys
        # one query: an einsum and a matmul are cheaper here than scaled_dot_product_attention on CPU
        scores = torch.einsum("bkgd,bkwd->bkgw", q, ring_k[:, :, :filled]) * self.head_dim**-0.5
        y = torch.softmax(scores, dim=-1) @ ring_v[:, :, :filled]  # (B, kv, group, hd)
        return self._merge(y.view(B, self.heads, 1, self.head_dim)), (ring_k, ring_v, seen + 1)

    def _heads(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(B, T, E) -> q (B, h, T, hd), k and v (B, kv, T, hd)."""
        B, T, E = x.shape
        kv_width = self.kv_heads * self.head_dim
        q, k, v = self.qkv(x).split([E, kv_width, kv_width], dim=2)
        return (q.view(B, T, self.heads, self.head_dim).transpose(1, 2),
                *(t.view(B, T, self.kv_heads, self.head_dim).transpose(1, 2) for t in (k, v)))

    def _attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, causal: bool) -> Tensor:
        """Heads (B, h, T, hd) against keys and values (B, kv, S, hd) -> merged (B, T, E), projected."""
        if self.kv_heads != self.heads:  # each key/value head repeated for its group of query heads
            group = self.heads // self.kv_heads
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        # the default scale of scaled_dot_product_attention is 1/sqrt(hd)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0, is_causal=causal
        )
        return self._merge(y)

    def _merge(self, y: Tensor) -> Tensor:
        """Heads (B, h, T, hd) -> (B, T, E), side by side, projected."""
        B, _, T, _ = y.shape
        return self.proj(y.transpose(1, 2).reshape(B, T, self.heads * self.head_dim))


class Rotary(nn.Module):
    """Rotary position embedding (RoFormer): pairs of a head's features turned by angle position x
    frequency, so a query-key product depends only on how far apart the two positions are."""

    def __init__(self, head_dim: int, base: float = 10_000.0) -> None:
        super().__init__()
        if head_dim % 2:
            raise UserError(f"rotary embeddings need an even head width; got {head_dim} "
                            "(model.net.d_model / model.net.heads)")
        frequencies = base ** -(torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)  # (hd/2,)
        self.register_buffer("frequencies", frequencies, persistent=False)  # rebuilt, not checkpointed

    def forward(self, t: Tensor, positions: Tensor) -> Tensor:
        """Heads t (B, h, T, hd) at positions (T,) or (B, T) -> turned (B, h, T, hd)."""
        angles = positions.float()[..., None] * self.frequencies  # (T, hd/2) or (B, T, hd/2)
        if angles.dim() == 3:
            angles = angles[:, None]  # (B, 1, T, hd/2): one row of positions per melody
        cos, sin = angles.cos().to(t.dtype), angles.sin().to(t.dtype)
        first, second = t.chunk(2, dim=-1)  # the two halves form the pairs (GPT-NeoX layout)
        return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)


def check_heads(embed_dim: int, heads: int, width: str = "2 * model.net.hidden_size") -> None:
    """Raise UserError unless `heads` divides `embed_dim` (the attention width, named by `width`)."""
    divisors = [d for d in range(1, embed_dim + 1) if embed_dim % d == 0]
    check("model.net.heads", heads, is_integer(heads) and heads in divisors,
          f"a divisor of {width} = {embed_dim}: {', '.join(map(str, divisors))}")
