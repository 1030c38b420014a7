"""The recurrent causal nets: a prediction at every position, stepped with carried state
(src/models/nets/stepping.py). With `meter`, `mode` or `lookback` on, each step also reads where the step it
predicts falls in its bar (`context` (B, T, WIDTH): src/models/nets/step_inputs.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from src.checks import integer, number
from src.models.nets.attention import KVCache, MultiHeadSelfAttention, check_heads
from src.models.nets.step_inputs import Reading, StepInputs
from src.models.nets.stepping import CausalNet, take_rows

# (LSTM (h, c), the last kernel_size - 1 LSTM outputs (B, k-1, H), attention key/value cache,
#  the look-back's reading: the memory of the inputs and how many were read, or None)
LSTMAttentionState = tuple[tuple[Tensor, Tensor], Tensor, KVCache, Reading | None]
# (GRU state (layers, B, H), the look-back's reading or None)
GRUState = tuple[Tensor, Reading | None]


class RecurrentLM(CausalNet):
    """A recurrent causal net: its per-step inputs beside the one-hot (`StepInputs`), whose look-back
    reads the ids before a training window (`history_length`) and carries its reading in the state."""

    inputs: StepInputs

    @property
    def history_length(self) -> int:
        return self.inputs.history_length

    def take_rows(self, state, index: Tensor):
        """As every causal net's, but torch's recurrent state (layers, B, H) has the batch second."""
        return take_rows(state[0], index, dim=1), *take_rows(state[1:], index)


class LSTMAttentionLM(RecurrentLM):
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
        meter: bool = False,
        mode: bool = False,
        lookback: bool | list[int] = False,
        max_bar: int = 48,
        copy: bool = False,
        styles: int = 0,
        form: bool = False,
        span: bool = False,
    ) -> None:
        super().__init__()
        for key, value in (("vocab_size", vocab_size), ("model.net.hidden_size", hidden_size),
                           ("model.net.num_layers", num_layers), ("model.net.heads", heads),
                           ("model.net.kernel_size", kernel_size),
                           ("model.net.attention_window", attention_window)):
            integer(key, value, 1)
        number("model.net.dropout", dropout, ge=0, lt=1)
        check_heads(hidden_size, heads, width="model.net.hidden_size")
        self.vocab_size, self.kernel_size, self.attention_window = vocab_size, kernel_size, attention_window
        self.inputs = StepInputs(vocab_size, meter, mode, lookback, max_bar, copy, styles=styles, form=form,
                                 span=span)
        self.lstm = nn.LSTM(
            self.inputs.size,
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
        self.copy_gain = nn.Linear(hidden_size, len(self.inputs.lookback)) if copy else None

    def start_state(self, history: Tensor) -> LSTMAttentionState:
        return None, None, None, self.inputs.start(history)

    def step(
        self, x: Tensor, state: LSTMAttentionState | None = None, context: Tensor | None = None
    ) -> tuple[Tensor, LSTMAttentionState]:
        """Ids (B, T) following `state` (None: a fresh start) -> logits (B, T, V), the state after."""
        recurrent, past, cache, reading = state if state is not None else (None, None, None, None)
        features, reading, looked = self.inputs(x, context, reading, self.head.weight.dtype)  # (B, T, F)
        h, recurrent = self.lstm(features, recurrent)
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
        return self._logits(c + self.drop(a), looked), (recurrent, past, cache, reading)  # (B, T, V)


class GRULM(RecurrentLM):
    """One-hot -> multi-layer GRU -> linear at every position."""

    def __init__(
        self, vocab_size: int, hidden_size: int = 256, num_layers: int = 2, dropout: float = 0.2,
        meter: bool = False, mode: bool = False, lookback: bool | list[int] = False, max_bar: int = 48,
        copy: bool = False, styles: int = 0, form: bool = False, span: bool = False,
    ) -> None:
        super().__init__()
        for key, value in (("vocab_size", vocab_size), ("model.net.hidden_size", hidden_size),
                           ("model.net.num_layers", num_layers)):
            integer(key, value, 1)
        number("model.net.dropout", dropout, ge=0, lt=1)
        self.vocab_size = vocab_size
        self.inputs = StepInputs(vocab_size, meter, mode, lookback, max_bar, copy, styles=styles, form=form,
                                 span=span)
        self.gru = nn.GRU(
            self.inputs.size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)
        self.copy_gain = nn.Linear(hidden_size, len(self.inputs.lookback)) if copy else None

    def start_state(self, history: Tensor) -> GRUState:
        return None, self.inputs.start(history)

    def step(self, x: Tensor, state: GRUState | None = None,
                context: Tensor | None = None) -> tuple[Tensor, GRUState]:
        """Ids (B, T) after `state` (None: a fresh start) -> logits (B, T, V), the state after."""
        recurrent, reading = state if state is not None else (None, None)
        features, reading, looked = self.inputs(x, context, reading, self.head.weight.dtype)  # (B, T, F)
        h, recurrent = self.gru(features, recurrent)
        return self._logits(self.drop(h), looked), (recurrent, reading)  # (B, T, V)
