"""Multi-head self-attention, the corrected form of the original project's MultiHeadAttention."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from src.errors import UserError


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
        B, T, E = x.shape
        q, k, v = self.qkv(x).split(E, dim=2)  # 3 x (B, T, E)
        q, k, v = (t.view(B, T, self.heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        # (B, h, T, hd); the default scale of scaled_dot_product_attention is 1/sqrt(hd)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=causal
        )
        y = y.transpose(1, 2).reshape(B, T, E)  # (B, T, E): heads side by side
        return self.proj(y)


def check_heads(embed_dim: int, heads: int) -> None:
    """Raise UserError unless `heads` divides `embed_dim` (2 * hidden_size in our nets)."""
    if not isinstance(heads, int) or heads <= 0 or embed_dim % heads:
        divisors = [d for d in range(1, embed_dim + 1) if embed_dim % d == 0]
        raise UserError(
            f"model.heads={heads!r} must divide 2 * model.hidden_size = {embed_dim}; "
            f"accepted: one of {divisors}"
        )
