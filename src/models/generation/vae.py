"""A VAE's melodies: segments decoded from the prior, variations of a seed, or the path between two seeds
(the VAE reads no meter and does not continue a seed: src/models/nets/vae.py decodes)."""

from __future__ import annotations

import torch

from src.models.generation.request import GenerationRequest
from src.models.nets.vae import fit_segment


def draw_vae(module, seed: list[str], seed2: list[str], request: GenerationRequest,
             generator: torch.Generator, notes: list[str]) -> list[list[str]]:
    """`mode=prior`, `vary` or `interpolate` (the request checked it has the seeds it needs)."""
    length = module.net.segment_length  # seeds are read as one whole segment: padded or cropped
    for name, symbols in (("seed", seed), ("seed2", seed2)):
        if symbols and len(symbols) != length:
            how = f"padded with {length - len(symbols)} holds" if len(symbols) < length else "cropped"
            notes.append(f"{name}: {len(symbols)} symbols {how} to the model's segment_length={length}")
    ids = [torch.tensor(fit_segment(module.vocab.encode(s).tolist(), length)) for s in (seed, seed2) if s]
    steps, n = module.longest_melody(request.steps), request.num_samples
    if request.end_floor not in (0, GenerationRequest.end_floor):  # the default is no news
        notes.append(f"end_floor={request.end_floor} is unused: a VAE melody is one whole segment, "
                     "it does not end at '/'")
    if request.mode == "prior":
        drawn = module.net.prior(n, steps, request.sampling, generator)
    elif request.mode == "vary":
        drawn = module.net.vary(ids[0], n, steps, request.sampling, generator)
    else:
        drawn = module.net.interpolate(ids[0], ids[1], n, steps)  # greedy: the ends as reconstructed
    return [module.vocab.decode(row) for row in drawn.tolist()]
