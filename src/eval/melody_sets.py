"""The melody sets an evaluation compares with the held-out songs: seeded with their openings, each in its
song's meter, and unseeded, in meters drawn from the training songs'; and the meter each is read in."""

from __future__ import annotations

from dataclasses import replace

import torch

from src.data.meter import beat_steps
from src.eval.keys import melody_key, song_key
from src.models.generation import GenerationRequest
from src.models.generation.meters import Meter


def song_meter(corpus, song: dict) -> Meter:
    """A cached song's opening meter: its time signature, pickup, mode and first bar's length."""
    return Meter(song["time_signature"], song["pickup"], song["mode"],
                 int(corpus.positions[song["offset"], 1]))


def song_labels(song: dict) -> tuple[str, str, str, tuple[int, ...]]:
    """A song's (style, tune type, form, part bars): what a model trained with styles is given with it."""
    return (song.get("style", ""), song.get("tune_type", ""), song.get("form", ""),
            tuple(song.get("part_bars", ())))


def rhythm_meter(meter: Meter, step: float) -> tuple[int, int, int, str]:
    """(bar length, first step's bar position, beat length, label), as src/eval/rhythm.py reads a meter."""
    return (meter.bar_length, (meter.bar_length - meter.pickup) % meter.bar_length,
            beat_steps(meter.time_signature, step), meter.time_signature)


def generate(module, heldout_songs: list[dict], real: list[list[str]], heldout_meters: list[Meter],
             unseeded: GenerationRequest, length: int, device: torch.device, notes: list[str]) -> dict:
    """name -> (melodies, the key each is scored in, seed length, meters) of the seeded and unseeded sets.

    Seeded: the opening `length` (seed_length) steps of the held-out songs longer than that, in split order
    (again from the first when there are fewer than `num_samples`), each continued once in its song's meter;
    scored in its song's key. Unseeded: from a song start, in meters drawn from the training songs';
    scored in the key estimated from its notes. Both are written in the model's register (`octave=model`),
    as the cached held-out songs are.
    """
    unseeded = replace(unseeded, octave="model")
    generator = torch.Generator(device=device).manual_seed(unseeded.rng_seed)
    n = unseeded.num_samples
    openers = [i for i, s in enumerate(heldout_songs) if s["length"] > length]
    generated = {}
    if not module.continues:
        notes.append("VAE checkpoint: no seeded set (a VAE does not continue a seed); the unseeded set is "
                     f"drawn from its prior, one segment of {module.longest_melody(unseeded.steps)} steps "
                     "each, so melody length is fixed; held-out metrics are of its reconstruction of "
                     "held-out segments")
        unseeded = replace(unseeded, mode="prior")
    elif not openers:
        notes.append(f"no held-out song is longer than seed_length={length}: no seeded set")
    else:
        chosen = [openers[k % len(openers)] for k in range(n)]
        seeded = replace(unseeded, seed=tuple(" ".join(real[i][:length]) for i in chosen),
                         meters=tuple(heldout_meters[i] for i in chosen),
                         labels=tuple(song_labels(heldout_songs[i]) for i in chosen))
        generation = module.generate(seeded, generator)
        generated["seeded"] = (generation.melodies, [song_key(heldout_songs[i]) for i in chosen], length,
                               generation.meters)
    generation = module.generate(unseeded, generator)
    melodies, normalize = generation.melodies, module.encoding.normalize_key
    generated["unseeded"] = (melodies, [melody_key(m, normalize) for m in melodies], 0, generation.meters)
    return generated
