"""A decoder-only causal Transformer: pre-LayerNorm blocks with rotary attention, a prediction at
every position, stepped as every causal net is (`step(ids, state, context) -> (logits, state)`:
src/models/nets/stepping.py), its state a key/value cache per block.

Each input is its symbol's embedding plus the same per-step inputs the recurrent nets read, through the
same code (src/models/nets/step_inputs.py): embeddings of where the step it predicts falls in its bar
and of the song's mode, and with `bars_back` the symbols that many bars before that step at the same
place in the bar (Magenta's look-back); with `bars_ahead`, that many bars after it. Those are read by
place from a memory of the inputs read so far (src/models/nets/bar_memory.py), so they work in any
input order: one not read yet is "none". Left to right, nothing ahead has been read; filling a gap, the
part after it has (src/models/modules/fill_order.py), so the gap's steps see the bars that follow them
as directly as the bars before. `copy` is the recurrent nets' copy path: a learned gain on their logits,
and per distance an input flag saying whether the input's own symbol equals the one that many bars from
it (is the song repeating that bar right now?). `register` adds to each pitch's logit a learned cost for
widening the song's range so far (src/models/nets/register.py).

Two more inputs serve infilling: `positions`, the steps the rotary embeddings turn each input by and
the look-back counts in (by default its place in the sequence), and `roles`, an embedding saying
whether an input is read left to right (0), belongs to the part after a gap (1) or fills the gap (2).
`MARKER` (= the vocabulary size) is an input id of the model's own: it stands where the gap's last step
would be and is never predicted.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from src.checks import boolean, check, integer, is_integer, number
from src.errors import UserError
from src.models.nets.attention import KVCache, MultiHeadSelfAttention, check_heads
from src.models.nets.bar_memory import Memory, looked_back, remember, repeating
from src.models.nets.register import RangeCost, next_range, song_range
from src.models.nets.step_inputs import ContextInputs, bar_fields, known_context, lookback_bars, summed
from src.models.nets.stepping import CausalNet

ROLES = ("left", "after", "fill")  # role ids 0, 1, 2
# key/value caches, inputs seen, the look-back memory, and the song's (lowest, highest) pitch after a
# left-to-right read (None otherwise): the range cost's O(B) update while sampling
TransformerState = tuple[list[KVCache], int, Memory, tuple[Tensor, Tensor] | None]


class Block(nn.Module):
    """Pre-LayerNorm: h + attention(norm(h)), then h + feed-forward(norm(h))."""

    def __init__(self, d_model: int, heads: int, ff_size: int, dropout: float,
                 kv_heads: int | None = None) -> None:
        super().__init__()
        self.attention_norm = nn.LayerNorm(d_model)
        # no dropout on the attention weights: it takes scaled_dot_product_attention off its fused
        # kernel on the CPU (training steps ran 1.7x as long)
        self.attention = MultiHeadSelfAttention(d_model, heads, rotary=True, kv_heads=kv_heads)
        self.ff_norm = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, ff_size), nn.GELU(), nn.Linear(ff_size, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor, window: int, cache: KVCache,
                positions: Tensor | None) -> tuple[Tensor, KVCache]:
        a, cache = self.attention.local_causal(self.attention_norm(h), window, cache, positions)
        h = h + self.drop(a)
        return h + self.drop(self.ff(self.ff_norm(h))), cache  # (B, T, d)


class TransformerLM(CausalNet):
    """Embeddings (symbol + meter + mode + role + symbols bars back) -> `num_layers` pre-LN blocks
    attending over the last `attention_window` inputs -> LayerNorm -> linear (+ copy gains), at every
    position."""

    fills_gaps = True  # roles, positions and MARKER let it read a gap's two sides

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 256,
        num_layers: int = 4,
        heads: int = 4,
        kv_heads: int | None = None,
        ff_size: int = 1024,
        dropout: float = 0.1,
        attention_window: int = 512,
        meter: bool = True,
        mode: bool = True,
        max_bar: int = 48,
        bars_back: bool | list[int] = False,
        bars_ahead: bool | list[int] = False,
        copy: bool = False,
        register: bool = False,
        styles: int = 0,
        form: bool = False,
        span: bool = False,
    ) -> None:
        super().__init__()
        for key, value in (("vocab_size", vocab_size), ("model.net.d_model", d_model),
                           ("model.net.num_layers", num_layers), ("model.net.heads", heads),
                           ("model.net.ff_size", ff_size), ("model.net.attention_window", attention_window)):
            integer(key, value, 1)
        number("model.net.dropout", dropout, ge=0, lt=1)
        check_heads(d_model, heads, width="model.net.d_model")
        kv_heads = heads if kv_heads is None else kv_heads
        check("model.net.kv_heads", kv_heads, is_integer(kv_heads) and kv_heads > 0 and heads % kv_heads == 0,
              f"null (= heads) or a divisor of model.net.heads={heads}: "
              f"{', '.join(str(d) for d in range(1, heads + 1) if heads % d == 0)}")
        self.vocab_size, self.attention_window = vocab_size, attention_window
        self.marker = vocab_size  # MARKER: an input id of the model's own (see the module docstring)
        self.symbols = nn.Embedding(vocab_size + 1, d_model)
        self.inputs = ContextInputs(d_model, meter, mode, max_bar, styles, form, span)
        self.roles = nn.Embedding(len(ROLES), d_model)
        self.drop = nn.Dropout(dropout)
        # bar distances, those ahead negative: k bars back reads the step k bars before, -k the one after
        ahead = tuple(-k for k in lookback_bars(bars_ahead, "model.net.bars_ahead"))
        self.distances = lookback_bars(bars_back, "model.net.bars_back") + ahead
        if self.distances and not meter:
            raise UserError("model.net.bars_back and bars_ahead need model.net.meter=true (they read the "
                            "bar length)")
        boolean("model.net.register", register)
        check("model.net.copy", copy, isinstance(copy, bool) and (not copy or bool(self.distances)),
              "false, or true with model.net.bars_back or bars_ahead (the bar distances it reads)")
        # the symbol each distance looks back to (V: none), one table per distance, summed into the input
        tables = len(self.distances) * (vocab_size + 1)
        self.recalled = nn.Embedding(tables, d_model) if self.distances else None
        # distance k's table starts at row k * (V + 1): fixed, so made once
        self.register_buffer("table_starts", torch.arange(len(self.distances)) * (vocab_size + 1),
                             persistent=False)
        self.blocks = nn.ModuleList(Block(d_model, heads, ff_size, dropout, kv_heads)
                                    for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        # the copy path, as the recurrent nets have it: a gain per distance on the looked-back symbol, and
        # an embedding per (distance, is the input repeating it now), summed into the input
        self.copy_gain = nn.Linear(d_model, len(self.distances)) if copy else None
        self.repeating = nn.Embedding(2 * len(self.distances), d_model) if copy else None
        # `register`: a learned cost for widening the song's range so far (src/models/nets/register.py)
        self.range_cost = RangeCost(vocab_size) if register else None
        self.apply(_init_weights)
        for block in self.blocks:  # GPT-2: residual outputs scaled down with depth
            for layer in (block.attention.proj, block.ff[2]):
                nn.init.normal_(layer.weight, std=0.02 / math.sqrt(2 * num_layers))

    def start_state(self, history: Tensor) -> None:
        return None  # its look-back reads only what it has read: a fresh start

    def step(self, x: Tensor, state: TransformerState | None = None, context: Tensor | None = None,
                positions: Tensor | None = None,
                roles: Tensor | None = None) -> tuple[Tensor, TransformerState]:
        """Ids (B, T) (MARKER allowed) after `state` (None: a fresh start), their context (B, T, WIDTH),
        rotary positions ((T,) or (B, T); default: their places in the sequence) and roles (B, T)
        (default: all left to right) -> logits (B, T, V) and the state after them."""
        fresh = ([None] * len(self.blocks), 0, None, None)
        caches, seen, memory, range_ = state if state is not None else fresh
        left_to_right = positions is None and (state is None or range_ is not None)  # so far and now
        B, T = x.shape
        h = self.symbols(x.long()) + summed(self.inputs.embeddings(context, x.shape))  # (B, T, d)
        if roles is not None:
            h = h + self.roles(roles.long())
        else:
            h = h + self.roles.weight[0]  # every input read left to right
        if positions is None:
            positions = torch.arange(seen, seen + T, device=x.device)  # (T,)
        looked = None
        places = positions.expand(B, T)
        if self.distances or self.range_cost is not None:
            memory = remember(memory, x, places, seen)
        if self.distances:
            bars = bar_fields(known_context(context, x.shape, x.device), self.inputs.max_bar)[1]  # (B, T)
            # from the predicted step (K ids) and, for the repeating flags, from the input's own place
            ahead = (1, 0) if self.repeating is not None else (1,)
            looked = looked_back(memory, places, bars, self.distances, seen, self.vocab_size, ahead)
            looked, own = looked[..., :len(self.distances)], looked[..., len(self.distances):]  # (B, T, K)
            h = h + self.recalled(looked + self.table_starts).sum(dim=2)  # (B, T, d)
            if self.repeating is not None:  # the input's own symbol against its own, k bars away
                flags = repeating(own, x, self.vocab_size).long()  # (B, T, K)
                h = h + self.repeating(flags + 2 * torch.arange(len(self.distances), device=x.device)).sum(2)
        h = self.drop(h)
        new_caches = []
        for block, cache in zip(self.blocks, caches, strict=True):
            h, cache = block(h, self.attention_window, cache, positions)
            new_caches.append(cache)
        looked = looked if self.copy_gain is not None else None
        logits = self._logits(self.norm(h), looked)  # (B, T, V)
        range_ = None
        if self.range_cost is not None:
            if left_to_right and T == 1 and state is not None:  # a sampled step: update, not re-read
                range_ = next_range(state[3], x[:, 0].long(), self.vocab_size)
                lowest, highest = range_[0][:, None], range_[1][:, None]  # (B, 1) each
            else:
                lowest, highest = song_range(memory, places, seen, self.vocab_size)  # (B, T) each
                range_ = (lowest[:, -1], highest[:, -1]) if left_to_right else None
            logits = self.range_cost(logits, lowest, highest)
        return logits, (new_caches, seen + T, memory, range_)


def _init_weights(module: nn.Module) -> None:
    """GPT-2's initialisation: normal(0, 0.02) weights, zero biases; LayerNorm left as built."""
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
