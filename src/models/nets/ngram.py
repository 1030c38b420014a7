"""The baseline: an interpolated Kneser-Ney n-gram over symbol ids, stored as sorted count tables."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from src.checks import integer, number
from src.models.nets.stepping import WindowNet

MAX_ORDER = 10

# Per order k (1 = unigram): the distinct k-grams and their counts, and the distinct contexts
# (the k-1 symbols before the target) with the counts' sum and how many symbols follow each.
TABLES = ("grams", "counts", "contexts", "totals", "types")


class NGramNet(WindowNet):
    """P(next | last order-1 symbols) by interpolated Kneser-Ney; `fit` fills the tables.

    Codes are base-V numbers, oldest symbol first: a k-gram `s_1 .. s_k` is `sum s_i V^(k-i)`, its
    context is `code // V` and the same k-gram without its oldest symbol is `code % V^(k-1)`.
    The highest order counts occurrences; lower orders count the distinct symbols seen before them
    (continuation counts); below the unigram is the uniform distribution over V.
    """


    def __init__(self, vocab_size: int, order: int = 5, discount: float = 0.75) -> None:
        super().__init__()
        integer("vocab_size", vocab_size, 1)
        limit = min(MAX_ORDER, int(63 / math.log2(vocab_size))) if vocab_size > 1 else MAX_ORDER
        integer("model.net.order", order, 1, limit,
                note=f"for {vocab_size} symbols (n-gram codes must fit in int64)")
        number("model.net.discount", discount, gt=0, lt=1)
        self.vocab_size, self.order, self.discount = vocab_size, order, float(discount)
        for k in range(1, order + 1):
            for name in TABLES:  # sizes are known only after `fit`; loading resizes them
                self.register_buffer(f"{name}_{k}", torch.zeros(0, dtype=torch.long))

    def table(self, name: str, k: int) -> Tensor:
        return getattr(self, f"{name}_{k}")

    @torch.no_grad()
    def fit(self, contexts: Tensor, targets: Tensor) -> None:
        """Replace the tables with counts of (contexts (N, order-1), targets (N,)) pairs."""
        V, n = self.vocab_size, self.order
        device = self.grams_1.device
        grams = encode(torch.cat([contexts.long(), targets.long()[:, None]], dim=1), V).to(device)  # (N,)
        grams, counts = torch.unique(grams, sorted=True, return_counts=True)  # (G_n,) each
        for k in range(n, 0, -1):
            if k < n:  # continuation counts: how many distinct (k+1)-grams end in this k-gram
                grams, counts = torch.unique(grams % V**k, sorted=True, return_counts=True)
            contexts_k, where, types = torch.unique_consecutive(
                grams // V, return_inverse=True, return_counts=True
            )  # (C_k,), (G_k,), (C_k,)
            totals = torch.zeros_like(contexts_k).index_add_(0, where, counts)  # (C_k,)
            values = {"grams": grams, "counts": counts, "contexts": contexts_k, "totals": totals,
                      "types": types}
            for name in TABLES:
                setattr(self, f"{name}_{k}", values[name].long())

    def probs(self, x: Tensor) -> Tensor:
        """Ids (B, L >= order-1) -> float64 next-symbol probabilities (B, V), each row summing to 1."""
        V, n, D = self.vocab_size, self.order, self.discount
        if x.shape[-1] < n - 1:
            raise ValueError(f"model.net.order={n} needs windows of at least {n - 1} symbols, "
                             f"got {x.shape[-1]}")
        x = x[:, x.shape[1] - (n - 1):].long().to(self.grams_1.device)  # (B, n-1)
        symbols = torch.arange(V, device=x.device)  # (V,)
        p = torch.full((x.shape[0], V), 1.0 / V, dtype=torch.float64, device=x.device)  # (B, V)
        for k in range(1, n + 1):
            if self.table("contexts", k).numel() == 0:  # not fitted: the uniform distribution
                continue
            context = encode(x[:, x.shape[1] - (k - 1):], V)  # (B,) the last k-1 symbols
            found, row = lookup(self.table("contexts", k), context)  # (B,) each
            total = self.table("totals", k)[row].double()  # (B,); garbage where not found
            types = self.table("types", k)[row].double()
            seen, at = lookup(self.table("grams", k), context[:, None] * V + symbols)  # (B, V) each
            count = torch.where(seen, self.table("counts", k)[at], 0).double()  # (B, V)
            higher = ((count - D).clamp(min=0) + D * types[:, None] * p) / total[:, None].clamp(min=1)
            p = torch.where(found[:, None], higher, p)  # an unseen context keeps the lower order
        return p

    def forward(self, x: Tensor) -> Tensor:
        """Ids (B, L >= order-1) -> logits (B, V): log-probabilities of the next symbol."""
        return self.probs(x).log().float()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        for k in range(1, self.order + 1):
            for name in TABLES:  # take the stored sizes, so that the copy that follows fits
                stored = state_dict.get(f"{prefix}{name}_{k}")
                if isinstance(stored, Tensor):
                    setattr(self, f"{name}_{k}", torch.zeros_like(stored, device=self.grams_1.device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def encode(symbols: Tensor, vocab_size: int) -> Tensor:
    """Ids (N, k) -> int64 base-V codes (N,), oldest symbol most significant (k = 0 gives 0)."""
    code = torch.zeros(symbols.shape[0], dtype=torch.long, device=symbols.device)
    for column in symbols.long().unbind(1):  # k <= MAX_ORDER columns, not a loop over the batch
        code = code * vocab_size + column
    return code


def lookup(table: Tensor, codes: Tensor) -> tuple[Tensor, Tensor]:
    """Positions of `codes` (any shape) in the sorted, non-empty 1-D `table`: (found, index in range)."""
    index = torch.searchsorted(table, codes).clamp(max=table.numel() - 1)
    return table[index] == codes, index
