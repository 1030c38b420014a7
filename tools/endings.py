"""`python -m tools.endings CKPT [CKPT ...] [--melodies 256]`: where each model's melodies end.

For each checkpoint, unseeded melodies as `src.evaluate` draws them (same request defaults, rng_seed 0),
grouped by the mode each was asked for: the share whose last note is each pitch class (in the model's
C major / A minor), the share ending on the asked mode's tonic, and how often the key profiles the
evaluation scores with estimate the mode that was asked. The first row is essen_erk's training songs by
their own key. One table, printed as Markdown.
"""

from __future__ import annotations

import argparse
from collections import Counter

import torch

from src.data.keys import KEY_NAMES
from src.eval.keys import melody_key, song_key
from src.models.checkpoint import load_module, resolve_checkpoint
from src.models.generation import GenerationRequest

TONIC = {"major": "C", "minor": "A"}  # key-normalized: the model writes in C major or A minor
SHOWN = {"major": ("C", "E", "D", "G"), "minor": ("A", "C")}


def last_pitch_class(symbols: list[str]) -> str | None:
    notes = [s for s in symbols if s not in ("_", "r", "/")]
    return KEY_NAMES[int(notes[-1]) % 12] if notes else None


def row(label: str, endings: list[tuple[str, str | None]], agree: float | str) -> str:
    """One table row from (mode asked, last pitch class) pairs."""
    cells = [label]
    for mode in ("major", "minor"):
        counts = Counter(last for asked, last in endings if asked == mode)
        total = sum(counts.values()) or 1
        cells.append(" / ".join(f"{counts[name] / total:.2f}" for name in SHOWN[mode]))
    on_tonic = sum(last == TONIC[asked] for asked, last in endings) / len(endings)
    agree_cell = agree if isinstance(agree, str) else f"{agree:.2f}"
    return "| " + " | ".join([*cells, f"{on_tonic:.3f}", agree_cell]) + " |"


def training_songs() -> list[tuple[str, str | None]]:
    from src.config import compose_config, to_plain
    from src.data.datamodule import MelodyDataModule

    data = to_plain(compose_config("config", []).data)
    data.pop("_target_")
    corpus = MelodyDataModule(**data).load_corpus()
    return [(song_key(s)[1], last_pitch_class(corpus.vocab.decode(corpus.song_tokens(s))))
            for s in corpus.split("train")]


def model_endings(ckpt: str, melodies: int) -> tuple[list[tuple[str, str | None]], float]:
    module = load_module(resolve_checkpoint(ckpt)).eval()
    generation = module.generate(GenerationRequest(num_samples=melodies, steps=512),
                                 torch.Generator().manual_seed(0))
    asked = [meter.mode for meter in generation.meters]
    agree = sum(melody_key(m)[1] == a for m, a in zip(generation.melodies, asked, strict=True)) / melodies
    return [(a, last_pitch_class(m)) for a, m in zip(asked, generation.melodies, strict=True)], agree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpts", nargs="+")
    parser.add_argument("--melodies", type=int, default=256)
    args = parser.parse_args()
    print("| melodies | major: last note " + " / ".join(SHOWN["major"]) + " | minor: last note "
          + " / ".join(SHOWN["minor"]) + " | ends on the asked tonic | mode asked = mode estimated |")
    print("| --- " * 5 + "|")
    print(row("essen_erk training songs (their own key)", training_songs(), "1 (their key is the estimate)"))
    for ckpt in args.ckpts:
        endings, agree = model_endings(ckpt, args.melodies)
        print(row(f"`{ckpt}`", endings, agree))


if __name__ == "__main__":
    main()
