"""One model for every collection against a model of one: held-out bits on essen_erk's test split, side
by side, and a style model's bits per style on its own corpus's test split.

`python -m src.bench.folk CKPT [--reference models/transformer_lm_essen.ckpt] [--cache-dir DIR]`

Each checkpoint is scored on essen_erk's test split as training scores it (src/bundle.py's
`score_module`: the checkpoint's own encoding, the corpus set to essen_erk), twice: with
`data.off_grid=skip` (the songs `transformer_lm_essen` was scored on) and with `snap` (the default; a
few more songs). A model trained with styles also reads each song's style (`essen_erk`) and form. Then
the style model's bits per symbol and per quarter note for each style of its own test split
(src/eval/styles.py). Prints a markdown table and one JSON object.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import torch

from src.bundle import score_module
from src.data.datamodule import MelodyDataModule
from src.errors import exit_on_user_error
from src.eval.styles import style_bits
from src.models.checkpoint import load_module, resolve_checkpoint


def erk_bits(module, cache_dir: str | None) -> dict[str, float]:
    """test/bits on essen_erk's test split with off_grid skip and snap."""
    return {off_grid: score_module(module, cache_dir, "essen_erk", off_grid)["test/bits"]
            for off_grid in ("skip", "snap")}


@exit_on_user_error
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("ckpt")
    parser.add_argument("--reference", default="models/transformer_lm_essen.ckpt")
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args(argv)
    rows, result = [], {}
    for name in (args.reference, args.ckpt):  # the style model last: `module` is it below
        module = load_module(resolve_checkpoint(name))
        result[name] = {"essen_erk": erk_bits(module, args.cache_dir)}
        rows.append(f"| `{name}` | {result[name]['essen_erk']['skip']:.4f} | "
                    f"{result[name]['essen_erk']['snap']:.4f} |")
    print("| checkpoint | essen_erk test bits (skip) | (snap) |\n|---|---|---|\n" + "\n".join(rows))
    if module.encoding.styles:
        cache = {"cache_dir": args.cache_dir} if args.cache_dir else {}
        datamodule = MelodyDataModule.from_record(replace(module.encoding, extra_train=None), **cache)
        per_style = style_bits(module, datamodule.load_corpus(), "test", torch.device("cpu"))
        quarter = 1 / module.encoding.step  # steps per quarter note
        result[args.ckpt]["styles"] = per_style
        print("\n| style | test bits / step | bits / quarter note |\n|---|---|---|")
        for style, bits in sorted(per_style.items()):
            print(f"| {style} | {bits:.4f} | {bits * quarter:.2f} |")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
