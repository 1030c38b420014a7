"""Causal language-model nets: a prediction at every position, sampled with carried state.

Both map ids (B, T) to logits (B, T, V) where position t sees only ids <= t, and both expose
`advance(ids, state) -> (logits, state)`: running a sequence in pieces with the state carried
gives the same logits as running it whole, so sampling costs one recurrent step per symbol.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from src.models.attention import KVCache, MultiHeadSelfAttention, check_heads
from src.models.lstm_attn import check_dropout, check_positive_int
from src.models.sampling import CausalSampling

# (LSTM (h, c), the last kernel_size - 1 LSTM outputs (B, k-1, H), attention key/value cache)
LSTMAttentionState = tuple[tuple[Tensor, Tensor], Tensor, KVCache]


class CausalNet(CausalSampling, nn.Module):
    """A net whose `advance(ids, state) -> (logits, state)` predicts at every position."""

    def forward(self, x: Tensor) -> Tensor:
        """Ids (B, T), any integer dtype -> logits (B, T, V), position t from ids <= t."""
        return self.advance(x)[0]

    def advance(self, x: Tensor, state=None) -> tuple[Tensor, object]:
        raise NotImplementedError


class LSTMAttentionLM(CausalNet):
    """The reference's blocks made causal: one-hot -> LSTM -> left-padded conv -> residual LayerNorm
    -> attention over the last `attention_window` positions (+ skip) -> linear, at every position."""

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int = 256,
        num_layers: int = 2,
        heads: int = 4,
        dropout: float = 0.2,
        kernel_size: int = 3,
        attention_window: int = 64,
        weight_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        for key, value in (
            ("vocab_size", vocab_size),
            ("model.net.hidden_size", hidden_size),
            ("model.net.num_layers", num_layers),
            ("model.net.heads", heads),
            ("model.net.kernel_size", kernel_size),
            ("model.net.attention_window", attention_window),
        ):
            check_positive_int(key, value)
        check_dropout(dropout)
        check_dropout(weight_dropout, "model.net.weight_dropout")
        check_heads(hidden_size, heads, width="model.net.hidden_size")
        self.vocab_size, self.kernel_size, self.attention_window = vocab_size, kernel_size, attention_window
        self.weight_dropout = weight_dropout
        self.lstm = nn.LSTM(
            vocab_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )  # only between layers
        self.conv = nn.Conv1d(hidden_size, hidden_size, kernel_size)  # no padding: we prepend the past
        self.residual = nn.Linear(hidden_size, hidden_size)
        self.norm = nn.LayerNorm(hidden_size)
        self.attention = MultiHeadSelfAttention(hidden_size, heads)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def advance(
        self, x: Tensor, state: LSTMAttentionState | None = None
    ) -> tuple[Tensor, LSTMAttentionState]:
        """Ids (B, T) following `state` (None: a fresh start) -> logits (B, T, V), the state after."""
        recurrent, past, cache = state if state is not None else (None, None, None)
        h, recurrent = self._recur(F.one_hot(x.long(), self.vocab_size).to(self.head.weight.dtype), recurrent)
        B, T, H = h.shape
        if past is None:  # a fresh start: the conv sees zeros before the first position
            past = h.new_zeros(B, self.kernel_size - 1, H)
        h = torch.cat([past, h], dim=1)  # (B, k-1+T, H)
        past = h[:, h.shape[1] - (self.kernel_size - 1) :]  # (B, k-1, H) for the next piece
        if T == 1:  # one step: the conv is one matrix product over its k inputs (Conv1d is slow here)
            weight = self.conv.weight.reshape(H, -1)  # (H_out, H_in * k), matching (B, H_in, k) flattened
            c = F.linear(h.transpose(1, 2).reshape(B, -1), weight, self.conv.bias)[:, None]  # (B, 1, H)
        else:
            c = self.conv(h.transpose(1, 2)).transpose(1, 2)  # (B, T, H): t from t-k+1..t
        c = self.drop(c)
        c = self.drop(self.norm(c + self.residual(c)))
        a, cache = self.attention.local_causal(c, self.attention_window, cache)  # (B, T, H)
        return self.head(c + self.drop(a)), (recurrent, past, cache)  # (B, T, V)

    def _recur(self, x: Tensor, recurrent):
        """The LSTM over one-hot x (B, T, V); in training, its hidden-to-hidden weights dropped out
        (DropConnect, one mask per batch: regularizes the recurrence itself, as in AWD-LSTM)."""
        if not (self.training and self.weight_dropout > 0):
            return self.lstm(x, recurrent)
        weights = {
            name: F.dropout(p, self.weight_dropout) if name.startswith("weight_hh") else p
            for name, p in self.lstm.named_parameters()
        }
        return functional_call(self.lstm, weights, (x, recurrent))


class GRULM(CausalNet):
    """One-hot -> multi-layer GRU -> linear at every position."""

    def __init__(
        self, vocab_size: int, hidden_size: int = 256, num_layers: int = 2, dropout: float = 0.2
    ) -> None:
        super().__init__()
        for key, value in (
            ("vocab_size", vocab_size),
            ("model.net.hidden_size", hidden_size),
            ("model.net.num_layers", num_layers),
        ):
            check_positive_int(key, value)
        check_dropout(dropout)
        self.vocab_size = vocab_size
        self.gru = nn.GRU(
            vocab_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def advance(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Ids (B, T) after GRU state (layers, B, H) (None: a fresh start) -> logits (B, T, V), state."""
        h, state = self.gru(F.one_hot(x.long(), self.vocab_size).to(self.head.weight.dtype), state)
        return self.head(self.drop(h)), state
