"""Fitting the n-gram baseline through the Trainer: count the epoch's windows, build tables, no gradients."""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from src.errors import UserError
from src.models.modules.base import MelodyModule


class NGramModule(MelodyModule):
    """Counts each training batch's (context, next symbol) pairs; validates and tests like MelodyModule.

    One epoch is one pass over the corpus, so the tables hold the counts of the latest (or current)
    epoch, never a multiple. They are built before validation (which Lightning runs before
    `on_train_epoch_end`) and after the epoch, whichever comes first after new counts.
    """

    def __init__(self, net: dict, encoding: dict, optimizer: dict, scheduler: dict | None = None,
                 name: str | None = None, **settings) -> None:
        super().__init__(net, encoding, optimizer, scheduler, name, **settings)
        self.automatic_optimization = False
        self.net.window = self.window  # stepped over windows as long as it counted on
        if self.window < self.net.order - 1:
            raise UserError(
                f"model.net.order={self.net.order} needs data.sequence_length >= {self.net.order - 1}, "
                f"got {self.window}"
            )
        self._pairs: list[tuple[Tensor, Tensor]] = []  # this epoch's (contexts (B, order-1), targets (B,))
        self._stale = False  # pairs were counted since the tables were last built

    def setup(self, stage: str) -> None:
        if stage == "fit" and self.trainer.world_size > 1:  # each process would count only its shard
            raise UserError(
                f"the n-gram counts in one process, got {self.trainer.world_size} processes; "
                "accepted: trainer.devices=1 (and trainer.num_nodes=1)"
            )

    def configure_optimizers(self) -> None:
        # nothing to optimize: Lightning then steps a stand-in optimizer, as `training_step` intends
        warnings.filterwarnings("ignore", message=r"`LightningModule.configure_optimizers` returned `None`")
        return None

    def on_train_epoch_start(self) -> None:
        self._pairs.clear()

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch  # (B, L) uint8 windows (transposed already if augmenting); (B,) next symbols
        self._pairs.append((x[:, x.shape[1] - (self.net.order - 1):], y))  # (B, order-1), (B,)
        self._stale = True
        # one counted batch is one step: global_step drives checkpointing, max_steps and logging
        self.optimizers().step()

    def on_validation_epoch_start(self) -> None:
        self._build()

    def on_train_epoch_end(self) -> None:
        self._build()

    def _build(self) -> None:
        if self._stale:
            contexts = torch.cat([c for c, _ in self._pairs])  # (N, order-1)
            targets = torch.cat([t for _, t in self._pairs])  # (N,)
            self.net.fit(contexts, targets)
            self._stale = False
