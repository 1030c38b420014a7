"""What a net reads at each step besides its symbol, written once for the recurrent nets and the
Transformer: where the step it predicts falls in its bar, the song's mode, style and tune type, and where
the step falls in the song's form (`ContextInputs`), the symbols whole bars away (the look-back:
src/models/nets/bar_memory.py), and the copy path's flags and gains.

`context` (B, T, WIDTH) integer: for each input step, the *predicted* step's position in its bar, its
bar's length (0: unknown), its song's mode (0 major, 1 minor), style and tune type, and its place in the
song's form, as the data module and the sampler give them (src/data/plans.py). A recurrent net sets these
embeddings beside its symbol's one-hot (`StepInputs`), the Transformer adds them to its symbol's
embedding. With a look-back (bar distances, e.g. [1, 2] as Magenta's lookback RNN reads them, or [1, 2,
4, 8] for folk phrases of two and four bars), the symbols that many bars before the predicted step, at
the same bar position, are inputs too; with `copy`, each input also says, per distance, whether its own
symbol equals the one that many bars from it (is the song repeating that bar right now?), and the net
adds a learned gain to the logit of each looked-back symbol: copying a bar needs no learned identity map
from input one-hots to output logits (see `copy_logits`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from src.checks import boolean, check, integer, is_integer
from src.data.labels import TUNE_TYPES
from src.data.plans import MAX_PART_BARS, MAX_PARTS, MAX_SPAN, WIDTH
from src.models.nets.bar_memory import Memory, looked_back, remember, repeating

MAX_LOOKBACK = 16  # bars
# the look-back's reading of a recurrent net: the memory of its inputs and how many it has read
Reading = tuple[Memory, int]


def lookback_bars(value: object, key: str = "model.net.lookback") -> tuple[int, ...]:
    """`model.net.lookback` (or the setting `key`): false or [] (none), true ([1, 2]), or a list of bar
    distances 1..16."""
    if value is False or value is None:
        return ()
    if value is True:
        return (1, 2)
    distances = isinstance(value, list | tuple) and all(is_integer(b) and 1 <= b <= MAX_LOOKBACK
                                                        for b in value)
    check(key, value, distances, f"false, true (= [1, 2]) or a list of bar distances 1..{MAX_LOOKBACK}, "
          "e.g. [1, 2, 4, 8]")
    return tuple(sorted(set(value)))


def history_length(lookback: object, max_bar: int) -> int:
    """Ids before a piece that `lookback` reads: its farthest distance times the longest bar."""
    bars = lookback_bars(lookback)
    return max(bars) * max_bar if bars else 0


class ContextInputs(nn.Module):
    """Context (B, T, WIDTH) -> embeddings (B, T, dim) of the predicted step's bar position and bar length
    (`meter`), of the song's mode (`mode`), of its style and tune type (`styles` > 0: the style table's
    size), of its place in the song's form (`form`: part, bar of the part, the part's bars, repeat) and
    of its span in semitones (`span`), the columns src/data/plans.py defines."""

    def __init__(self, dim: int, meter: bool, mode: bool, max_bar: int, styles: int = 0,
                 form: bool = False, span: bool = False) -> None:
        super().__init__()
        integer("model.net.max_bar", max_bar, 1, 255, "(the longest bar in steps the position table holds)")
        integer("model.net.styles", styles, 0, 255, "(0: no style or tune type input; else the style table's "
                "size, one more than the styles trained on)")
        boolean("model.net.meter", meter)
        boolean("model.net.mode", mode)
        boolean("model.net.form", form)
        boolean("model.net.span", span)
        self.meter, self.mode, self.max_bar, self.styles, self.form = meter, mode, max_bar, styles, form
        self.span = span
        if meter:  # position 0..max_bar-1; bar length 0 (unknown)..max_bar
            self.position = nn.Embedding(max_bar, dim)
            self.bar_length = nn.Embedding(max_bar + 1, dim)
        if mode:
            self.song_mode = nn.Embedding(2, dim)
        if styles:
            self.style = nn.Embedding(styles, dim)
            self.tune_type = nn.Embedding(len(TUNE_TYPES), dim)
        if form:  # part 0..7, bar of the part 0..63, the part's bars 0..63, repeat/last flags 0..3
            self.part = nn.Embedding(MAX_PARTS, dim)
            self.part_bar = nn.Embedding(MAX_PART_BARS + 1, dim)
            self.part_bars = nn.Embedding(MAX_PART_BARS + 1, dim)
            self.repeat = nn.Embedding(4, dim)
        if span:  # the song's span in semitones: 0 unknown, 1 + 0..MAX_SPAN
            self.song_span = nn.Embedding(MAX_SPAN + 2, dim)

    @property
    def uses_context(self) -> bool:
        return self.meter or self.mode or bool(self.styles) or self.form or self.span

    @property
    def count(self) -> int:
        """How many embeddings `embeddings` returns."""
        return 2 * self.meter + self.mode + 2 * bool(self.styles) + 4 * self.form + self.span

    def embeddings(self, context: Tensor | None, shape: torch.Size) -> list[Tensor]:
        """The embeddings (B, T, dim) of `context` (None: every field "unknown") for ids of `shape`:
        position and bar length with `meter`, mode with `mode`, style and tune type with `styles`, the
        form plan's four with `form`, the song's span with `span`."""
        if not self.count:
            return []
        context = known_context(context, shape, self._device())
        out = []
        if self.meter:
            position, bar, _ = bar_fields(context, self.max_bar)
            out += [self.position(position), self.bar_length(bar)]
        if self.mode:
            out.append(self.song_mode(context[..., 2].clamp(0, 1)))
        if self.styles:  # a style the table does not hold reads as unknown
            style = context[..., 3]
            out += [self.style(torch.where(style < self.styles, style, 0)),
                    self.tune_type(context[..., 4].clamp(0, len(TUNE_TYPES) - 1))]
        if self.form:
            out += [self.part(context[..., 5].clamp(0, MAX_PARTS - 1)),
                    self.part_bar(context[..., 6].clamp(0, MAX_PART_BARS)),
                    self.part_bars(context[..., 7].clamp(0, MAX_PART_BARS)),
                    self.repeat(context[..., 8].clamp(0, 3))]
        if self.span:
            out.append(self.song_span(context[..., 9].clamp(0, MAX_SPAN + 1)))
        return out

    def _device(self) -> torch.device:
        return next(self.parameters()).device


class StepInputs(ContextInputs):
    """A recurrent net's inputs: ids (B, T) and context (B, T, WIDTH) -> features (B, T, size), the one-hot
    of each symbol beside its meter and mode embeddings (16 wide), the one-hots of the looked-back
    symbols and the copy flags."""

    def __init__(self, vocab_size: int, meter: bool = False, mode: bool = False,
                 lookback: bool | list[int] = False, max_bar: int = 48, copy: bool = False,
                 dim: int = 16, styles: int = 0, form: bool = False, span: bool = False) -> None:
        super().__init__(dim, bool(meter), bool(mode), max_bar, styles, form, span)
        self.vocab_size, self.lookback = vocab_size, lookback_bars(lookback)
        copies = isinstance(copy, bool) and (not copy or bool(self.lookback))
        self.copy = check("model.net.copy", copy, copies, "false, or true with a look-back "
                          "(model.net.lookback=true or a list of bar distances)")
        self.size = vocab_size + dim * self.count
        self.size += len(self.lookback) * (vocab_size + 1)  # one-hot of each looked-back symbol, or "none"
        if self.copy:
            self.size += len(self.lookback)  # does the input equal its symbol that many bars back?

    @property
    def uses_context(self) -> bool:
        return super().uses_context or bool(self.lookback)

    @property
    def history_length(self) -> int:
        """Input ids the look-back needs from before a training window (its farthest, in longest bars)."""
        return history_length(self.lookback, self.max_bar)

    def start(self, history: Tensor) -> Reading:
        """The look-back's reading of a fresh start that sees `history` (B, H) before the first input."""
        B, H = history.shape
        return remember(None, history, torch.arange(H, device=history.device).expand(B, H), 0), H

    def forward(self, x: Tensor, context: Tensor | None, reading: Reading | None,
                dtype: torch.dtype) -> tuple[Tensor, Reading | None, Tensor | None]:
        """Features (B, T, size) of ids x (B, T), the look-back's reading after x (None: none kept), and
        with `copy` the ids (B, T, K) looked back to for each predicted step (V: none)."""
        features = [F.one_hot(x.long(), self.vocab_size).to(dtype)]
        if not self.uses_context:
            return features[0], None, None
        context = known_context(context, x.shape, x.device)
        features += [e.to(dtype) for e in self.embeddings(context, x.shape)]
        looked = None
        if self.lookback:  # within the song: these nets were trained with the look-back stopping at `/`
            memory, seen = reading if reading is not None else (None, 0)
            B, T = x.shape
            places = torch.arange(seen, seen + T, device=x.device).expand(B, T)
            memory = remember(memory, x, places, seen)
            K, bars = len(self.lookback), bar_fields(context, self.max_bar)[1]
            found = looked_back(memory, places, bars, self.lookback, seen, self.vocab_size,
                                (1, 0) if self.copy else (1,), within_song=True)  # (B, T, K or 2K)
            looked = found[..., :K]
            features += list(F.one_hot(looked, self.vocab_size + 1).to(dtype).unbind(dim=-2))
            if self.copy:  # the input's own symbol bars_back bars earlier (its bar: the predicted step's)
                features.append(repeating(found[..., K:], x, self.vocab_size).to(dtype))
            reading = (memory, seen + T)
        return torch.cat(features, dim=-1), reading, looked if self.copy else None


def known_context(context: Tensor | None, shape: torch.Size, device: torch.device) -> Tensor:
    """`context` as int64 (B, T, WIDTH); None (no meter known, e.g. a bare forward): every field unknown;
    fewer columns (a meter plan only): the rest unknown."""
    if context is None:
        return torch.zeros(*shape, WIDTH, dtype=torch.long, device=device)
    context = context.long()
    missing = WIDTH - context.shape[-1]
    return torch.nn.functional.pad(context, (0, missing)) if missing > 0 else context


def summed(embeddings: list[Tensor]) -> Tensor | float:
    """The embeddings added up in order (the Transformer's inputs), or 0.0 when there are none."""
    if not embeddings:
        return 0.0
    total = embeddings[0]
    for embedding in embeddings[1:]:
        total = total + embedding
    return total


def bar_fields(context: Tensor, max_bar: int) -> tuple[Tensor, Tensor, Tensor]:
    """Position in bar and bar length (B, T) a `max_bar` table can read from int64 context (B, T, WIDTH),
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
