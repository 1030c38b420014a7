"""Each style's figures against that style's held-out songs, for a model trained with styles
(experiment=transformer_folk): bits per symbol on the style's songs, then unseeded melodies asked for the
style (its forms, meters and keys drawn as `style=NAME` draws them) against its held-out songs: ends on
the tonic, range, repetition (also of the style's training songs: a style's held-out songs are few, 40-110
in data.corpus=folk, and their own figures move by a standard error of 0.04-0.06 on the tonic), the
classifier test (logistic regression as src/eval/realism.py, and
gradient boosting on the same features), and the form honoured: the share of melodies whose ABC, read
back by the corpus's own reader, has the parts and bars planned.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from src.data.abc_notation import tune_text
from src.data.encoding import read_song
from src.data.score_writer import generation_tunes
from src.data.sequences import stream_array
from src.data.vocab import IGNORE_ID
from src.eval.keys import melody_key, song_key
from src.eval.realism import two_sample
from src.eval.stats import melody_stats

MIN_SONGS = 20  # held-out songs a style needs for its own figures
STATS = ("ends_on_tonic", "pitch_range", "repetition", "length")


def heldout_styles(module, songs: list[dict]) -> list[str]:
    """The model's styles with at least MIN_SONGS held-out songs, most songs first."""
    counts = {style: sum(s.get("style") == style for s in songs) for style in module.encoding.styles}
    return sorted((s for s, n in counts.items() if n >= MIN_SONGS), key=lambda s: (-counts[s], s))


def style_bits(module, corpus, split: str, device: torch.device, batch: int = 16) -> dict[str, float]:
    """Bits per symbol of each style's held-out songs, each song scored whole from its opening `/`, its
    context read as in training (the symbols and the closing `/` are the targets)."""
    tokens, starts, context = stream_array(corpus, split, module.encoding.styles)
    songs = corpus.split(split)
    ends = np.append(starts[1:], len(tokens) - 1)
    order = np.argsort(ends - starts)
    totals: dict[str, list[float]] = {}
    net = module.net.to(device).eval()
    with torch.inference_mode():
        for first in range(0, len(order), batch):
            rows = order[first:first + batch]
            width = int((ends[rows] - starts[rows]).max())
            x = torch.zeros((len(rows), width), dtype=torch.long)
            y = torch.full((len(rows), width), IGNORE_ID, dtype=torch.long)
            c = torch.zeros((len(rows), width, context.shape[1]), dtype=torch.long)
            for r, i in enumerate(rows):
                n = ends[i] - starts[i]
                x[r, :n] = torch.from_numpy(tokens[starts[i]:ends[i]].astype(np.int64))
                y[r, :n] = torch.from_numpy(tokens[starts[i] + 1:ends[i] + 1].astype(np.int64))
                c[r, :n] = torch.from_numpy(context[starts[i] + 1:ends[i] + 1].astype(np.int64))
            logits = net(x.to(device), c.to(device)).float()  # (b, W, V)
            loss = F.cross_entropy(logits.transpose(1, 2), y.to(device), ignore_index=IGNORE_ID,
                                   reduction="none").sum(1)  # (b,) nats per song
            for r, i in enumerate(rows):
                style = songs[i].get("style", "")
                entry = totals.setdefault(style, [0.0, 0])
                entry[0] += float(loss[r])
                entry[1] += int((y[r] != IGNORE_ID).sum())
    return {style: nats / count / math.log(2) for style, (nats, count) in totals.items()}


def form_honoured(generation, step: float) -> float:
    """Share of planned melodies whose written ABC reads back with the planned parts and bars."""
    tunes = generation_tunes(generation, step, "melody", None)
    kept = []
    with tempfile.TemporaryDirectory() as folder:
        for k, (melody, tune, plan) in enumerate(zip(generation.melodies, tunes, generation.plans,
                                                     strict=True)):
            path = Path(folder) / f"m{k}.abc"
            path.write_text(tune_text(melody, tune))
            try:
                song = read_song(path, step)
            except ValueError:  # a tune its own reader refuses: not honoured
                kept.append(False)
                continue
            kept.append((song.form, tuple(song.part_bars)) == (as_written(plan.form), read_bars(plan)))
    return float(np.mean(kept)) if kept else math.nan


def read_bars(plan) -> tuple[int, ...]:
    """A plan's bars per part as the corpus's reader counts them (src/data/form.py): each part's played
    steps over the bar's, rounded, where the tune's pickup is the first part's and the last part's last
    bar is short by as much; the bars asked for unless the pickup is longer than half a bar."""
    bar, pickup = plan.meter.bar_length, plan.meter.pickup
    steps = [bars * bar for bars in plan.part_bars]
    steps[0] += pickup
    steps[-1] -= pickup
    return tuple(max(1, round(s / bar)) for s in steps)


def as_written(form: str) -> str:
    """A form as its ABC reads back: a part repeats by letter only right after itself (`|: :|`); a part
    played again later is written out, a part of its own (`AABA` reads `AABC`)."""
    out = ""
    for k, letter in enumerate(form):
        out += out[-1] if k and letter == form[k - 1] else chr(ord("A") + len(set(out)))
    return out


def style_tunes(module, corpus, songs: list[dict], style: str) -> tuple[list[list[str]], list[tuple]]:
    """The symbols and the keys (tonic, mode) of the songs of `style` among `songs`."""
    own = [s for s in songs if s.get("style") == style]
    return [module.vocab.decode(corpus.song_tokens(s)) for s in own], [song_key(s) for s in own]


def style_report(module, corpus, split: str, request, count: int, device: torch.device,
                 styles: list[str] | None = None) -> dict:
    """Per style: held-out bits and songs, and `count` unseeded melodies asked for it (drawn with
    `request`'s sampling settings, in the model's register) against its held-out songs and, for the
    statistics, its training songs."""
    songs, trained = corpus.split(split), corpus.split("train")
    styles = styles or heldout_styles(module, songs)
    bits = style_bits(module, corpus, split, device)
    report = {}
    for style in styles:
        real, real_keys = style_tunes(module, corpus, songs, style)
        asked = replace(request, style=style, num_samples=count, octave="model", key=None, seed="")
        generator = torch.Generator(device=device).manual_seed(request.rng_seed)
        generation = module.generate(asked, generator)
        melodies = generation.melodies
        keys = [melody_key(m, module.encoding.normalize_key) for m in melodies]
        figures = {"songs": len(real), "bits": bits.get(style, math.nan)}
        for name, group, group_keys in (("real", real, real_keys), ("generated", melodies, keys),
                                        ("train", *style_tunes(module, corpus, trained, style))):
            stats = [melody_stats(m, tonic, mode) for m, (tonic, mode) in zip(group, group_keys, strict=True)]
            figures[name] = {stat: float(np.nanmean([row[stat] for row in stats])) if stats else math.nan
                             for stat in STATS} | {"count": len(group)}
        figures["classifier"] = two_sample(melodies, keys, real, real_keys, request.rng_seed)
        figures["boosting"] = two_sample(melodies, keys, real, real_keys, request.rng_seed, "boosting")
        figures["form_honoured"] = form_honoured(generation, module.encoding.step)
        figures["forms"] = sorted({plan.form for plan in generation.plans})
        report[style] = figures
    return report
