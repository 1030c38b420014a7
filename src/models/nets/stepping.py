"""The one way to step a next-symbol net: `step(ids, state, context) -> (logits, state)`.

Causal nets (`CausalNet`: the LSTM-attention LM, the GRU LM, the Transformer) predict at every position
and carry their state, so running a sequence in pieces gives the same logits as running it whole and
sampling costs one step per symbol. Window nets (`WindowNet`: the reference LSTM-attention, the GRU,
the n-gram) predict the symbol after a window of `window` ids; their state is that rolling window. The
sampling loop (src/models/generation/loop.py) drives both alike.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from src.data.vocab import BOUNDARY_ID
from src.models.nets.step_inputs import ContextInputs, copy_logits


class WindowNet(nn.Module):
    """Ids (B, L) -> logits (B, V) of the symbol after them; stepped over a rolling window."""

    drops_finished_rows = True  # its state is a tensor of rows: a finished melody leaves the batch
    window: int | None = None  # ids it reads (the data's sequence_length; its module sets it)
    reads_context, max_bar = False, None  # it reads no meter
    reads_plan = False  # nor a style, tune type or form

    def step(self, ids: Tensor, state: Tensor | None = None,
             context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Ids (B, T) after the window `state` (B, L) (None: a fresh start, `/` before the ids) ->
        logits (B, 1, V) of the symbol after them and the window after them. A window net reads no
        meter: `context` is ignored."""
        if state is None:
            if self.window is None:
                raise ValueError(f"{type(self).__name__}.window is not set: the ids it reads per step")
            state = torch.full((ids.shape[0], self.window), BOUNDARY_ID, dtype=torch.long, device=ids.device)
        window = torch.cat([state, ids.long()], dim=1)[:, -state.shape[1]:]  # (B, L)
        return self(window)[:, None], window


class CausalNet(nn.Module):
    """Ids (B, T) -> logits (B, T, V), position t from ids <= t; `step` carries the state."""

    drops_finished_rows = False  # every row steps until all have ended: the caches keep their rows
    history_length = 0  # ids before a training window that its look-back reads (a recurrent net's)
    fills_gaps = False  # it reads a gap's two sides (src/models/generation/infill.py): the Transformer
    inputs: ContextInputs  # what it reads of each step's meter context (src/models/nets/step_inputs.py)

    @property
    def reads_context(self) -> bool:
        return self.inputs.uses_context

    @property
    def reads_plan(self) -> bool:
        """Whether it reads a style and tune type, a form plan or a span (src/data/plans.py)."""
        return bool(self.inputs.styles) or self.inputs.form or self.inputs.span

    @property
    def reads_span(self) -> bool:
        """Whether it reads the song's span (src/models/generation/spans.py)."""
        return self.inputs.span

    @property
    def max_bar(self) -> int | None:
        """The longest bar (steps) its position table holds; None when it reads no meter."""
        return self.inputs.max_bar if self.inputs.meter else None
    head: nn.Linear
    copy_gain: nn.Linear | None  # with `copy`: a gain per look-back distance

    def forward(self, x: Tensor, context: Tensor | None = None, history: Tensor | None = None) -> Tensor:
        """Ids (B, T), any integer dtype, their context (B, T, WIDTH), and for a look-back the ids before
        them (B, H) -> logits (B, T, V), position t from ids <= t."""
        return self.step(x, None if history is None else self.start_state(history), context)[0]

    def start_state(self, history: Tensor):
        """The state of a fresh start whose look-back sees `history` (B, H) before the first input."""
        raise NotImplementedError

    def step(self, x: Tensor, state=None, context: Tensor | None = None) -> tuple[Tensor, object]:
        """Ids (B, T) after `state` (None: a fresh start) and their context -> logits (B, T, V) and the
        state after them."""
        raise NotImplementedError

    def take_rows(self, state, index: Tensor):
        """The state of rows `index` (b',) of its batch, repeats allowed (one melody drawn on several
        ways from here): a copy, so the rows step apart. Every tensor of a state is batch-first."""
        return take_rows(state, index)

    def _logits(self, out: Tensor, looked: Tensor | None) -> Tensor:
        """Output features (B, T, H) -> logits (B, T, V); with the copy path, plus each distance's gain
        on the symbol it looks back to (`looked` (B, T, K))."""
        logits = self.head(out)
        return logits if self.copy_gain is None else copy_logits(logits, self.copy_gain(out), looked)


def take_rows(state, index: Tensor, dim: int = 0):
    """Every tensor in a (nested tuple or list) state indexed by `index` along `dim`; counts and None as
    they are."""
    if isinstance(state, Tensor):
        return state.index_select(dim, index)
    if isinstance(state, tuple | list):
        return type(state)(take_rows(part, index, dim) for part in state)
    return state
