"""Multi-head self-attention, the corrected form of the original project's MultiHeadAttention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from src.errors import UserError

# Keys and values of the positions a causal attention step may still look back at:
# (k, v), each (B, heads, C, head_dim), C < window. None before the first step.
KVCache = tuple[Tensor, Tensor] | None


class MultiHeadSelfAttention(nn.Module):
    """Self-attention over a sequence: fused q/k/v projection, `heads` heads, output projection."""

    def __init__(self, embed_dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        check_heads(embed_dim, heads)
        self.heads = heads
        self.head_dim = embed_dim // heads
        self.dropout = dropout
        # Unlike the original: q/k/v are full (E -> E) projections of the whole vector made before
        # splitting into heads (it shared one small head_dim x head_dim matrix across heads), the
        # scale is 1/sqrt(head_dim) (it used 1/sqrt(embed_size)), and heads are merged with a real
        # reshape (its second einsum mixed up the axes and it passed a string to reshape).
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x: Tensor, causal: bool = False) -> Tensor:
        """(B, T, E) -> (B, T, E); with `causal`, position t attends only to positions <= t."""
        q, k, v = self._heads(x)
        return self._attend(q, k, v, mask=None, causal=causal)

    def local_causal(self, x: Tensor, window: int, cache: KVCache = None) -> tuple[Tensor, KVCache]:
        """Causal attention over the last `window` positions, continuing from `cache`.

        Position p attends to positions p - window + 1 .. p, counting the cached ones before x, so
        running a sequence in pieces (a prompt, then one symbol at a time) gives the same outputs
        as running it whole. (B, T, E) -> (B, T, E) and the cache for the next piece.
        """
        q, k, v = self._heads(x)  # (B, h, T, hd) each
        if cache is not None:
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)  # (B, h, C+T, hd)
        T, S = q.shape[2], k.shape[2]
        if S == T and T <= window:
            y = self._attend(q, k, v, mask=None, causal=True)  # plain causal: the fused kernels
        else:
            query = torch.arange(S - T, S, device=x.device)[:, None]  # (T, 1) positions in k
            key = torch.arange(S, device=x.device)[None, :]  # (1, S)
            y = self._attend(q, k, v, mask=(key <= query) & (key > query - window), causal=False)
        keep = window - 1  # what the next position can still see, besides itself
        return y, (k[:, :, S - min(S, keep):], v[:, :, S - min(S, keep):])

    def _heads(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(B, T, E) -> q, k, v, each (B, h, T, hd)."""
        B, T, E = x.shape
        q, k, v = self.qkv(x).split(E, dim=2)  # 3 x (B, T, E)
        return tuple(t.view(B, T, self.heads, self.head_dim).transpose(1, 2) for t in (q, k, v))

    def _attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, causal: bool) -> Tensor:
        """Heads (B, h, T, hd) against (B, h, S, hd) -> merged (B, T, E), projected."""
        # the default scale of scaled_dot_product_attention is 1/sqrt(hd)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0, is_causal=causal
        )
        B, _, T, _ = y.shape
        return self.proj(y.transpose(1, 2).reshape(B, T, self.heads * self.head_dim))  # heads side by side


def check_heads(embed_dim: int, heads: int, width: str = "2 * model.hidden_size") -> None:
    """Raise UserError unless `heads` divides `embed_dim` (the attention width, named by `width`)."""
    if not isinstance(heads, int) or heads <= 0 or embed_dim % heads:
        divisors = [d for d in range(1, embed_dim + 1) if embed_dim % d == 0]
        raise UserError(
            f"model.heads={heads!r} must divide {width} = {embed_dim}; "
            f"accepted: one of {divisors}"
        )
