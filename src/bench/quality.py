"""Time to quality: training wall time until `val/bits` first reaches the best n-gram's.

The n-gram's figure is its `val/bits` on the same split (fit on the training songs). A training run
is the experiment's own LightningModule and batches under a Trainer; every `every_s` seconds of
training, `QualityClock` scores the whole validation split. Its clock is wall time from the first
training batch with those evaluations taken out, so it counts data loading, the optimizer and
Lightning's own work, but not the measuring.
"""

from __future__ import annotations

import time

import lightning as L
import torch

from src.bench.train_speed import experiment_parts
from src.models.modules.metrics import Bits


def ngram_bits(
    orders: tuple[int, ...] = (5, 7, 9), corpus: str = "essen_erk", cache_dir: str = "data/processed"
) -> dict:
    """val/bits and test/bits of a Kneser-Ney n-gram of each order, and the best order by val/bits."""
    scores = {}
    for order in orders:
        start = time.perf_counter()
        datamodule, module, _ = experiment_parts("ngram", corpus, cache_dir, (f"model.net.order={order}",))
        quiet = {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False,
                 "enable_model_summary": False, "accelerator": "cpu"}
        L.Trainer(max_epochs=1, limit_val_batches=0, **quiet).fit(module, datamodule=datamodule)  # counts
        scorer = L.Trainer(**quiet)
        val = scorer.validate(module, datamodule=datamodule, verbose=False)[0]["val/bits"]
        test = scorer.test(module, datamodule=datamodule, verbose=False)[0]["test/bits"]
        scores[str(order)] = {
            "val_bits": round(float(val), 4),
            "test_bits": round(float(test), 4),
            "seconds": round(time.perf_counter() - start, 1),
        }
    best = min(scores, key=lambda order: scores[order]["val_bits"])
    return {"orders": scores, "best_order": int(best), "best_val_bits": scores[best]["val_bits"]}


class QualityClock(L.Callback):
    """Scores val bits every `every_s` training seconds; stops at `target` bits or after `budget_s`."""

    def __init__(self, loader, target: float, budget_s: float, every_s: float) -> None:
        self.loader, self.target, self.budget_s, self.every_s = loader, target, budget_s, every_s
        self.curve: list[dict] = []  # {"train_s", "step", "val_bits"} per evaluation
        self.reached_s: float | None = None
        self._start = self._measuring = self._last = self._last_cost = 0.0

    def on_train_start(self, trainer, pl_module) -> None:
        self._start = time.perf_counter()

    def trained_s(self) -> float:
        return time.perf_counter() - self._start - self._measuring

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        trained = self.trained_s()
        # at least `every_s` apart, and at least 3x the last evaluation's own time: slow validations
        # (window nets score ~9k windows) must not dominate the run's wall time
        if trained - self._last < max(self.every_s, 3 * self._last_cost) and trained < self.budget_s:
            return
        began = time.perf_counter()
        bits = self.val_bits(pl_module)
        self._last_cost = time.perf_counter() - began
        self._measuring += self._last_cost
        self._last = trained
        self.curve.append(
            {"train_s": round(trained, 2), "step": trainer.global_step, "val_bits": round(bits, 4)}
        )
        if bits <= self.target and self.reached_s is None:
            self.reached_s = trained
        if self.reached_s is not None or trained >= self.budget_s:
            trainer.should_stop = True

    def val_bits(self, module) -> float:
        bits = Bits()
        module.eval()
        with torch.no_grad():
            for x, y, *context in self.loader:
                bits.update(module(x, *context), y)
        module.train()
        return float(bits.compute())


def time_to_quality(
    experiment: str,
    target: float,
    budget_s: float,
    every_s: float,
    corpus: str = "essen_erk",
    cache_dir: str = "data/processed",
    seed: int = 0,
) -> dict:
    """Train `experiment` (its config's net, data and clipping) until val bits <= `target` or `budget_s`."""
    L.seed_everything(seed, workers=True)
    datamodule, module, cfg = experiment_parts(experiment, corpus, cache_dir)
    clock = QualityClock(datamodule.val_dataloader(), target, budget_s, every_s)
    trainer = L.Trainer(
        max_steps=-1,
        max_epochs=10_000,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        gradient_clip_val=cfg.trainer.get("gradient_clip_val"),
        callbacks=[clock],
    )
    trainer.fit(module, datamodule=datamodule)
    best = min((point["val_bits"] for point in clock.curve), default=float("nan"))
    return {
        "experiment": experiment,
        "target_bits": target,
        "budget_s": budget_s,
        "every_s": every_s,
        "reached_s": None if clock.reached_s is None else round(clock.reached_s, 1),
        "best_val_bits": best,
        "steps": trainer.global_step,
        "curve": clock.curve,
        "threads": torch.get_num_threads(),
    }
