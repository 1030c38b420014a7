"""`python -m tools.calibration CKPT [--split val] [--melodies 1000] [--span 20]`: are a net's odds honest?

Three tables, printed as Markdown, for a causal checkpoint (the held-out songs each read alone, from its
opening `/`, as `src.evaluate` scores them):

1. **Reliability.** Every (step, symbol) probability the net gives, bucketed; per bucket the probability it
   predicted in all and how often those symbols came: a ratio over 1 means the net is too sure against
   them (its tails too thin), under 1 too ready to give them.
2. **Temperature.** The split's bits per step with the logits divided by each temperature: where a
   temperature over 1 lowers them, the net is overconfident.
3. **Widening.** At each step after a song's first note, the probability the net gives to a pitch that
   would make the song span more than `--span` semitones (and more than it already does), per step, on the
   held-out songs and on its own unseeded melodies (drawn as `src.evaluate` draws them, rng_seed 0, but with
   no `max_span` or `end_floor`: as the net itself would go): how far its own melodies lead it from how it
   reads real songs.
"""

from __future__ import annotations

import argparse
import math

import torch

from src.checks import choice, integer
from src.errors import UserError, exit_on_user_error
from src.evaluate import SPLITS, evaluation_steps
from src.models.checkpoint import load_module, resolve_checkpoint
from src.models.generation import GenerationRequest
from src.models.generation.sampling import Span
from tools.reading import melody_inputs, read_alone, run_corpus, song_inputs

EDGES = (0.0, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 1.0 + 1e-9)  # probability buckets
TEMPERATURES = (0.9, 1.0, 1.05, 1.1, 1.2)


def reliability(logits: torch.Tensor, targets: torch.Tensor) -> list[tuple[float, float, float, int]]:
    """Per bucket of EDGES: (low edge, probability predicted in all, symbols that came, pairs) over logits
    (N, V) and their targets (N,)."""
    probs = torch.softmax(logits, dim=-1).flatten()  # (N V,)
    came = torch.nn.functional.one_hot(targets, logits.shape[-1]).flatten().bool()
    rows = []
    for low, high in zip(EDGES[:-1], EDGES[1:], strict=True):
        inside = (probs >= low) & (probs < high)
        rows.append((low, float(probs[inside].sum()), float(came[inside].sum()), int(inside.sum())))
    return rows


def tempered_bits(logits: torch.Tensor, targets: torch.Tensor, temperature: float) -> float:
    """Bits per step of targets (N,) under logits (N, V) divided by `temperature`."""
    return torch.nn.functional.cross_entropy(logits / temperature, targets).item() / math.log(2)


def widening(logits: torch.Tensor, ids: torch.Tensor, span: int) -> tuple[float, int]:
    """(probability summed over steps, steps) that the next symbol is a pitch widening the song past `span`
    semitones and past its own span so far; logits (T, V) after inputs ids (T,), counted from the first
    pitch (pitch ids are a semitone apart)."""
    probs = torch.softmax(logits, dim=-1)
    so_far = Span(ids[:1][None])  # the sampler's bookkeeping of `max_span` (ids[0] added twice: no-op)
    total, steps = 0.0, 0
    for t in range(len(ids)):
        so_far.add(ids[t:t + 1])
        if so_far.high[0] == 0:  # no pitch yet
            continue
        total, steps = total + float(probs[t, so_far.outside(logits.shape[-1], span)[0]].sum()), steps + 1
    return total, steps


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpt")
    parser.add_argument("--split", default="val", help=f"held-out songs: {' or '.join(SPLITS)}")
    parser.add_argument("--melodies", type=int, default=1000, help="its own unseeded melodies (table 3)")
    parser.add_argument("--span", type=int, default=20, help="semitones (table 3)")
    args = parser.parse_args()
    choice("--split", args.split, SPLITS)
    integer("--span", args.span, 1)
    # checked before any work; no max_span or end_floor: the melodies go wherever the net takes them
    request = GenerationRequest(num_samples=args.melodies, steps=evaluation_steps(), max_span=0, end_floor=0,
                                octave="model")  # read by the net in the register it was trained in
    path = resolve_checkpoint(args.ckpt)
    module = load_module(path).eval()
    if not module.causal:
        raise UserError(f"{args.ckpt} is a {module.kind} checkpoint; accepted: a causal net (lstm_attn_lm, "
                        "gru_lm, transformer_lm)")
    corpus = run_corpus(module, args.ckpt)
    # (logits (T, V), targets (T,), input ids (T,)) per held-out song
    songs = [(read_alone(module.net, ids, context), targets, ids)
             for ids, context, targets in song_inputs(corpus, args.split)]
    logits, targets = torch.cat([s[0] for s in songs]), torch.cat([s[1] for s in songs])
    print(f"| probability given | pairs | predicted | came | came / predicted ({args.split} songs) |")
    print("| --- | --- | --- | --- | --- |")
    for low, predicted, came, pairs in reliability(logits, targets):
        print(f"| >= {low:g} | {pairs} | {predicted:.1f} | {came:.0f} | {came / max(predicted, 1e-9):.2f} |")
    print("\n| temperature | " + " | ".join(f"{t:g}" for t in TEMPERATURES) + " |")
    print("| --- " * (len(TEMPERATURES) + 1) + "|")
    bits = [f"{tempered_bits(logits, targets, t):.4f}" for t in TEMPERATURES]
    print(f"| {args.split} bits | " + " | ".join(bits) + " |")
    generation = module.generate(request, torch.Generator().manual_seed(0))
    own = []
    for symbols, meter in zip(generation.melodies, generation.meters, strict=True):
        ids, melody_context = melody_inputs(corpus, symbols, meter)
        own.append((read_alone(module.net, ids, melody_context), ids))
    print(f"\n| read | P(widening past {args.span} semitones) per step |")
    print("| --- | --- |")
    for label, rows in ((f"{args.split} songs", [(s[0], s[2]) for s in songs]), ("its melodies", own)):
        total, steps = (sum(v) for v in zip(*(widening(lg, ids, args.span) for lg, ids in rows), strict=True))
        print(f"| {label} | {total / max(steps, 1):.5f} |")


if __name__ == "__main__":
    main()
