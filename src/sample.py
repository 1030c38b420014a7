"""`python -m src.sample ckpt=PATH_OR_RUN_DIR [seed="60 _ 62 _"] [key=value ...]`: write melodies.

`mode=continue` (default) continues the seed; `mode=infill` (a transformer_lm checkpoint) regenerates
`span=A:B` or `bars=A:B` of it and keeps the rest; a VAE checkpoint takes `mode=prior` (new segments),
`mode=vary` (variations of the seed) or `mode=interpolate` (from seed to seed2).

Every setting of the model (type, sizes, vocabulary, grid, window) comes from the checkpoint.
All input is checked before anything is written; files are written whole or not at all.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from src.atomic import atomic_dir, atomic_path
from src.checks import boolean, check
from src.config import check_writable, literal_settings, parse_device
from src.data.abc_notation import Tune
from src.data.meter import check_qpm
from src.data.score_writer import generation_tunes, write_abc, write_midi, write_musicxml
from src.errors import UserError, exit_on_user_error
from src.models.checkpoint import file_sha256, load_module, resolve_checkpoint
from src.models.generation import Generation, GenerationRequest
from src.models.generation.request import DEFAULTS

TEXT_KEYS = ("ckpt", "seed", "seed2", "tune", "seed_bars", "key", "out_dir", "name", "device",
             "time_signature", "mode", "span", "bars", "octave")


def parse_args(argv: list[str]) -> dict:
    """`key=value` pairs over conf/generation.yaml and conf/sample.yaml. Values are taken literally (so
    `key=f#m` works)."""
    return literal_settings(argv, "sample", TEXT_KEYS, generation=tuple(DEFAULTS))


def check_name(name: object) -> str:
    """`name` is the stem of the files written into out_dir: no folders, nothing hidden."""
    text = str(name)
    return check("name", text, text.strip() != "" and not text.startswith(".") and text.isprintable()
                 and not any(c in text for c in "/\\"),
                 "a file name stem such as melody or reel-in-G (no '/' or '\\', not empty, not starting "
                 "with '.')")


def output_settings(settings: dict) -> None:
    """The settings of the written files (the generation settings are the request's to check)."""
    if not settings["ckpt"]:
        raise UserError("ckpt= is required: a .ckpt file or a run folder")
    check_qpm(settings["qpm"])
    check_name(settings["name"])
    boolean("abc_fold", settings["abc_fold"])


def abc_tunes(generation: Generation, settings: dict, meta: dict) -> list[tuple[list[str], Tune]]:
    """Each melody with what its ABC tune needs: meter, pickup, key, title, and the checkpoint and
    settings as a comment."""
    sha = meta["checkpoint_sha256"][:12]
    comments = (f"melody-generator {meta['model']}: {meta['checkpoint']} (sha256 {sha})",
                " ".join(f"{k}={v}" for k, v in meta["settings"].items() if v not in ("", None)))
    if meta.get("seed", "").strip():
        comments += (f"seed={meta['seed']}",)
    tunes = generation_tunes(generation, meta["step"], settings["name"], settings["qpm"], comments,
                             settings["abc_fold"])
    return list(zip(generation.melodies, tunes, strict=True))


def write_melodies(generation: Generation, out_dir: Path, settings: dict, meta: dict) -> list[Path]:
    """NAME_kk.{mid,musicxml,abc,json} per melody, each in its meter with its pickup bar, and the batch as
    one tune book NAME.abc; a new folder appears whole, an existing one per file."""
    tunes = abc_tunes(generation, settings, meta)

    def write_all(folder: Path) -> list[Path]:
        paths = []
        for k, (melody, meter) in enumerate(zip(generation.melodies, generation.meters, strict=True)):
            stem = folder / f"{settings['name']}_{k:02d}"
            style = {"step": meta["step"], "qpm": settings["qpm"], "time_signature": meter.time_signature,
                     "pickup": meter.pickup}
            write_midi(melody, stem.with_suffix(".mid"), **style)
            tune = tunes[k][1]
            write_musicxml(melody, stem.with_suffix(".musicxml"), title=tune.title, key=tune.key, **style)
            write_abc([tunes[k]], stem.with_suffix(".abc"))
            plan = generation.plans[k].as_record() if generation.plans else {}
            record = {**meta, "index": k, **meter.as_record(), **plan, "key": tunes[k][1].key.field(),
                      "symbols": " ".join(melody)}
            with atomic_path(stem.with_suffix(".json")) as tmp:
                tmp.write_text(json.dumps(record, indent=1))
            paths.append(stem.with_suffix(".mid"))
        write_abc(tunes, folder / f"{settings['name']}.abc")
        return paths

    if out_dir.exists():
        return write_all(out_dir)
    with atomic_dir(out_dir) as tmp:
        write_all(tmp)
    return [out_dir / p.name for p in sorted(out_dir.glob("*.mid"))]


@exit_on_user_error
def main(argv: list[str] | None = None) -> list[list[str]]:
    settings = parse_args(sys.argv[1:] if argv is None else argv)
    request = GenerationRequest.from_settings(settings)  # the generation settings, checked
    output_settings(settings)
    out_dir = Path(settings["out_dir"] or Path("outputs/samples") / time.strftime("%Y-%m-%d_%H-%M-%S"))
    check_writable(out_dir)
    device = parse_device(settings["device"])
    ckpt = resolve_checkpoint(settings["ckpt"])
    module = load_module(ckpt, map_location=device)
    generation = module.generate(request)
    for note in generation.notes:
        print(note, file=sys.stderr)
    meta = {
        "mode": settings["mode"], "seed": str(settings["seed"]),
        **({"seed2": str(settings["seed2"])} if settings["mode"] == "interpolate" else {}),
        **({key: str(settings[key]) for key in ("span", "bars") if settings[key]}
           if settings["mode"] == "infill" else {}),
        "settings": {k: settings[k] for k in (
            "steps", "min_steps", "temperature", "top_k", "top_p", "end_floor", "max_span", "endings",
            "num_samples", "rng_seed", "key", "qpm", "time_signature", "pickup", "tune", "seed_bars",
            "octave", "style", "tune_type", "form", "part_bars")},
        "checkpoint": str(ckpt), "checkpoint_sha256": file_sha256(ckpt),
        "model": module.kind,
        "step": module.encoding.step,
    }
    write_melodies(generation, out_dir, settings, meta)
    for melody in generation.melodies:
        print(" ".join(melody))
    print(f"wrote {len(generation.melodies)} melodies to {out_dir}", file=sys.stderr)
    return generation.melodies


if __name__ == "__main__":
    main()
