"""Where a one-register model's unseeded melodies sit: `octave=model` and `octave=auto` against the songs.

`python -m src.bench.register [CKPT] [--melodies 1000] [--steps 500] [--rng-seed 0]`

A model trained with `data.normalize_octave=true` (default `models/transformer_lm.ckpt`) writes every
melody in the one register it learned; `octave=auto` moves each back by whole octaves towards where the
training songs sat (src/models/generation/octaves.py). This draws `melodies` unseeded melodies once
(default sampling, `octave=model`) and reads them three ways: as drawn; moved as `generate` moves them
with `octave=auto` (conditional on the melody's median: `encoding.medians`); and moved by an octave
drawn apart from the melody, from the training songs' own moves of its mode (the other design, not
adopted). Each is set against the corpus's validation and test songs in their own register (moved to C
major / A minor, not by octaves): mean pitch over every note, and the spread (std) of each melody's
mean pitch, and how far each set's (mode, median pitch) lie from the training songs' (total variation
between the two histograms: 0 = the same shares). Prints a markdown table and one JSON object.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import replace

import numpy as np

from src.checks import integer
from src.data.corpus import load_or_build
from src.data.datamodule import MelodyDataModule
from src.data.keys import median_pitch
from src.data.vocab import FIRST_PITCH_ID
from src.errors import UserError, exit_on_user_error
from src.models.checkpoint import load_module, resolve_checkpoint
from src.models.generation import GenerationRequest
from src.models.generation.octaves import STREAM, draw_shift, in_song_register
from src.models.generation.seeds import transpose_symbols


def pitches_of(melody: list[str]) -> list[int]:
    """The note pitches of one melody, each note once."""
    return [int(s) for s in melody if s.isascii() and s.isdigit()]


def placement(melodies: list[list[int]], modes: list[str], trained: Counter) -> dict:
    """Mean pitch over every note, the std of the melodies' mean pitches, melodies and notes, and how far
    their (mode, median pitch) lie from the training songs' `trained` counts (total variation: 0 = alike)."""
    means = [np.mean(p) for p in melodies if p]
    medians = Counter((mode, median_pitch(p)) for p, mode in zip(melodies, modes, strict=True) if p)
    gaps = [medians[key] / medians.total() - trained[key] / trained.total() for key in medians | trained]
    return {"melodies": len(melodies), "notes": sum(map(len, melodies)),
            "mean_pitch": round(float(np.mean(np.concatenate(melodies))), 2),
            "spread": round(float(np.std(means)), 2),
            "medians_tv": round(0.5 * sum(map(abs, gaps)), 3)}


def songs_in_own_register(module) -> tuple[list[list[int]], list[str]]:
    """Note pitches and modes of the corpus's validation and test songs, key-normalized but not moved by
    octaves."""
    corpus = load_or_build(replace(module.encoding, normalize_octave=False, extra_train=None))
    songs = [s for s in corpus.songs if s["split"] in ("val", "test")]
    pitches = []
    for song in songs:
        ids = corpus.song_tokens(song).astype(np.int64)  # (length,)
        pitches.append((ids[ids >= FIRST_PITCH_ID] - FIRST_PITCH_ID + corpus.vocab.min_pitch).tolist())
    return pitches, [song["mode"] for song in songs]


def independent_moves(melodies: list[list[str]], modes: list[str], module, rng_seed: int) -> list[list[str]]:
    """The other design: each melody moved back by minus an octave move its mode's training songs were
    given (drawn by their counts, over the moves that keep every note inside), whatever its own median."""
    train = MelodyDataModule.from_record(module.encoding).train_corpus()
    moves = Counter((s["mode"], -s["octave"]) for s in train.split("train"))
    low, high = module.encoding.min_pitch, module.encoding.max_pitch
    draws = np.random.default_rng([rng_seed, STREAM]).random(len(melodies))  # (B,): as octave=auto's
    moved = []
    for melody, mode, u in zip(melodies, modes, draws, strict=True):
        notes = pitches_of(melody)
        fitting = {shift: count for (m, shift), count in moves.items() if m == mode and notes
                   and low <= min(notes) + shift and max(notes) + shift <= high}
        moved.append(transpose_symbols(melody, draw_shift(fitting, u)))
    return moved


def compare(path: str, melodies: int, steps: int, rng_seed: int) -> dict:
    module = load_module(resolve_checkpoint(path)).eval()
    if not (module.encoding.normalize_octave and module.encoding.medians):
        raise UserError(f"{path} records no one register (data.normalize_octave and encoding.medians); "
                        "accepted: a normalize_octave checkpoint (python -m src.bundle songs_only=true "
                        "writes the record into an older export)")
    request = GenerationRequest(num_samples=melodies, steps=steps, rng_seed=rng_seed, octave="model")
    generation = module.generate(request)
    modes = [meter.mode for meter in generation.meters]
    # generate's own move (no key: nothing moves after it), on the same melodies
    auto = in_song_register(generation.melodies, modes, replace(request, octave="auto"), module.encoding)
    independent = independent_moves(generation.melodies, modes, module, rng_seed)
    sets = {"songs (val + test, own register)": songs_in_own_register(module),
            "octave=model (before)": ([pitches_of(m) for m in generation.melodies], modes),
            "octave=auto, by the melody's median (after)": ([pitches_of(m) for m in auto], modes),
            "independent draw of the songs' moves": ([pitches_of(m) for m in independent], modes)}
    trained = Counter({(mode, median): songs for mode, median, songs in module.encoding.medians})
    rows = {name: placement(pitches, set_modes, trained) for name, (pitches, set_modes) in sets.items()}
    songs = next(iter(rows.values()))
    for row in rows.values():
        row["mean_minus_songs"] = round(row["mean_pitch"] - songs["mean_pitch"], 2)
        row["spread_minus_songs"] = round(row["spread"] - songs["spread"], 2)
    moved = sum(m != n for m, n in zip(generation.melodies, auto, strict=True))
    return {"ckpt": path, "melodies": melodies, "steps": steps, "rng_seed": rng_seed,
            "moved_by_auto": moved, "rows": rows}


@exit_on_user_error
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpt", nargs="?", default="models/transformer_lm.ckpt")
    parser.add_argument("--melodies", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--rng-seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("melodies", "steps"):
        integer(f"--{name}", getattr(args, name), 1)
    integer("--rng-seed", args.rng_seed, 0)
    result = compare(args.ckpt, args.melodies, args.steps, args.rng_seed)
    print("| set | melodies | notes | mean pitch | - songs' | spread (std of melody means) | - songs' | "
          "(mode, median) from the training songs' (TV) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, row in result["rows"].items():
        print(f"| {name} | {row['melodies']} | {row['notes']} | {row['mean_pitch']:.2f} | "
              f"{row['mean_minus_songs']:+.2f} | {row['spread']:.2f} | {row['spread_minus_songs']:+.2f} | "
              f"{row['medians_tv']:.3f} |")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
