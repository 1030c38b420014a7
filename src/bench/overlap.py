"""Test bits with and without the held-out songs that have a near-copy among the training songs.

`python -m src.bench.overlap CKPT_OR_RUN [CKPT_OR_RUN ...] [--window 64]`

Folk collections hold variants of one tune: a held-out song can share long phrases with a training
song without being equal to it (only equal songs are removed). Such songs reward memorization, and a
network that reads a whole song can exploit them further than an n-gram's few symbols of context. This
scores every checkpoint on all of its corpus's test songs and on the "clean" ones: those sharing no
`window`-step phrase with any song that any of the given checkpoints trained on (the union, so every
checkpoint is scored on the same songs). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
import torch

from src.checks import integer
from src.errors import UserError, exit_on_user_error
from src.eval.memorization import TrainingPhrases
from src.evaluate import build_datamodule, heldout_metrics, run_config, run_folder
from src.models.checkpoint import load_module, resolve_checkpoint

SETTINGS = {"batch_size": 64, "cache_dir": None}
KEPT = ("test/bits", "test/onset_acc", "test/pitch_acc")


def near_copies(test: list[np.ndarray], trained: list[np.ndarray], window: int) -> list[bool]:
    """Per test song: whether one of its `window`-step phrases occurs verbatim in a training song."""
    index = TrainingPhrases(trained)
    return [bool((index.match(song, window) >= 0).any()) for song in test]


def compare(paths: list[str], window: int) -> dict:
    loaded = []
    for path in paths:
        ckpt = resolve_checkpoint(path)
        module = load_module(ckpt)
        datamodule = build_datamodule(module, run_config(run_folder(ckpt))[0].get("data", {}), SETTINGS)
        loaded.append((path, module, datamodule))
    corpora = {dm.load_corpus().path for _, _, dm in loaded}
    if len(corpora) != 1:
        raise UserError(f"the checkpoints are scored on different corpora ({', '.join(map(str, corpora))}); "
                        "accepted: checkpoints of one data.corpus")
    corpus = loaded[0][2].load_corpus()
    trained = {}  # tokens -> song, over every checkpoint's training songs (a song counted once)
    for _, _, datamodule in loaded:
        train = datamodule.train_corpus()
        trained |= {train.song_tokens(s).tobytes(): train.song_tokens(s) for s in train.split("train")}
    test_songs = corpus.split("test")
    copied = near_copies([corpus.song_tokens(s) for s in test_songs], list(trained.values()), window)
    dropped = {id(song) for song, flag in zip(test_songs, copied, strict=True) if flag}
    clean = dataclasses.replace(  # the test split without the near-copies
        corpus, songs=[s | {"split": "excluded"} if id(s) in dropped else s for s in corpus.songs])
    result = {"window": window, "test_songs": len(test_songs), "near_copies": len(dropped),
              "near_copy_titles": sorted(s["title"] for s in test_songs if id(s) in dropped),
              "training_songs": len(trained), "checkpoints": {}}
    cpu = torch.device("cpu")
    for path, module, datamodule in loaded:
        everything = heldout_metrics(module, datamodule, cpu)
        scores = {"all": {k: round(everything[k], 4) for k in KEPT}, "clean": None}  # None: no clean song
        if len(dropped) < len(test_songs):
            datamodule.corpus, datamodule.datasets = clean, {}
            without = heldout_metrics(module, datamodule, cpu)
            scores["clean"] = {k: round(without[k], 4) for k in KEPT}
        result["checkpoints"][path] = scores
    return result


@exit_on_user_error
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpt", nargs="+")
    parser.add_argument("--window", type=int, default=64, help="steps of a shared phrase (64 = 4 bars)")
    args = parser.parse_args(argv)
    integer("--window", args.window, 1)
    result = compare(args.ckpt, args.window)
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
