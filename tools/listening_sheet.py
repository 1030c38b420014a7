"""A listening sheet: per style, two melodies of a model trained with styles beside two of the style's
held-out tunes, unlabelled in a shuffled order, then labelled; each as ABC and as the sheet music the web
app engraves (verovio SVG).

    python -m tools.listening_sheet ckpt=models/transformer_folk.ckpt out=docs/listening \
        styles=oneills,ryans,airds,essen_erk,essen_han

Both kinds are written alike: in the model's key (C major / A minor) and register, each in its own
meter, so nothing but the notes tells them apart. Melodies: `style=NAME` with its drawn form, meter and
tune type, `rng_seed` 0; tunes: the style's first test songs in split order.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from src.atomic import atomic_path
from src.data.abc_keys import AbcKey
from src.data.abc_notation import Tune, tune_text
from src.data.score_writer import generation_tunes, write_musicxml
from src.evaluate import build_datamodule, run_config, run_folder
from src.models.checkpoint import load_module, resolve_checkpoint
from src.models.generation import GenerationRequest

PER_KIND = 2


def _svg(symbols: list[str], tune: Tune, path: Path) -> None:
    """The first page of the tune's sheet music as the web app engraves it."""
    from src.app.media import sheet_svg

    xml = path.with_suffix(".musicxml")
    write_musicxml(symbols, xml, step=tune.step, time_signature=tune.time_signature, pickup=tune.pickup,
                   title=tune.title, key=tune.key)
    page = sheet_svg(xml.read_text())[0]
    xml.unlink()
    with atomic_path(path) as tmp:
        tmp.write_text(page)


def main(argv: list[str]) -> None:
    args = dict(arg.split("=", 1) for arg in argv)
    ckpt = resolve_checkpoint(args["ckpt"])
    out = Path(args.get("out", "docs/listening"))
    out.mkdir(parents=True, exist_ok=True)
    module = load_module(ckpt)
    datamodule = build_datamodule(module, run_config(run_folder(ckpt))[0].get("data", {}),
                                  {"cache_dir": args.get("cache_dir"), "batch_size": 8})
    corpus = datamodule.load_corpus()
    styles = args.get("styles", ",".join(module.encoding.styles)).split(",")
    step = module.encoding.step
    rng = np.random.default_rng(0)
    lines = ["# Listening sheet", "",
             f"For each style, {PER_KIND} melodies of `{ckpt.name}` (`style=NAME`, its drawn form, meter "
             f"and tune type, `rng_seed=0`) and {PER_KIND} of the style's held-out (test) tunes, shuffled. "
             "All are written alike, in C major or A minor and the model's register, each in its own "
             "meter. Which are which is at the end. Made by `python -m tools.listening_sheet "
             + " ".join(argv) + "`.", ""]
    answers = []
    for style in styles:
        request = GenerationRequest(style=style, num_samples=PER_KIND, octave="model", rng_seed=0)
        generation = module.generate(request)
        tunes = generation_tunes(generation, step, style, None)
        made = [(m, t, "melody") for m, t in zip(generation.melodies, tunes, strict=True)]
        songs = [s for s in corpus.split("test") if s.get("style") == style][:PER_KIND]
        real = []
        for song in songs:
            key = AbcKey(0, "major") if song["mode"] == "major" else AbcKey(9, "minor")
            tune = Tune(step, song["time_signature"], song["pickup"], key, style, 1)
            symbols = module.vocab.decode(corpus.song_tokens(song))
            real.append((symbols, tune, f"held-out tune: {song['title']}"))
        items = made + real
        order = rng.permutation(len(items))
        lines += [f"## {style}", ""]
        labels = []
        for place, index in enumerate(order, start=1):
            symbols, tune, what = items[index]
            name = f"{style}_{place}"
            tune = Tune(tune.step, tune.time_signature, tune.pickup, tune.key, f"{style} {place}", place,
                        None, tune.rhythm, (), True, tune.sections)
            _svg(symbols, tune, out / f"{name}.svg")
            lines += [f"### {style} {place}", "", "```abc", tune_text(symbols, tune).rstrip(), "```", "",
                      f"![{name}]({out.name}/{name}.svg)", ""]
            labels.append(f"{place}: {what}")
        answers.append(f"- **{style}**: " + "; ".join(labels))
    lines += ["## Which is which", "", *answers, ""]
    sheet = out.parent / "listening.md"
    with atomic_path(sheet) as tmp:
        tmp.write_text("\n".join(lines))
    print(f"wrote {sheet} and {len(styles) * 2 * PER_KIND} sheets to {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
