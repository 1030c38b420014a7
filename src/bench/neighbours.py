"""Does a causal net lean on the song before? Each song's opening read alone against after its neighbour.

`python -m src.bench.neighbours CKPT_OR_RUN [CKPT_OR_RUN ...] [--opening 32] [--songs 300]`

A causal net trains on windows that run across song boundaries. In the corpus's own order neighbouring
songs are often alike (one collector, one region, one tune family), so a net can learn to read a song's
rhythm and style off the song before it. Sampling and scoring never give it one: both read a song after
a lone `/`. This scores the first `opening` steps of each song (the first `songs` of the train and test
splits, in corpus order) both ways: alone, and after the up to `CONTEXT` steps before it in the split's
stream. It prints, per checkpoint and split, bits per step both ways and the net's predicted share of
holds over the actual share (1.0 = calibrated), as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math

import torch

from src.checks import integer
from src.data.sequences import stream_array
from src.data.vocab import HOLD_ID
from src.errors import UserError, exit_on_user_error
from src.evaluate import build_datamodule, run_config, run_folder
from src.models.checkpoint import load_module, resolve_checkpoint

CONTEXT = 256  # steps of the stream before a song that "after its neighbour" reads
SETTINGS = {"batch_size": 64, "cache_dir": None}


def opening_scores(net, corpus, split: str, opening: int, songs: int) -> dict:
    """Bits per step and predicted / actual holds of each song's first `opening` steps, alone and after
    the stream before it (the split in corpus order)."""
    tokens, starts, context = stream_array(corpus, split)
    ends = [*starts[1:].tolist(), len(tokens) - 1]  # each song's closing '/'
    totals = {way: [0.0, 0.0, 0, 0] for way in ("alone", "after_neighbour")}  # bits, holds p, holds, steps
    for start, end in list(zip(starts.tolist(), ends, strict=True))[:songs]:
        last = min(end, start + opening)  # the opening's last input (its target: step `opening` or `/`)
        for way, first in (("alone", start), ("after_neighbour", max(0, start - CONTEXT))):
            inputs = torch.from_numpy(tokens[first:last].astype("int64"))  # (T,): ... / opening
            targets = torch.from_numpy(tokens[first + 1:last + 1].astype("int64"))
            ctx = torch.from_numpy(context[first + 1:last + 1].astype("int64"))  # the targets' context
            with torch.inference_mode():
                logits, _ = net.step(inputs[None], None, ctx[None])  # (1, T, V)
            skip = start - first  # score the song's own opening only
            logp = torch.log_softmax(logits[0, skip:].float(), dim=-1)  # (opening, V)
            y = targets[skip:]
            total = totals[way]
            total[0] += float(-logp.gather(1, y[:, None]).sum()) / math.log(2)
            total[1] += float(logp[:, HOLD_ID].exp().sum())
            total[2] += int((y == HOLD_ID).sum())
            total[3] += len(y)
    return {way: {"bits": round(bits / steps, 4), "holds_predicted_over_actual": round(p / holds, 3),
                  "steps": steps} for way, (bits, p, holds, steps) in totals.items()}


def compare(paths: list[str], opening: int, songs: int) -> dict:
    result = {"opening_steps": opening, "songs_per_split": songs, "context_steps": CONTEXT, "checkpoints": {}}
    for path in paths:
        ckpt = resolve_checkpoint(path)
        module = load_module(ckpt).eval()
        if not module.causal:
            raise UserError(f"{path} is not a causal net (lstm_attn_lm, gru_lm, transformer_lm); accepted: "
                            "checkpoints of a model trained on every position")
        data = run_config(run_folder(ckpt))[0].get("data", {})
        corpus = build_datamodule(module, data, SETTINGS).load_corpus()
        result["checkpoints"][path] = {split: opening_scores(module.net, corpus, split, opening, songs)
                                       for split in ("train", "test")}
    return result


@exit_on_user_error
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpt", nargs="+")
    parser.add_argument("--opening", type=int, default=32, help="steps scored at each song's start")
    parser.add_argument("--songs", type=int, default=300, help="songs scored per split (corpus order)")
    args = parser.parse_args(argv)
    for name in ("opening", "songs"):
        integer(f"--{name}", getattr(args, name), 1)
    result = compare(args.ckpt, args.opening, args.songs)
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
