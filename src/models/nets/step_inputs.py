"""What a causal net reads at each step: the symbol, and optionally where the step it predicts falls.

`context` (B, T, 4) integer: for each input step, the *predicted* step's position in its bar, its bar's
length (0: unknown), its song's mode (0 major, 1 minor) and its bar's index in the song (0: the pickup), as
the data module and the sampler give them (src/data/meter.py). With `lookback` (bar distances, e.g. [1, 2]
as Magenta's lookback RNN reads them, or [1, 2, 4, 8] for folk phrases of two and four bars), the symbols
that many bars before the predicted step, at the same bar position, are inputs too. They are read from the
net's own input history (`history_length` ids before the current piece: the sampling state carries them, a
training window brings them from the data), so transposition needs nothing more; one that lies before the
song's opening `/` (or before the history) is read as "none". With `copy`, each input also says, per
distance, whether its own symbol equals the one that many bars before it (is the song repeating that bar
right now?), and the net adds a learned gain to the logit of each looked-back symbol: copying a bar needs no
learned identity map from input one-hots to output logits (see `copy_logits`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from src.data.vocab import BOUNDARY_ID
from src.errors import UserError

CONTEXT_WIDTH = 4  # position, bar length, mode, bar index
MAX_LOOKBACK = 16  # bars


def lookback_bars(value: object, key: str = "model.net.lookback") -> tuple[int, ...]:
    """`model.net.lookback` (or the setting `key`): false or [] (none), true ([1, 2]), or a list of bar
    distances 1..16."""
    if value is False or value is None:
        return ()
    if value is True:
        return (1, 2)
    bars = list(value) if isinstance(value, list | tuple) else None
    if bars is None or not all(isinstance(b, int) and not isinstance(b, bool) and 1 <= b <= MAX_LOOKBACK
                               for b in bars):
        raise UserError(f"{key}={value!r} is not accepted; accepted: false, true (= [1, 2]) or "
                        f"a list of bar distances 1..{MAX_LOOKBACK}, e.g. [1, 2, 4, 8]")
    return tuple(sorted(set(bars)))


def check_max_bar(max_bar: object) -> None:
    """`model.net.max_bar`: the longest bar (steps) a position table holds, 1..255."""
    if isinstance(max_bar, bool) or not isinstance(max_bar, int) or not 1 <= max_bar <= 255:
        raise UserError(f"model.net.max_bar={max_bar!r} is not accepted; accepted: an integer 1..255 "
                        "(the longest bar in steps the position table holds)")


def history_length(lookback: object, max_bar: int) -> int:
    """Ids before a piece that `lookback` reads: its farthest distance times the longest bar."""
    bars = lookback_bars(lookback)
    return max(bars) * max_bar if bars else 0


class StepInputs(nn.Module):
    """Ids (B, T) and context (B, T, 4) -> input features (B, T, size)."""

    def __init__(self, vocab_size: int, meter: bool = False, mode: bool = False,
                 lookback: bool | list[int] = False, max_bar: int = 48, copy: bool = False,
                 dim: int = 16) -> None:
        super().__init__()
        check_max_bar(max_bar)
        self.vocab_size, self.max_bar = vocab_size, max_bar
        self.meter, self.mode, self.lookback = bool(meter), bool(mode), lookback_bars(lookback)
        if not isinstance(copy, bool) or (copy and not self.lookback):
            raise UserError(f"model.net.copy={copy!r} is not accepted; accepted: false, or true with a "
                            "look-back (model.net.lookback=true or a list of bar distances)")
        self.copy = copy
        self.size = vocab_size
        if self.meter:  # position 0..max_bar-1; bar length 0 (unknown) ..max_bar
            self.position = nn.Embedding(max_bar, dim)
            self.bar_length = nn.Embedding(max_bar + 1, dim)
            self.size += 2 * dim
        if self.mode:
            self.song_mode = nn.Embedding(2, dim)
            self.size += dim
        self.size += len(self.lookback) * (vocab_size + 1)  # one-hot of each looked-back symbol, or "none"
        if self.copy:
            self.size += len(self.lookback)  # does the input equal its symbol that many bars back?

    @property
    def uses_context(self) -> bool:
        return self.meter or self.mode or bool(self.lookback)

    @property
    def history_length(self) -> int:
        """Input ids the look-back needs from before the current piece (its farthest, in longest bars)."""
        return history_length(self.lookback, self.max_bar)

    def forward(self, x: Tensor, context: Tensor | None, history: Tensor | None,
                dtype: torch.dtype) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """Features (B, T, size) of ids x (B, T), the input history after x (B, H) (None: none kept), and
        with `copy` the ids (B, T, K) looked back to for each predicted step (V: none)."""
        features = [F.one_hot(x.long(), self.vocab_size).to(dtype)]
        if not self.uses_context:
            return features[0], None, None
        if context is None:  # no meter known (e.g. a bare forward): every field "unknown"
            context = x.new_zeros(*x.shape, CONTEXT_WIDTH)
        context = context.long()
        position, bar, _ = bar_fields(context, self.max_bar)
        if self.meter:
            features += [self.position(position).to(dtype), self.bar_length(bar).to(dtype)]
        if self.mode:
            features.append(self.song_mode(context[..., 2].clamp(0, 1)).to(dtype))
        looked = None
        if self.lookback:
            full, history = self._with_history(x, history)
            # boundaries[:, k]: '/' among full[:, :k] (B, H+T+1), shared by every distance
            boundaries = F.pad((full == BOUNDARY_ID).long().cumsum(dim=1), (1, 0))
            looked = torch.stack([self._looked_back(full, boundaries, bar, bars_back)
                                  for bars_back in self.lookback], dim=-1)  # (B, T, K)
            features += list(F.one_hot(looked, self.vocab_size + 1).to(dtype).unbind(dim=-2))
            if self.copy:  # the input's own symbol bars_back bars earlier (its bar: the predicted step's)
                source = torch.stack([self._looked_back(full, boundaries, bar, bars_back, ahead=0)
                                      for bars_back in self.lookback], dim=-1)  # (B, T, K)
                features.append((source == x.long()[..., None]).to(dtype))  # "none" (V) never matches
        return torch.cat(features, dim=-1), history, looked if self.copy else None

    def _with_history(self, x: Tensor, history: Tensor | None) -> tuple[Tensor, Tensor]:
        """(history + x (B, H + T), the last H ids); a fresh start's history is all `/`."""
        if history is None:
            history = torch.full((x.shape[0], self.history_length), BOUNDARY_ID, dtype=torch.long,
                                 device=x.device)
        full = torch.cat([history.long(), x.long()], dim=1)
        return full, full[:, full.shape[1] - self.history_length:]

    def _looked_back(self, full: Tensor, boundaries: Tensor, bar: Tensor, bars_back: int,
                     ahead: int = 1) -> Tensor:
        """Ids (B, T) of the symbol `bars_back` bars before each predicted step (V: none); with
        `ahead=0`, before each input step instead."""
        B, T = bar.shape
        H = full.shape[1] - T
        current = H + torch.arange(T, device=full.device)  # (T,) index in `full` of each input
        source = current + ahead - bars_back * bar  # (B, T): that step, bars_back bars earlier
        valid = (bar > 0) & (source >= 0)
        source = torch.minimum(source.clamp(min=0), current)  # in range; invalid ones are masked below
        # a '/' anywhere in [source, current] means the symbol is not of this song: "none"
        crossed = boundaries.gather(1, current.expand(B, T) + 1) - boundaries.gather(1, source)
        symbol = full.gather(1, source)
        return torch.where(valid & (crossed == 0), symbol, self.vocab_size)  # V = none


def bar_fields(context: Tensor, max_bar: int) -> tuple[Tensor, Tensor, Tensor]:
    """Position in bar and bar length (B, T) a `max_bar` table can read from int64 context (B, T, 4),
    and where the meter is known. A bar longer than the table (a song written without bar lines: essen
    has bars of 244 steps) reads as an unknown meter: bar length 0, position 0, no look-back."""
    known = context[..., 1] <= max_bar
    bar = torch.where(known, context[..., 1], 0)
    position = torch.where(known, context[..., 0], 0).clamp(0, max_bar - 1)
    return position, bar, known


def copy_logits(logits: Tensor, gains: Tensor, looked: Tensor) -> Tensor:
    """Logits (B, T, V) plus gains (B, T, K) on the looked-back ids (B, T, K) (V: none, gets nothing)."""
    V = logits.shape[-1]
    known = looked < V
    return logits.scatter_add(-1, torch.where(known, looked, 0), gains * known.to(gains.dtype))
