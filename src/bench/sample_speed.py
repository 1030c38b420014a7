"""Milliseconds per generated symbol: our samplers vs a seed-style generator.

`python -m src.bench.sample_speed [--experiment lstm_attn_lm] [--ckpt PATH] [--steps 500] [--batch 64]`
The seed-style generator re-creates the original `MelodyGenerator` loop: one melody, the window
one-hot encoded on the host every step, a full forward pass, softmax and a numpy draw. A window net
(lstm_attn, gru) re-reads its whole window every step; a causal net (lstm_attn_lm, gru_lm) carries
its recurrent state and attention cache, one step per symbol (`cached=False` recomputes the whole
history instead, for comparison). Without a checkpoint the experiment's net is used untrained
(speed does not depend on the weights); `min_steps = steps` so every melody runs the full length.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

from src.data.record import EncodingRecord
from src.data.vocab import BOUNDARY_ID
from src.models.checkpoint import load_module
from src.models.generation.loop import sample
from src.models.generation.sampling import Sampling
from src.models.modules.kinds import module_kind


def untrained_module(experiment: str):
    """The experiment's LightningModule with fresh weights, in eval mode (no corpus needed)."""
    from src.config import compose_config, to_plain

    cfg = compose_config("config", [f"experiment={experiment}"])
    kind, model = module_kind(cfg.model), to_plain(cfg.model)
    encoding = EncodingRecord.from_data_config(cfg.data, **kind.data_layout(model["net"])).to_checkpoint()
    return kind.from_config(model, encoding, to_plain(cfg.optimizer)).eval()


def ours(module, melodies: int, steps: int, cached: bool = True) -> float:
    """Seconds for `melodies` melodies of `steps` symbols, sampled in one batch from a song start."""
    prompt = torch.full((melodies, 1), BOUNDARY_ID, dtype=torch.long)  # a song start
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    # min_steps=steps: every melody runs its full length, so the timing counts `steps` symbols each
    out = sample(module.net, prompt, steps, Sampling(min_steps=steps), generator, cached=cached)
    seconds = time.perf_counter() - start
    assert all(len(m) == steps for m in out)
    return seconds


def seed_style(module, steps: int) -> float:
    """Seconds for one melody the original way: host one-hot of the full window every step."""
    rng = np.random.default_rng(0)
    vocab_size = len(module.vocab)
    melody = [BOUNDARY_ID] * module.window
    net = module.net
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(steps):
            window = np.array(melody[-module.window :])
            one_hot = np.eye(vocab_size, dtype=np.float32)[window][None]  # (1, L, V) on the host
            logits = net(torch.from_numpy(one_hot).argmax(-1))  # the net one-hots ids itself
            logits = logits[:, -1] if logits.dim() == 3 else logits  # a causal net: the last position
            probabilities = F.softmax(logits[0], -1).numpy().astype(np.float64)
            probabilities[BOUNDARY_ID] = 0.0  # run the full length, like min_steps above
            melody.append(int(rng.choice(vocab_size, p=probabilities / probabilities.sum())))
    return time.perf_counter() - start


def speed(
    experiment: str | None = None,
    ckpt: str | None = None,
    steps: int = 500,
    batches: tuple[int, ...] = (1, 64),
    seed_style_steps: int = 0,
    uncached_steps: int = 0,
) -> dict:
    """ms per symbol for each batch size (and the seed-style loop / full recomputation, when asked)."""
    module = load_module(ckpt) if ckpt else untrained_module(experiment)
    name = module.kind
    result = {
        "experiment": experiment,
        "ckpt": ckpt,
        "model": name,
        "steps": steps,
        "threads": torch.get_num_threads(),
        "ms_per_symbol": {},
        "total_s": {},
    }
    ours(module, 2, 8)  # warm-up: first-call allocations
    for melodies in batches:
        seconds = ours(module, melodies, steps)
        result["ms_per_symbol"][str(melodies)] = round(1000 * seconds / (melodies * steps), 4)
        result["total_s"][str(melodies)] = round(seconds, 3)
    if seed_style_steps:
        result["seed_style_ms_per_symbol"] = round(
            1000 * seed_style(module, seed_style_steps) / seed_style_steps, 4
        )
    if uncached_steps and module.causal:
        seconds = ours(module, 1, uncached_steps, cached=False)
        result["uncached_1_ms_per_symbol"] = round(1000 * seconds / uncached_steps, 4)
        result["uncached_steps"] = uncached_steps
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="lstm_attn_lm")
    parser.add_argument("--ckpt", default=None)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed-style-steps", type=int, default=0)
    args = parser.parse_args(argv)
    result = speed(args.experiment, args.ckpt, args.steps, (1, args.batch), args.seed_style_steps)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
