"""A plain recurrent baseline: one-hot window -> unidirectional GRU -> linear on the last position."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from src.checks import integer, number
from src.models.nets.stepping import WindowNet


class GRUNet(WindowNet):
    """Next symbol after a window of ids: one-hot -> multi-layer GRU -> linear on the last state."""

    def __init__(
        self, vocab_size: int, hidden_size: int = 256, num_layers: int = 2, dropout: float = 0.2
    ) -> None:
        super().__init__()
        integer("vocab_size", vocab_size, 1)
        integer("model.net.hidden_size", hidden_size, 1)
        integer("model.net.num_layers", num_layers, 1)
        number("model.net.dropout", dropout, ge=0, lt=1)
        self.vocab_size = vocab_size
        self.gru = nn.GRU(
            vocab_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,  # only applied between layers
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x: Tensor) -> Tensor:
        """Ids (B, L), any integer dtype -> logits (B, V) for the symbol after the window."""
        x = F.one_hot(x.long(), self.vocab_size).to(self.head.weight.dtype)  # (B, L, V)
        h, _ = self.gru(x)  # (B, L, H)
        return self.head(self.drop(h[:, -1]))  # (B, V)
