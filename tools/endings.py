"""`python -m tools.endings CKPT [CKPT ...] [--melodies 256] [--end-floor 0]`: where melodies end.

For each checkpoint, unseeded melodies as `src.evaluate` draws them (same request defaults, rng_seed 0;
`--end-floor` as the sampling setting),
grouped by the mode each was asked for: the share whose last note is each pitch class (in the model's
C major / A minor), the share ending on the asked mode's tonic, and how often the key profiles the
evaluation scores with estimate the mode that was asked. The first row is essen_erk's training songs by
their own key. One table, printed as Markdown.

A second table says where each net puts its probability of ending (`/` next): the share of it that falls
on steps whose last note is the tonic (of the key each melody is scored in), summed over the test songs
read alone and over the net's own melodies, beside the share that actually end there; and how many long
notes (a quarter note or more, and at least half a bar) each holds per 100 steps, and on the tonic per
melody. A net that knows how songs end puts the songs' share on the test songs; where its own melodies
differ, they lead it to end elsewhere.

A third table says how the last notes fall: the share of melodies whose last note starts on a downbeat,
the share whose last note lasts under a quarter of a bar (an abrupt end), the share on the tonic of each
kind, and the share that never ended within the steps drawn (as many as `src.evaluate` draws).
"""

from __future__ import annotations

import argparse
from collections import Counter

import torch

from src.data.keys import KEY_NAMES
from src.data.meter import planned_positions
from src.data.vocab import BOUNDARY_ID, symbols_to_events
from src.errors import exit_on_user_error
from src.eval.keys import melody_key, song_key
from src.evaluate import evaluation_steps
from src.models.checkpoint import load_module, resolve_checkpoint
from src.models.generation import GenerationRequest
from tools.reading import melody_inputs, read_alone, run_corpus, song_inputs

UNLIKELY = 0.05  # an end drawn where `/` had less probability than this
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


def model_endings(ckpt: str, request: GenerationRequest) -> tuple[list[tuple[str, str | None]], float, dict]:
    module = load_module(resolve_checkpoint(ckpt)).eval()
    generation = module.generate(request, torch.Generator().manual_seed(0))
    asked = [meter.mode for meter in generation.meters]
    agree = sum(melody_key(m)[1] == a for m, a in zip(generation.melodies, asked, strict=True)) / len(asked)
    endings = [(a, last_pitch_class(m)) for a, m in zip(asked, generation.melodies, strict=True)]
    return endings, agree, end_probability(module, ckpt, generation, request.steps)


def notes(symbols: list[str]) -> list[tuple[int, int, int]]:
    """(start step, steps held, pitch) of each note of one melody, rests left out."""
    spans, start = [], 0
    for pitch, steps in symbols_to_events(symbols):
        if pitch is not None:
            spans.append((start, steps, pitch))
        start += steps
    return spans


def long_notes(symbols: list[str], bar: int, tonic: int) -> tuple[int, int]:
    """(long notes, long notes on the tonic pitch class): notes held a quarter note (4 steps) or more,
    and at least half of a `bar`-step bar."""
    long = [pitch for _, steps, pitch in notes(symbols) if steps >= max(4, bar // 2)]
    return len(long), sum(pitch % 12 == tonic for pitch in long)


def last_note(symbols: list[str], first_position: int, bar: int) -> tuple[bool, bool] | None:
    """(starts on a downbeat, lasts under a quarter of the bar) of a melody's last note, its step 0 at
    `first_position` of a `bar`-step bar; None without notes."""
    spans = notes(symbols)
    if not spans:
        return None
    start, steps, _ = spans[-1]
    return (first_position + start) % bar == 0, 4 * steps < bar


def last_note_cells(rows: list[tuple[list[str], int, int, int]], ended: float) -> tuple[float, ...]:
    """(on a downbeat, tonic among them, abrupt, tonic among them, not ended) over (symbols, first
    position, bar, tonic) rows."""
    kinds = [(last_note(s, first, bar), last_pitch_class(s) == KEY_NAMES[t]) for s, first, bar, t in rows]
    kinds = [(kind, hit) for kind, hit in kinds if kind is not None]
    cells = []
    for index in (0, 1):
        hits = [hit for kind, hit in kinds if kind[index]]
        cells += [len(hits) / len(kinds), sum(hits) / max(len(hits), 1)]
    return (*cells, 1 - ended)


def tonic_share(net, ids: torch.Tensor, context: torch.Tensor, symbols: list[str], tonic: int) -> tuple:
    """(P('/') summed over steps whose last note is the tonic, summed over all steps after a note, P('/')
    where the song did end) of one song read alone: `ids` (T,) its opening '/' and steps, `context`
    (T, 3) its targets' context."""
    p_end = torch.softmax(read_alone(net, ids, context), dim=-1)[:, BOUNDARY_ID].tolist()  # after input t
    on_tonic = total = 0.0
    last = None
    for p, symbol in zip(p_end, ["/", *symbols], strict=True):
        last = int(symbol) % 12 if symbol not in ("_", "r", "/") else last
        if last is not None:
            total += p
            on_tonic += p if last == tonic else 0.0
    return on_tonic, total, p_end[-1]


def end_probability(module, ckpt: str, generation, steps: int) -> dict:
    """The second table's cells for one net: its test songs, then its own melodies."""
    corpus = run_corpus(module, ckpt)
    songs, melodies = [], []  # (end-probability shares, (symbols, step 0's bar position, bar, tonic))
    for song, (ids, context, _) in zip(corpus.split("test"), song_inputs(corpus, "test"), strict=True):
        symbols, tonic = corpus.vocab.decode(corpus.song_tokens(song)), song_key(song)[0]
        share = tonic_share(module.net, ids, context, symbols, tonic)
        first, bar = (int(v) for v in corpus.positions[song["offset"]])
        songs.append((share, (symbols, first, bar, tonic)))
    for symbols, meter in zip(generation.melodies, generation.meters, strict=True):
        tonic = melody_key(symbols, module.encoding.normalize_key)[0]
        ids, context = melody_inputs(corpus, symbols, meter)
        first = int(planned_positions(meter.bar_length, meter.pickup, 1)[0, 0])
        melodies.append((tonic_share(module.net, ids, context, symbols, tonic),
                         (symbols, first, meter.bar_length, tonic)))
    ended = sum(len(s) < steps for s in generation.melodies) / len(generation.melodies)
    return {"test songs": (_cells(songs), last_note_cells([row for _, row in songs], 1.0)),
            "its melodies": (_cells(melodies), last_note_cells([row for _, row in melodies], ended))}


def _cells(rows: list) -> tuple[float, ...]:
    """(share of end probability on the tonic, share ending on it, long notes / 100 steps, long tonic
    notes per melody, share of the endings on / off the tonic where the end had under 5% probability)
    over (shares, (symbols, first position, bar, tonic)) rows."""
    on_tonic = sum(share[0] for share, _ in rows) / sum(share[1] for share, _ in rows)
    tonic_end = [last_pitch_class(s) == KEY_NAMES[t] for _, (s, _, _, t) in rows]
    counts = [long_notes(s, bar, t) for _, (s, _, bar, t) in rows]
    steps = sum(len(s) for _, (s, *_) in rows)
    unlikely = [[share[2] < UNLIKELY for (share, _), hit in zip(rows, tonic_end, strict=True) if hit == side]
                for side in (True, False)]
    return (on_tonic, sum(tonic_end) / len(rows), 100 * sum(c[0] for c in counts) / steps,
            sum(c[1] for c in counts) / len(rows), *(sum(u) / max(len(u), 1) for u in unlikely))


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpts", nargs="+")
    parser.add_argument("--melodies", type=int, default=256)
    parser.add_argument("--end-floor", type=float, default=0.0, help="the sampling setting end_floor")
    args = parser.parse_args()
    # checked before any work: a bad --melodies or --end-floor is one line
    request = GenerationRequest(num_samples=args.melodies, steps=evaluation_steps(), end_floor=args.end_floor,
                                octave="model")  # read by the net in the register it was trained in
    print("| melodies | major: last note " + " / ".join(SHOWN["major"]) + " | minor: last note "
          + " / ".join(SHOWN["minor"]) + " | ends on the asked tonic | mode asked = mode estimated |")
    print("| --- " * 5 + "|")
    print(row("essen_erk training songs (their own key)", training_songs(), "1 (their key is the estimate)"))
    probabilities = {}
    for ckpt in args.ckpts:
        endings, agree, probabilities[ckpt] = model_endings(ckpt, request)
        print(row(f"`{ckpt}`", endings, agree))
    print("\n| net | read | end probability on the tonic | ending on the tonic | long notes / 100 steps | "
          "long tonic notes / melody | ends at P('/') < 0.05: on the tonic | elsewhere |")
    print("| --- " * 8 + "|")
    for ckpt, cells in probabilities.items():
        for read, (values, _) in cells.items():
            print(f"| `{ckpt}` | {read} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
    print("\n| net | read | last note on a downbeat | on the tonic | last note under a quarter bar | "
          "on the tonic | never ended |")
    print("| --- " * 7 + "|")
    for ckpt, cells in probabilities.items():
        for read, (_, values) in cells.items():
            print(f"| `{ckpt}` | {read} | " + " | ".join(f"{v:.3f}" for v in values) + " |")


if __name__ == "__main__":
    main()
