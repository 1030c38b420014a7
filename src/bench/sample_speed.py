"""Milliseconds per generated symbol: our batched sampler vs a seed-style generator, same network.

`python -m src.bench.sample_speed [--steps 500] [--ckpt PATH] [--out FILE]`
The seed-style generator re-creates the original `MelodyGenerator` loop: one melody, the window
one-hot encoded on the host every step, a full forward pass, softmax and a numpy draw.
Without --ckpt the default `lstm_attn` sizes are used untrained (speed does not depend on weights);
`min_steps = steps` so every melody runs the full length.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

from src.atomic import atomic_path
from src.data.vocab import BOUNDARY_ID, Vocabulary
from src.models.checkpoint import load_module
from src.models.module import MelodyModule

DEFAULT_NET = {"_target_": "src.models.lstm_attn.LSTMAttention", "name": "lstm_attn",
               "hidden_size": 128, "num_layers": 2, "heads": 4, "dropout": 0.2}


def default_module(window: int = 64) -> MelodyModule:
    vocab = Vocabulary()
    encoding = {"mapping": vocab.mapping, "sequence_length": window, "step": 0.25,
                "min_pitch": vocab.min_pitch, "max_pitch": vocab.max_pitch}
    return MelodyModule(DEFAULT_NET, encoding, {"lr": 1e-3}).eval()


def ours(module: MelodyModule, melodies: int, steps: int) -> float:
    """Seconds for `melodies` melodies of `steps` symbols, sampled in one batch."""
    prompt = torch.full((melodies, module.window), BOUNDARY_ID, dtype=torch.long)
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    out = module.sample(prompt, steps, min_steps=steps, generator=generator)
    seconds = time.perf_counter() - start
    assert all(len(m) == steps for m in out)
    return seconds


def seed_style(module: MelodyModule, steps: int) -> float:
    """Seconds for one melody the original way: host one-hot of the full window every step."""
    rng = np.random.default_rng(0)
    vocab_size = len(module.vocab)
    melody = [BOUNDARY_ID] * module.window
    net = module.net
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(steps):
            window = np.array(melody[-module.window:])
            one_hot = np.eye(vocab_size, dtype=np.float32)[window][None]  # (1, L, V) on the host
            logits = net(torch.from_numpy(one_hot).argmax(-1))  # the net one-hots ids itself
            probabilities = F.softmax(logits[0], -1).numpy().astype(np.float64)
            probabilities[BOUNDARY_ID] = 0.0  # run the full length, like min_steps above
            melody.append(int(rng.choice(vocab_size, p=probabilities / probabilities.sum())))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--ckpt", default=None)
    parser.add_argument("--out", default="docs/bench/sample_speed.json")
    args = parser.parse_args(argv)
    module = load_module(args.ckpt) if args.ckpt else default_module()
    symbols_one = args.steps
    symbols_many = args.steps * args.batch
    results = {
        "threads": torch.get_num_threads(), "steps": args.steps, "batch": args.batch,
        "ckpt": args.ckpt or "untrained default lstm_attn (2x128, window 64)",
        "seed_style_ms_per_symbol": 1000 * seed_style(module, args.steps) / symbols_one,
        "ours_1_ms_per_symbol": 1000 * ours(module, 1, args.steps) / symbols_one,
        f"ours_{args.batch}_ms_per_symbol": 1000 * ours(module, args.batch, args.steps) / symbols_many,
    }
    results[f"ours_{args.batch}_total_s"] = results[f"ours_{args.batch}_ms_per_symbol"] * symbols_many / 1000
    base = results["seed_style_ms_per_symbol"]
    print("| generator | melodies | ms per symbol | speed-up vs seed-style |")
    print("| --- | --- | --- | --- |")
    print(f"| seed-style loop | 1 | {base:.2f} | 1.0x |")
    for key, count in (("ours_1_ms_per_symbol", 1), (f"ours_{args.batch}_ms_per_symbol", args.batch)):
        print(f"| ours (batched) | {count} | {results[key]:.3f} | {base / results[key]:.1f}x |")
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(results, indent=1))
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
