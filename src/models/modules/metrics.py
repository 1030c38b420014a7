"""Next-symbol metrics of docs/design.md §5, accumulated as sums and counts over a whole epoch.

Each takes logits (N, V) or (B, L, V) and targets (N,) or (B, L); targets equal to IGNORE_ID
(padding after a song, in batches of whole songs) are skipped. A rate over an empty subset (a
split with no `_` targets, say) is nan rather than 0: there was nothing to be right or wrong about.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchmetrics import Metric, MetricCollection

from src.data.vocab import HOLD_ID, IGNORE_ID, REST_ID


class _MaskedAccuracy(Metric):
    """Share of hits over the targets a subclass selects; nan when none was selected."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("hits", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, logits: Tensor, target: Tensor) -> None:
        logits, target = _flatten(logits, target)
        hits, mask = self._hits_and_mask(logits.detach(), target)  # (N,) bool each
        self.hits += (hits & mask).sum()
        self.count += mask.sum()

    def compute(self) -> Tensor:
        return _rate(self.hits, self.count)

    def _hits_and_mask(self, logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError


class Accuracy(_MaskedAccuracy):
    """Argmax equals the target, over all targets."""

    def _hits_and_mask(self, logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        return logits.argmax(-1) == target, torch.ones_like(target, dtype=torch.bool)


class OnsetAccuracy(_MaskedAccuracy):
    """Argmax equals the target, where the target is not `_` (a note, rest or `/`)."""

    def _hits_and_mask(self, logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        return logits.argmax(-1) == target, target != HOLD_ID


class PitchAccuracy(_MaskedAccuracy):
    """Where the target is a note or rest: the best symbol other than `_` equals the target."""

    def _hits_and_mask(self, logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        no_hold = logits.clone()
        no_hold[:, HOLD_ID] = -math.inf  # (N, V): `/` stays a possible (wrong) answer
        return no_hold.argmax(-1) == target, target >= REST_ID


class HoldAccuracy(_MaskedAccuracy):
    """Argmax equals the target, where the target is `_`."""

    def _hits_and_mask(self, logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        return logits.argmax(-1) == target, target == HOLD_ID


class TopKAccuracy(_MaskedAccuracy):
    """The target is among the k highest logits."""

    def __init__(self, k: int = 5, **kwargs) -> None:
        super().__init__(**kwargs)
        self.k = k

    def _hits_and_mask(self, logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        best = logits.topk(min(self.k, logits.shape[-1]), dim=-1).indices  # (N, k)
        return (best == target[:, None]).any(-1), torch.ones_like(target, dtype=torch.bool)


class Bits(Metric):
    """Cross-entropy in bits per symbol: summed NLL (nats) / count / ln 2."""

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("nats", torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, logits: Tensor, target: Tensor) -> None:
        logits, target = _flatten(logits, target)
        nll = torch.nn.functional.cross_entropy(logits.detach().float(), target, reduction="sum")
        self.nats += nll
        self.count += target.numel()

    def compute(self) -> Tensor:
        return _rate(self.nats, self.count) / math.log(2)


class MelodyMetrics(MetricCollection):
    """acc, bits, onset_acc, pitch_acc, hold_acc, top5_acc; compute() gives prefix+name -> value."""

    def __init__(self, prefix: str | None = None) -> None:
        super().__init__(
            {
                "acc": Accuracy(),
                "bits": Bits(),
                "onset_acc": OnsetAccuracy(),
                "pitch_acc": PitchAccuracy(),
                "hold_acc": HoldAccuracy(),
                "top5_acc": TopKAccuracy(k=5),
            },
            prefix=prefix,
            # Grouping merges metrics whose states happen to match after the first batch (acc and
            # onset_acc on a batch with no `_`), which would then stay merged: keep them apart.
            compute_groups=False,
        )


def _flatten(logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """(B, L, V), (B, L) -> (N, V), (N,) without the IGNORE_ID targets (padding)."""
    logits, target = logits.reshape(-1, logits.shape[-1]), target.reshape(-1).long()
    keep = target != IGNORE_ID  # (B*L,)
    return logits[keep], target[keep]


def _rate(total: Tensor, count: Tensor) -> Tensor:
    """total / count as float, nan when count is 0."""
    nan = torch.full_like(total, math.nan, dtype=torch.float)
    return torch.where(count > 0, total.float() / count.clamp(min=1), nan)
