"""What the step inputs cost: training targets/s and sampling time with and without them.

`python -m src.bench.meter_speed [--experiment lstm_attn_lm] [--steps 12] [--melodies 64] [--length 500]`
Side by side in one run: for `lstm_attn_lm`, symbols only, + meter and mode (the default), + the
look-back, + the copy path; for `transformer_lm` (`make train`), without and with its range cost
(`model.net.register`). Training: Lightning steps on essen_erk batches (as src/bench/train_speed.py
times them). Sampling: `melodies` x `length` symbols in one batch from untrained weights, each melody
in its own meter (3/4 with a pickup, 2/4, 6/8, ... as the context the sampler gives a meter-aware net).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from src.bench.train_speed import experiment_parts, lightning_loop
from src.data.vocab import BOUNDARY_ID
from src.models.generation.loop import sample
from src.models.generation.meters import Meter, context_of
from src.models.generation.sampling import Sampling

LSTM_VARIANTS = {
    "symbols only": ("model.net.meter=false", "model.net.mode=false", "model.net.lookback=false",
                     "model.net.copy=false"),
    "meter + mode": ("model.net.meter=true", "model.net.mode=true", "model.net.lookback=false",
                     "model.net.copy=false"),
    "meter + mode + look-back [1, 2, 4, 8]": (
        "model.net.meter=true", "model.net.mode=true", "model.net.lookback=[1,2,4,8]",
        "model.net.copy=false"),
    "meter + mode + look-back + copy (make train)": (
        "model.net.meter=true", "model.net.mode=true", "model.net.lookback=[1,2,4,8]", "model.net.copy=true"),
}
TRANSFORMER_VARIANTS = {
    "without the range cost": ("model.net.register=false",),
    "with the range cost (make train)": ("model.net.register=true",),
}
VARIANTS = {"lstm_attn_lm": LSTM_VARIANTS, "transformer_lm": TRANSFORMER_VARIANTS}
METERS = [Meter("3/4", 2, "major", 12), Meter("2/4", 0, "minor", 8), Meter("6/8", 2, "major", 12),
          Meter("4/4", 4, "major", 16)]


def sample_seconds(module, melodies: int, length: int) -> float:
    """Seconds for `melodies` x `length` symbols from a song start, each melody in one of METERS."""
    meters = [METERS[k % len(METERS)] for k in range(melodies)]
    context = context_of(meters, torch.device("cpu")) if module.reads_context else None
    prompt = torch.full((melodies, 1), BOUNDARY_ID, dtype=torch.long)
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    out = sample(module.net, prompt, length, Sampling(min_steps=length), generator, context_of=context)
    seconds = time.perf_counter() - start
    assert all(len(m) == length for m in out)
    return seconds


def measure(experiment: str, steps: int, melodies: int, length: int, corpus: str = "essen_erk",
            cache_dir: str = "data/processed") -> list[dict]:
    rows = []
    for name, overrides in VARIANTS[experiment].items():
        datamodule, module, cfg = experiment_parts(experiment, corpus, cache_dir, overrides)
        x, y, *_ = next(iter(datamodule.train_dataloader()))
        seconds = lightning_loop(datamodule, module, steps, cfg.trainer.get("gradient_clip_val"))
        sampling = min(sample_seconds(module, melodies, length) for _ in range(2))
        rows.append({"inputs": name, "targets_per_s": round(y.numel() / seconds, 1),
                     "sample_s": round(sampling, 3),
                     "parameters": sum(p.numel() for p in module.parameters())})
    base = rows[0]
    for row in rows:
        row["train_ratio"] = round(row["targets_per_s"] / base["targets_per_s"], 3)
        row["sample_ratio"] = round(row["sample_s"] / base["sample_s"], 3)
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", choices=sorted(VARIANTS), default="lstm_attn_lm")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--melodies", type=int, default=64)
    parser.add_argument("--length", type=int, default=500)
    args = parser.parse_args(argv)
    rows = measure(args.experiment, args.steps, args.melodies, args.length)
    base = rows[0]["inputs"]
    print(f"| {args.experiment} | parameters | training targets/s | vs {base} | sample {args.melodies} x "
          f"{args.length} (s) | vs {base} |")
    print("| --- " * 6 + "|")
    for row in rows:
        print(f"| {row['inputs']} | {row['parameters']:,} | {row['targets_per_s']:,.0f} "
              f"| {row['train_ratio']:.3f} | {row['sample_s']:.2f} | {row['sample_ratio']:.3f} |")
    print(json.dumps(rows))
    return rows


if __name__ == "__main__":
    main()
