"""`python -m src.sample ckpt=PATH_OR_RUN_DIR [seed="60 _ 62 _"] [key=value ...]`: write melodies.

`mode=continue` (default) continues the seed; a VAE checkpoint takes `mode=prior` (new segments),
`mode=vary` (variations of the seed) or `mode=interpolate` (from seed to seed2).

Every setting of the model (type, sizes, vocabulary, grid, window) comes from the checkpoint.
All input is checked before anything is written; files are written whole or not at all.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import torch

from src.atomic import atomic_dir, atomic_path
from src.config import check_values, check_writable, literal_settings, parse_device
from src.data.encoding import write_midi, write_musicxml
from src.data.keys import shift_to_reference
from src.data.vocab import BOUNDARY, BOUNDARY_ID, HOLD, REST
from src.errors import UserError, exit_on_user_error
from src.models.checkpoint import file_sha256, load_module, resolve_checkpoint
from src.models.vae import fit_segment
from src.models.vae_module import VAEModule

MAX_STEPS = 10_000
MAX_SAMPLES = 1_000
TEXT_KEYS = ("ckpt", "seed", "seed2", "key", "out_dir", "name", "device", "time_signature", "mode")
MODES = ("continue", "prior", "vary", "interpolate")  # all but `continue` need a VAE checkpoint
_KEY = re.compile(r"^([A-Ga-g])([#b]?)(m|min|minor|maj|major)?$")
_PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_TIME_SIGNATURE = re.compile(r"^(\d{1,2})/(\d{1,2})$")


def parse_args(argv: list[str]) -> dict:
    """`key=value` pairs over conf/sample.yaml. Values are taken literally (so `key=f#m` works)."""
    return literal_settings(argv, "sample", TEXT_KEYS)


def parse_key(text: str) -> tuple[int, str]:
    """`E`, `Bb`, `f#m`, `Am`, `c` (lowercase alone = minor, as in music21) -> (tonic pc, mode)."""
    match = _KEY.match(text.strip())
    if not match:
        raise UserError(f"key={text!r} is not a key; accepted: a tonic A-G with # or b and an "
                        "optional m for minor, e.g. E, Bb, f#m, Am")
    letter, accidental, mode = match.groups()
    tonic = (_PITCH_CLASS[letter.upper()] + {"#": 1, "b": -1, "": 0}[accidental]) % 12
    minor = mode in ("m", "min", "minor") or (mode is None and letter.islower())
    return tonic, "minor" if minor else "major"


def parse_time_signature(text: object) -> tuple[int, int]:
    """`3/4` -> (3, 4): a numerator 1..32 over a power-of-two denominator 1..64, as MIDI and MusicXML take."""
    match = _TIME_SIGNATURE.match(str(text).strip())
    numerator, denominator = (int(g) for g in match.groups()) if match else (0, 0)
    if not (1 <= numerator <= 32 and denominator in (1, 2, 4, 8, 16, 32, 64)):
        raise UserError(f"time_signature={text!r} is not accepted; accepted: N/D with N 1..32 and D a "
                        "power of two 1..64, e.g. 4/4, 3/4, 6/8")
    return numerator, denominator


def check_name(name: object) -> str:
    """`name` is the stem of the files written into out_dir: no folders, nothing hidden."""
    text = str(name)
    if (not text.strip() or text.startswith(".") or any(c in text for c in "/\\")
            or not text.isprintable()):
        raise UserError(f"name={text!r} is not accepted; accepted: a file name stem such as melody or "
                        "reel-in-G (no '/' or '\\', not empty, not starting with '.')")
    return text


def check_settings(settings: dict) -> None:
    """Range checks of the sampling settings; each failure names the setting and what is accepted."""
    checks = [
        ("steps", lambda v: 1 <= v <= MAX_STEPS, f"an integer 1..{MAX_STEPS}", int),
        ("min_steps", lambda v: 0 <= v, "an integer >= 0", int),
        ("num_samples", lambda v: 1 <= v <= MAX_SAMPLES, f"an integer 1..{MAX_SAMPLES}", int),
        ("top_k", lambda v: v >= 0, "an integer >= 0 (0 = off)", int),
        ("rng_seed", lambda v: True, "an integer", int),
        ("temperature", lambda v: v > 0, "a number > 0", float),
        ("top_p", lambda v: 0 < v <= 1, "a number in (0, 1]", float),
        ("qpm", lambda v: 0 < v <= 1000, "a number in (0, 1000]", float),
    ]
    check_values(settings, checks)
    if not settings["ckpt"]:
        raise UserError("ckpt= is required: a .ckpt file or a run folder")
    parse_time_signature(settings["time_signature"])
    check_name(settings["name"])
    if settings["mode"] not in MODES:
        raise UserError(f"mode={settings['mode']!r} is not accepted; accepted: {', '.join(MODES)}")
    mode, seed, seed2 = settings["mode"], str(settings["seed"]).strip(), str(settings["seed2"]).strip()
    if mode == "prior" and seed:
        raise UserError("mode=prior takes no seed (it draws new melodies); accepted: seed= empty, "
                        "or mode=vary to vary the seed")
    if mode in ("vary", "interpolate") and not seed:
        raise UserError(f"mode={mode} needs a seed: a melody such as seed=\"60 _ 62 _ 64 _ _ _\"")
    if mode == "interpolate" and not seed2:
        raise UserError("mode=interpolate needs seed2: the melody the path ends at")
    if mode != "interpolate" and seed2:
        raise UserError(f"seed2 is only used by mode=interpolate, not mode={mode}")
    if mode == "interpolate" and settings["num_samples"] < 2:
        raise UserError("mode=interpolate needs num_samples >= 2 (the two ends are included)")


def sample_melodies(module, seed: list[str], settings: dict) -> list[list[str]]:
    """Seed symbols + generated symbols for each of `num_samples` melodies (one batch)."""
    generator = torch.Generator(device=torch.device(settings["device"])).manual_seed(settings["rng_seed"])
    return continue_melodies(
        module, [seed] * settings["num_samples"], settings["steps"], generator,
        temperature=settings["temperature"], top_k=settings["top_k"], top_p=settings["top_p"],
        min_steps=settings["min_steps"],
    )


def continue_melodies(module, seeds: list[list[str]], steps: int, generator: torch.Generator,
                      **sampling) -> list[list[str]]:
    """Each seed (all of one length) continued once, in one batch on the generator's device.

    Returns seed + generated symbols per melody; `sampling` takes temperature, top_k, top_p, min_steps.
    """
    if len({len(seed) for seed in seeds}) > 1:
        raise ValueError("the seeds of one batch must have one length")
    vocab = module.vocab
    prompt = [[BOUNDARY_ID] * module.window + vocab.encode(seed).tolist() for seed in seeds]  # (B, T)
    prompt_ids = torch.tensor(prompt, dtype=torch.long, device=generator.device)
    generated = module.sample(prompt_ids, steps, generator=generator, **sampling)
    melodies = []
    for seed, ids in zip(seeds, generated, strict=True):
        melody = seed + vocab.decode(ids)
        if melody and melody[0] == HOLD:
            melody[0] = REST  # a new song that opens with a hold: it can only be timed as a rest
        melodies.append(melody)
    return melodies


def vae_melodies(module, seed: list[str], seed2: list[str], settings: dict) -> list[list[str]]:
    """Segments from a VAE checkpoint: from the prior, variations of the seed, or seed -> seed2."""
    vocab, mode, n = module.vocab, settings["mode"], settings["num_samples"]
    length = module.net.segment_length  # seeds are read as one whole segment: padded or cropped
    for text, symbols in (("seed", seed), ("seed2", seed2)):
        if symbols and len(symbols) != length:  # a VAE reads one whole segment
            how = f"padded with {length - len(symbols)} holds" if len(symbols) < length else "cropped"
            print(f"{text}: {len(symbols)} symbols {how} to the model's segment_length={length}",
                  file=sys.stderr)
    ids = [torch.tensor(fit_segment(vocab.encode(s).tolist(), length)) for s in (seed, seed2) if s]
    steps = min(settings["steps"], length)
    generator = torch.Generator(device=settings["device"]).manual_seed(settings["rng_seed"])
    sampling = {"temperature": settings["temperature"], "top_k": settings["top_k"],
                "top_p": settings["top_p"], "generator": generator}
    if mode == "prior":
        drawn = module.net.prior(n, steps, **sampling)
    elif mode == "vary":
        drawn = module.net.vary(ids[0], n, steps, **sampling)
    else:
        drawn = module.net.interpolate(ids[0], ids[1], n, steps)  # greedy: the ends as reconstructed
    return [vocab.decode(row) for row in drawn.tolist()]


def transpose_symbols(symbols: list[str], semitones: int) -> list[str]:
    """Move pitch symbols by `semitones`; anything else (including bad symbols, checked later) stays."""
    # ASCII digits only: '²' and '٦٠' are digits to str.isdigit but not pitch numbers (refused later)
    return [str(int(s) + semitones) if s.isascii() and s.isdigit() else s for s in symbols]


def write_melodies(melodies: list[list[str]], out_dir: Path, settings: dict, meta: dict) -> list[Path]:
    """NAME_kk.{mid,musicxml,json} per melody; a new folder appears whole, an existing one per file."""
    def write_all(folder: Path) -> list[Path]:
        paths = []
        for k, melody in enumerate(melodies):
            stem = folder / f"{settings['name']}_{k:02d}"
            style = {"step": meta["step"], "qpm": settings["qpm"],
                     "time_signature": settings["time_signature"]}
            write_midi(melody, stem.with_suffix(".mid"), **style)
            write_musicxml(melody, stem.with_suffix(".musicxml"), title=f"{settings['name']} {k}", **style)
            record = {**meta, "index": k, "symbols": " ".join(melody)}
            with atomic_path(stem.with_suffix(".json")) as tmp:
                tmp.write_text(json.dumps(record, indent=1))
            paths.append(stem.with_suffix(".mid"))
        return paths

    if out_dir.exists():
        return write_all(out_dir)
    with atomic_dir(out_dir) as tmp:
        write_all(tmp)
    return [out_dir / p.name for p in sorted(out_dir.glob("*.mid"))]


@exit_on_user_error
def main(argv: list[str] | None = None) -> list[list[str]]:
    settings = parse_args(sys.argv[1:] if argv is None else argv)
    check_settings(settings)
    out_dir = Path(settings["out_dir"] or Path("outputs/samples") / time.strftime("%Y-%m-%d_%H-%M-%S"))
    check_writable(out_dir)
    device = parse_device(settings["device"])
    ckpt = resolve_checkpoint(settings["ckpt"])
    module = load_module(ckpt, map_location=device)
    encoding = module.hparams.encoding

    shift = 0
    if settings["key"]:
        if not encoding.get("normalize_key", True):
            raise UserError("key= needs a model trained with data.normalize_key=true (it knows no key)")
        shift = shift_to_reference(*parse_key(settings["key"]))  # seed key -> the model's C / A
    seed, seed2 = (_parse_seed(module, settings, name, shift) for name in ("seed", "seed2"))
    is_vae = isinstance(module, VAEModule)
    model = module.hparams.net.get("name", module.hparams.net.get("_target_"))
    if settings["mode"] == "continue" and is_vae:
        raise UserError(f"mode=continue does not apply to the VAE checkpoint ({model}): it does not "
                        "continue a seed; accepted: mode=prior, mode=vary, mode=interpolate")
    if settings["mode"] != "continue" and not is_vae:
        raise UserError(f"mode={settings['mode']} needs a VAE checkpoint (experiment=vae); this one is "
                        f"{model}: accepted mode=continue")

    if is_vae:
        melodies = vae_melodies(module, seed, seed2, settings)
    else:
        melodies = sample_melodies(module, seed, settings)
    melodies = [transpose_symbols(m, -shift) for m in melodies]
    meta = {
        "mode": settings["mode"], "seed": str(settings["seed"]),
        **({"seed2": str(settings["seed2"])} if settings["mode"] == "interpolate" else {}),
        "settings": {k: settings[k] for k in (
            "steps", "min_steps", "temperature", "top_k", "top_p", "num_samples", "rng_seed", "key", "qpm")},
        "checkpoint": str(ckpt), "checkpoint_sha256": file_sha256(ckpt),
        "model": model,
        "step": encoding["step"],
    }
    write_melodies(melodies, out_dir, settings, meta)
    for melody in melodies:
        print(" ".join(melody))
    print(f"wrote {len(melodies)} melodies to {out_dir}", file=sys.stderr)
    return melodies


def _parse_seed(module, settings: dict, name: str, shift: int) -> list[str]:
    """Setting `name` (seed or seed2) as symbols in the model's key, checked."""
    text = " ".join(transpose_symbols(str(settings[name]).split(), shift))
    try:
        seed = module.vocab.parse_melody(text)
    except UserError as err:
        note = f" (after moving key {settings['key']} to the model's key by {shift:+d})" if shift else ""
        raise UserError(f"{name}: {err}{note}") from None
    if BOUNDARY in seed:
        raise UserError(f"{name} may not contain '/': a seed is the start of one song")
    return seed


if __name__ == "__main__":
    main()
