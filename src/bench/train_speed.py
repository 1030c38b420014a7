"""Training windows/s: our Lightning run vs a plain PyTorch loop (the original `train_model`), same net.

`python -m src.bench.train_speed [--steps 12] [--sizes lstm_attn lstm_attn_seed] [--out FILE]`
Both loops consume the same batches from our DataModule and run the same network (which makes the
one-hot inside its forward); the plain loop is the seed's `train_model` (Adam, `loss.backward()`,
no Lightning, no metrics), so the ratio is Lightning's own overhead (metrics, logging, hooks).
Timings skip warm-up steps and are interleaved (plain, Lightning, plain, Lightning).
"""

from __future__ import annotations

import argparse
import json
import time
from itertools import islice
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F

from src.atomic import atomic_path
from src.data.datamodule import MelodyDataModule
from src.models.module import MelodyModule

SIZES = {  # name -> (model settings, batch size); the experiment configs' values
    "lstm_attn": ({"hidden_size": 128, "num_layers": 2, "heads": 4, "dropout": 0.2}, 64),
    "lstm_attn_seed": ({"hidden_size": 256, "num_layers": 8, "heads": 8, "dropout": 0.5}, 64),
}
WARMUP = 2


def make_module(datamodule: MelodyDataModule, settings: dict) -> MelodyModule:
    net = {"_target_": "src.models.lstm_attn.LSTMAttention", "name": "lstm_attn", **settings}
    return MelodyModule(net, datamodule.encoding, {"lr": 1e-3})


def plain_loop(datamodule: MelodyDataModule, settings: dict, steps: int) -> float:
    """Seconds per step of the seed-style loop (after warm-up)."""
    torch.manual_seed(0)
    net = make_module(datamodule, settings).net.train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    times = []
    for x, y in islice(datamodule.train_dataloader(), steps + WARMUP):
        start = time.perf_counter()
        logits = net(x)  # (B, V); the one-hot (B, L, V) is made inside
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
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


def lightning_loop(datamodule: MelodyDataModule, settings: dict, steps: int) -> float:
    """Seconds per step of our LightningModule (metrics logged per step, as in training)."""
    torch.manual_seed(0)
    timer = StepTimer()
    trainer = L.Trainer(
        max_steps=steps + WARMUP, limit_val_batches=0, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[timer],
        accelerator="cpu", gradient_clip_val=1.0,
    )
    trainer.fit(make_module(datamodule, settings), datamodule=datamodule)
    return sum(timer.times[WARMUP:]) / steps


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--corpus", default="essen_erk")
    parser.add_argument("--cache-dir", default="data/processed")
    parser.add_argument("--out", default="docs/bench/train_speed.json")
    args = parser.parse_args(argv)
    results = {"threads": torch.get_num_threads(), "steps": args.steps, "sizes": {}}
    rows = ["| size | batch | plain loop windows/s | Lightning windows/s | Lightning / plain |",
            "| --- | --- | --- | --- | --- |"]
    for name in args.sizes:
        settings, batch = SIZES[name]
        datamodule = MelodyDataModule(corpus=args.corpus, cache_dir=args.cache_dir, batch_size=batch)
        datamodule.prepare_data()
        datamodule.setup("fit")
        plain, lightning = [], []
        for _ in range(2):  # interleaved repeats
            plain.append(plain_loop(datamodule, settings, args.steps))
            lightning.append(lightning_loop(datamodule, settings, args.steps))
        plain_rate, lightning_rate = batch / min(plain), batch / min(lightning)
        results["sizes"][name] = {"batch": batch, **settings, "plain_windows_per_s": plain_rate,
                                  "lightning_windows_per_s": lightning_rate,
                                  "ratio": lightning_rate / plain_rate}
        rows.append(f"| {name} | {batch} | {plain_rate:.0f} | {lightning_rate:.0f} | "
                    f"{lightning_rate / plain_rate:.2f}x |")
    print("\n".join(rows))
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(results, indent=1))
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    Path("docs/bench").mkdir(parents=True, exist_ok=True)
    main()
