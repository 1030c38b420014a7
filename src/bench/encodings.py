"""Which encoding a folk model should read: the 16th-note grid, the 1/12 grid or one symbol pair per note.

`python -m src.bench.encodings [--steps 1200] [--corpus folk] [--json PATH] [data.OVERRIDE=...]`
The same tunes in three encodings, each holding them exactly: the corpus at `data.step=1/12`, kept to
the tunes whose every onset and bar line falls on a 16th note (so the 16th grid holds them too), in the
corpus's own splits. `grid 1/4` has one symbol per 16th (the bundled folk model's), `grid 1/12` one per
twelfth of a quarter note, `notes` two per note or rest: its pitch (or `r`), then its length in twelfths
(1..48; a longer note goes on as `_` with the rest of its length). Each input reads where the symbol it
predicts falls in its bar and the bar's length, in its encoding's units (a note's two symbols: its
onset), and the song's mode. The same Transformer (transformer_folk's blocks, without the look-back,
range cost or labels) trains on each for the same steps of 8 windows of 512 symbols, so each step costs
the same; held-out bits are counted per tune (a tune's symbols and its closing `/`), which every
encoding can be compared in. Sampling: seconds for `--melodies` tunes of the held-out tunes' mean length in
symbols, from one key/value-cached step at a time.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from src.atomic import atomic_path
from src.config import build, compose_config
from src.data.plans import MODES
from src.data.vocab import BOUNDARY_ID, HOLD_ID
from src.models.nets.transformer import TransformerLM

SIXTEENTH = 3  # twelfths of a quarter note in a 16th
MAX_LENGTH = 48  # a note's longest length symbol, in twelfths (a 4/4 bar)
WINDOW, BATCH = 512, 8
NET = {"d_model": 192, "num_layers": 3, "heads": 4, "kv_heads": 1, "ff_size": 768, "dropout": 0.1,
       "attention_window": WINDOW, "meter": True, "mode": True}


def on_sixteenths(ids: np.ndarray, positions: np.ndarray) -> bool:
    """True when a song at 1/12 (ids (n,), positions (n + 1, 2) with its closing `/`) opens with a
    symbol and has every onset, bar line and bar length on a 16th."""
    onsets = np.flatnonzero((np.append(ids, BOUNDARY_ID) != HOLD_ID) | (positions[:, 0] == 0))
    bars = positions[:, 1] % SIXTEENTH == 0
    return ids[0] != HOLD_ID and bool((onsets % SIXTEENTH == 0).all() and bars.all())


def as_grid(ids: np.ndarray, positions: np.ndarray, every: int) -> tuple[list[int], np.ndarray]:
    """A song on a grid `every` twelfths apart: its symbols and closing `/`, and each one's (position,
    bar length) in steps of the grid (n + 1, 2)."""
    return [*ids[::every].tolist(), BOUNDARY_ID], positions[::every] // every


def as_notes(ids: np.ndarray, positions: np.ndarray, vocab_size: int) -> tuple[list[int], np.ndarray]:
    """A song as (pitch or `r`, length) pairs, the length symbol of k twelfths being `vocab_size + k - 1`,
    then its closing `/`; each symbol's (position, bar length) is its note's onset's (n + 1, 2)."""
    symbols, places = [], []
    onsets = np.flatnonzero(ids != HOLD_ID)
    for start, end in zip(onsets, [*onsets[1:], len(ids)], strict=True):
        first, remaining = int(ids[start]), int(end - start)
        while remaining:  # a note longer than MAX_LENGTH goes on as `_`
            length = min(remaining, MAX_LENGTH)
            symbols += [first, vocab_size + length - 1]
            places += [positions[start], positions[start]]
            first, start, remaining = HOLD_ID, start + length, remaining - length
    return [*symbols, BOUNDARY_ID], np.array([*places, positions[len(ids)]])


def encode(corpus, songs: list[dict], name: str) -> list[tuple[list[int], np.ndarray]]:
    """Each song in encoding `name`: its symbols (closing `/` included) and their contexts (n, 3)."""
    out = []
    for song in songs:
        ids = corpus.song_tokens(song)
        positions = corpus.song_positions(song)
        if name == "notes":
            symbols, places = as_notes(ids, positions, len(corpus.vocab))
        else:
            symbols, places = as_grid(ids, positions, SIXTEENTH if name == "grid 1/4" else 1)
        mode = np.full((len(symbols), 1), MODES.index(song["mode"]))
        out.append((symbols, np.concatenate([places, mode], axis=1).astype(np.int64)))
    return out


def stream(songs: list[tuple[list[int], np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor]:
    """`/ s1 / s2 / ...` (N,) and each symbol's context (N, 3) (the first `/`: none)."""
    ids = np.concatenate([[BOUNDARY_ID], *[s for s, _ in songs]])
    context = np.concatenate([np.zeros((1, 3), np.int64), *[c for _, c in songs]])
    return torch.from_numpy(ids.astype(np.int64)), torch.from_numpy(context)


def bits_per_tune(net: TransformerLM, songs: list[tuple[list[int], np.ndarray]]) -> float:
    """Mean over `songs` of the bits of each song's symbols and closing `/`, read after one `/`."""
    net.eval()
    total = 0.0
    with torch.inference_mode():
        for group in by_width(songs):
            width = len(group[-1][0])
            x = torch.zeros(len(group), width, dtype=torch.long)  # '/' then the song, '/'-padded
            y = torch.full((len(group), width), -100, dtype=torch.long)
            context = torch.zeros(len(group), width, 3, dtype=torch.long)
            for row, (symbols, places) in enumerate(group):
                x[row, 1:len(symbols)] = torch.tensor(symbols[:-1])
                y[row, :len(symbols)] = torch.tensor(symbols)
                context[row, :len(symbols)] = torch.from_numpy(places)
            logits, _ = net.step(x, None, context)  # (b, width, V)
            total += F.cross_entropy(logits.transpose(1, 2), y, ignore_index=-100, reduction="sum").item()
    net.train()
    return total / len(songs) / math.log(2)


def by_width(songs: list, budget: int = 2 * 10**7, most: int = 32) -> list[list]:
    """`songs` shortest first in groups of at most `most`, each group's rows times its longest length
    squared within `budget` (attention scores over a whole song are (rows, heads, T, T))."""
    groups: list[list] = [[]]
    for song in sorted(songs, key=lambda s: len(s[0])):
        if groups[-1] and ((len(groups[-1]) + 1) * len(song[0]) ** 2 > budget or len(groups[-1]) == most):
            groups.append([])
        groups[-1].append(song)
    return groups


def train(name: str, train_songs, val_songs, vocab_size: int, steps: int, checks: int) -> dict:
    """Train a fresh net on encoding `name` for `steps`; held-out bits per tune at `checks` points."""
    torch.manual_seed(0)
    ids, context = stream(train_songs)
    max_bar = int(context[:, 1].max()) + 1
    net = TransformerLM(vocab_size, max_bar=max_bar, **NET)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
    warmup = max(steps // 20, 1)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (
        1 + math.cos(math.pi * min(s, steps) / steps)))
    generator = torch.Generator().manual_seed(0)
    curve, seconds = [], 0.0
    for step in range(1, steps + 1):
        start = time.perf_counter()
        starts = torch.randint(0, len(ids) - WINDOW - 1, (BATCH,), generator=generator)
        rows = starts[:, None] + torch.arange(WINDOW + 1)  # (B, L + 1)
        logits, _ = net.step(ids[rows[:, :-1]], None, context[rows[:, 1:]])  # (B, L, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[rows[:, 1:]].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        seconds += time.perf_counter() - start
        if step % (steps // checks) == 0 or step == steps:
            curve.append((step, round(bits_per_tune(net, val_songs), 2)))
            print(f"{name}: step {step}, {seconds:.0f} s, held-out bits per tune {curve[-1][1]}", flush=True)
    return {"net": net, "curve": curve, "train_seconds": seconds}


def sample_seconds(net: TransformerLM, length: int, melodies: int = 64) -> float:
    """Seconds to draw `length` symbols for `melodies` melodies, one cached step at a time."""
    net.eval()
    generator = torch.Generator().manual_seed(0)
    x = torch.zeros(melodies, 1, dtype=torch.long)
    context = torch.zeros(melodies, 1, 3, dtype=torch.long)
    start = time.perf_counter()
    with torch.inference_mode():
        logits, state = net.step(x, None, context)
        for _ in range(length - 1):
            x = torch.multinomial(torch.softmax(logits[:, -1], dim=-1), 1, generator=generator)  # (B, 1)
            logits, state = net.step(x, state, context)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default="folk")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--checks", type=int, default=3, help="held-out figures during training")
    parser.add_argument("--cache-dir", default="data/processed")
    parser.add_argument("--melodies", type=int, default=64, help="melodies drawn at once for the timing")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("overrides", nargs="*", help="config overrides, e.g. data.val_fraction=0.2")
    args = parser.parse_args(argv)
    cfg = compose_config("config", ["experiment=transformer_folk", f"data.corpus={args.corpus}",
                                    "data.step=1/12", f"data.cache_dir={args.cache_dir}", *args.overrides])
    corpus = build(cfg.data).load_corpus()
    exact = [s for s in corpus.songs if on_sixteenths(corpus.song_tokens(s), corpus.song_positions(s))]
    split = {name: [s for s in exact if s["split"] == name] for name in ("train", "val")}
    print(f"{args.corpus} at 1/12: {len(corpus.songs)} tunes, {len(exact)} on 16ths "
          f"({len(split['train'])} train, {len(split['val'])} held out)", flush=True)
    rows = []
    for name in ("grid 1/4", "grid 1/12", "notes"):
        train_songs, val_songs = encode(corpus, split["train"], name), encode(corpus, split["val"], name)
        vocab_size = len(corpus.vocab) + (MAX_LENGTH if name == "notes" else 0)
        result = train(name, train_songs, val_songs, vocab_size, args.steps, args.checks)
        length = round(np.mean([len(s) for s, _ in val_songs]))
        music = sum(len(s) for s, _ in train_songs) / len(train_songs)
        rows.append({"encoding": name, "symbols_per_tune": length, "train_symbols_per_tune": round(music),
                     "epochs": round(args.steps * BATCH * WINDOW / (music * len(train_songs)), 1),
                     "curve": result["curve"], "bits_per_tune": result["curve"][-1][1],
                     "train_seconds": round(result["train_seconds"]),
                     "sample_seconds": round(sample_seconds(result["net"], length, args.melodies), 2)})
    print(f"\n| encoding | symbols per held-out tune | epochs in {args.steps} steps | held-out bits per tune "
          f"(by step) | training s | {args.melodies} tunes drawn, s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        curve = ", ".join(f"{bits} ({step})" for step, bits in row["curve"])
        print(f"| {row['encoding']} | {row['symbols_per_tune']} | {row['epochs']} | {curve} | "
              f"{row['train_seconds']} | {row['sample_seconds']} |")
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps({"steps": args.steps, "corpus": args.corpus, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
