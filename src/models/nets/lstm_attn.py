"""The reference network: the original project's MusicModel (BiLSTM -> conv -> attention), fixed."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from src.checks import integer, number
from src.models.nets.attention import MultiHeadSelfAttention, check_heads
from src.models.nets.stepping import WindowNet


class LSTMAttention(WindowNet):
    """Next symbol after a window of ids: one-hot -> BiLSTM -> conv -> attention -> linear."""

    # Targets per training window: 1 = only the symbol after the window (y is (B,), logits (B, V)).
    # Every-position (causal) nets will say otherwise and return (B, L, V) for (B, L) targets.

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int = 128,
        num_layers: int = 2,
        heads: int = 4,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        integer("vocab_size", vocab_size, 1)
        integer("model.net.hidden_size", hidden_size, 1)
        integer("model.net.num_layers", num_layers, 1)
        integer("model.net.heads", heads, 1)
        number("model.net.dropout", dropout, ge=0, lt=1)
        check_heads(2 * hidden_size, heads)
        width = 2 * hidden_size  # both LSTM directions side by side
        self.vocab_size = vocab_size
        self.lstm = nn.LSTM(
            vocab_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if num_layers > 1 else 0.0,  # only applied between layers
        )
        self.conv = nn.Conv1d(width, width, kernel_size=3, padding=1)
        self.residual = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)
        self.attention = MultiHeadSelfAttention(width, heads)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(width, vocab_size)

    def forward(self, x: Tensor) -> Tensor:
        """Ids (B, L), any integer dtype -> logits (B, V) for the symbol after the window."""
        x = F.one_hot(x.long(), self.vocab_size).to(self.head.weight.dtype)  # (B, L, V)
        h, _ = self.lstm(x)  # (B, L, 2H)
        h = self.conv(h.transpose(1, 2)).transpose(1, 2)  # conv over (B, 2H, L), back to (B, L, 2H)
        h = self.drop(h)
        h = self.drop(self.norm(h + self.residual(h)))  # (B, L, 2H)
        h = self.drop(self.attention(h))  # (B, L, 2H); not causal: the LSTM already sees both ways
        return self.head(h[:, -1])  # (B, V)
