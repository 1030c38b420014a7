"""Training speed per experiment: windows/s and supervised targets/s, Lightning vs a plain loop.

`python -m src.bench.train_speed [--experiments lstm_attn lstm_attn_lm] [--steps 12] [--plain]`
Each experiment's net, data and batch size come from its config (conf/experiment/NAME.yaml). The
plain loop is the seed's `train_model` (Adam, `loss.backward()`, clipping, no Lightning, no
metrics) on the same batches and net, so Lightning / plain is Lightning's own overhead (metrics,
logging, hooks). A window net supervises one target per window; a causal net one per position.
Timings skip warm-up steps; with --plain the two loops are interleaved (plain, Lightning, x2).
"""

from __future__ import annotations

import argparse
import json
import time
from itertools import islice

import lightning as L
import torch
import torch.nn.functional as F

from src.atomic import atomic_path
from src.config import build, compose_config, to_plain
from src.models.modules.kinds import module_kind

WARMUP = 2


def experiment_parts(experiment: str, corpus: str = "essen_erk", cache_dir: str = "data/processed",
                     overrides: tuple[str, ...] = ()) -> tuple:
    """(datamodule set up for fitting, a fresh LightningModule, the composed config) of an experiment."""
    cfg = compose_config("config", [f"experiment={experiment}", f"data.corpus={corpus}",
                                    f"data.cache_dir={cache_dir}", *overrides])
    kind, model = module_kind(cfg.model), to_plain(cfg.model)
    datamodule = build(cfg.data, **kind.data_layout(model["net"]))
    datamodule.prepare_data()
    datamodule.setup("fit")
    module = kind.from_config(model, encoding=datamodule.encoding, optimizer=to_plain(cfg.optimizer))
    return datamodule, module, cfg


def plain_loop(datamodule, module, steps: int, clip: float | None) -> float:
    """Seconds per step of the seed-style loop (after warm-up)."""
    torch.manual_seed(0)
    net = module.net.train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    times = []
    epochs = (batch for _ in iter(int, 1) for batch in datamodule.train_dataloader())  # endless
    for x, y, *context in islice(epochs, steps + WARMUP):  # every-position batches add the context
        start = time.perf_counter()
        logits = net(x, *context)  # (B, V) or (B, L, V); the one-hot is made inside
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
        optimizer.step()
        times.append(time.perf_counter() - start)
    return sum(times[WARMUP:]) / steps


class StepTimer(L.Callback):
    """Wall time of each training batch, from batch start to the end of the optimizer step."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.times.append(time.perf_counter() - self._start)


def lightning_loop(datamodule, module, steps: int, clip: float | None) -> float:
    """Seconds per step of our LightningModule (metrics logged per step, as in training)."""
    torch.manual_seed(0)
    timer = StepTimer()
    trainer = L.Trainer(
        max_steps=steps + WARMUP, limit_val_batches=0, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[timer],
        accelerator="cpu", gradient_clip_val=clip,
    )
    trainer.fit(module, datamodule=datamodule)
    return sum(timer.times[WARMUP:]) / steps


def speed(experiment: str, steps: int = 12, plain: bool = False, corpus: str = "essen_erk",
          cache_dir: str = "data/processed") -> dict:
    """Windows/s and targets/s of an experiment's training step (and of the plain loop with `plain`)."""
    datamodule, module, cfg = experiment_parts(experiment, corpus, cache_dir)
    clip = cfg.trainer.get("gradient_clip_val")
    x, y, *_ = next(iter(datamodule.train_dataloader()))
    per_step = {"lightning": []} | ({"plain": []} if plain else {})
    for _ in range(2 if plain else 1):
        if plain:
            per_step["plain"].append(plain_loop(datamodule, module, steps, clip))
        per_step["lightning"].append(lightning_loop(datamodule, module, steps, clip))
    result = {"experiment": experiment, "model": cfg.model.name, "batch": len(x),
              "targets_per_batch": y.numel(), "steps": steps, "threads": torch.get_num_threads()}
    for loop, times in per_step.items():
        seconds = min(times)
        result[loop] = {"s_per_step": round(seconds, 4), "windows_per_s": round(len(x) / seconds, 1),
                        "targets_per_s": round(y.numel() / seconds, 1)}
    if plain:
        result["lightning_over_plain"] = round(result["lightning"]["windows_per_s"]
                                               / result["plain"]["windows_per_s"], 3)
    return result


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", nargs="+", default=["lstm_attn", "lstm_attn_lm"])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--plain", action="store_true", help="also time the plain loop, interleaved")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    results = [speed(name, args.steps, args.plain) for name in args.experiments]
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(results, indent=1))
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
