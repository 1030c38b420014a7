"""`python -m src.evaluate ckpt=PATH_OR_RUN_DIR [key=value ...]`: the honest numbers of one checkpoint.
`python -m src.evaluate runs=SWEEP_DIR_OR_RUN_DIRS`: a leaderboard of finished runs (src/eval/leaderboard.py).

For one checkpoint: the test metrics exactly as training scores them (the same DataModule and test step),
musical statistics of generated melodies (seeded with the test songs' openings, and unseeded) against the
held-out songs, and their verbatim overlap with the training split. `split=val` does all of it on the
validation songs instead, so sampling settings can be chosen without looking at the test songs. Writes
report.json, report.md and report_*.png (src/eval/report.py) into the checkpoint's run folder, or for a
checkpoint in none (models/NAME.ckpt) into outputs/evaluate/NAME/. Arguments are literal `name=value` pairs
over conf/evaluate.yaml.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import lightning as L
import numpy as np
import torch
import yaml

from src.checks import choice, integer
from src.config import check_writable, compose_config, literal_settings, parse_device
from src.data.datamodule import MelodyDataModule, split_array
from src.data.record import CACHE_FIELDS
from src.data.vocab import HOLD_ID
from src.errors import UserError, exit_on_user_error
from src.eval import leaderboard, report
from src.eval.infill import infill_report
from src.eval.keys import song_key
from src.eval.melody_sets import generate, rhythm_meter, song_meter
from src.eval.memorization import TrainingPhrases, memorization
from src.eval.realism import realism_tests
from src.eval.rhythm import rhythm_summary
from src.eval.stats import distances, summarize
from src.eval.styles import style_report
from src.models.checkpoint import file_sha256, load_module, resolve_checkpoint
from src.models.generation import GenerationRequest
from src.quiet import quiet_lightning

TEXT_KEYS = ("ckpt", "runs", "out_dir", "device", "cache_dir", "split", "styles")
# the generation settings it takes (conf/generation.yaml): how each melody is drawn
SAMPLING_KEYS = ("temperature", "top_k", "top_p", "end_floor", "max_span", "endings", "rng_seed")
SPLITS = ("test", "val")
RUN_FILES = (".hydra/config.yaml", "hparams.yaml", "metrics.json")  # what a training run leaves in its folder


def check_settings(settings: dict) -> GenerationRequest:
    """Range checks; each failure names the setting and what is accepted. Returns the request of the
    unseeded set (the generation settings are checked by the request itself)."""
    for name in ("seed_length", "window", "batch_size", "style_samples"):
        integer(name, settings[name], 1)
    choice("split", settings["split"], SPLITS,
           note="(the held-out songs to compare with; val chooses settings without looking at test)")
    if bool(settings["ckpt"]) == bool(settings["runs"]):
        raise UserError("give one of ckpt= (a .ckpt file or run folder: a report) or runs= (a sweep "
                        "folder or run folders separated by commas: a leaderboard)")
    return GenerationRequest.from_settings(settings)


def evaluation_steps() -> int:
    """Symbols drawn per melody when `src.evaluate` is given no `steps=` (conf/evaluate.yaml); the tools
    that compare with its reports draw as many."""
    return int(compose_config("evaluate").steps)


def run_folder(ckpt: Path) -> Path:
    """The run folder a checkpoint belongs to (`RUN/checkpoints/best.ckpt` -> RUN)."""
    return ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent


def in_run_folder(ckpt: Path) -> bool:
    """Whether a checkpoint sits in a training run's folder (`RUN/checkpoints/`, or beside the files a run
    writes) rather than loose, like the bundled models/*.ckpt."""
    return ckpt.parent.name == "checkpoints" or any(
        (ckpt.parent / name).is_file() for name in RUN_FILES)


def default_out_dir(ckpt: Path) -> Path:
    """Where a report goes without `out_dir=`: its run folder; for a loose checkpoint, a folder of its own
    under outputs/ (never beside it: models/ holds the tracked bundled models)."""
    return run_folder(ckpt) if in_run_folder(ckpt) else Path("outputs") / "evaluate" / ckpt.stem


def run_config(run_dir: Path) -> tuple[dict, str]:
    """The run's composed config (split fractions, cache folder, test limits, ...) and where it came from."""
    for path, key in ((run_dir / ".hydra" / "config.yaml", None), (run_dir / "hparams.yaml", "config")):
        if path.is_file():
            config = yaml.safe_load(path.read_text()) or {}
            config = config.get(key, {}) if key else config
            if isinstance(config.get("data"), dict):
                return config, str(path)
    return {}, "no .hydra/config.yaml or hparams.yaml in the run folder"


def build_datamodule(module, data: dict, settings: dict) -> MelodyDataModule:
    """The checkpoint's DataModule: its encoding record (the run's data config filling in what an older
    checkpoint did not store), the run's cache and segment stride, no augmentation."""
    stored = module.hparams.encoding
    record = replace(module.encoding, **{k: data[k] for k in (*CACHE_FIELDS, "extra_train")
                                         if k in data and k not in stored})
    kwargs = {k: data[k] for k in ("cache_dir", "prepare_workers", "segment_stride") if k in data}
    if settings["cache_dir"]:
        kwargs["cache_dir"] = settings["cache_dir"]
    return MelodyDataModule.from_record(record, **kwargs, batch_size=settings["batch_size"], num_workers=0,
                                        transpose_augment=None)


def heldout_metrics(module, datamodule: MelodyDataModule, device: torch.device,
                    split: str = "test") -> dict[str, float]:
    """`test/*` (or `val/*`) metrics of the module on that split, by Lightning's loop as in training."""
    accelerator = {"cpu": "cpu", "cuda": "gpu", "mps": "mps"}.get(device.type, device.type)
    devices = [device.index or 0] if device.type == "cuda" else 1
    # Lightning's start-up lines and the few-workers hint are noise in a report command;
    # torch deprecates the LeafSpec Lightning uses
    with quiet_lightning(logging.WARNING, (".*does not have many workers.*", ".*LeafSpec.*")):
        trainer = L.Trainer(accelerator=accelerator, devices=devices, logger=False,
                            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
        loop = trainer.test if split == "test" else trainer.validate
        results = loop(module, datamodule=datamodule, verbose=False)[0]
    module.to(device).eval()  # the test loop's teardown may have moved it
    return {name: float(value) for name, value in sorted(results.items())}


def evaluate(settings: dict, request: GenerationRequest) -> tuple[dict, Path]:
    """The report of one checkpoint (a dict of plain data) and the folder it belongs in; `request` is
    the checked generation settings of the unseeded set (`check_settings`)."""
    started = time.perf_counter()
    ckpt = resolve_checkpoint(settings["ckpt"])
    run_dir = run_folder(ckpt)
    out_dir = Path(settings["out_dir"] or default_out_dir(ckpt))
    check_writable(out_dir)
    device = parse_device(settings["device"])
    module = load_module(ckpt, map_location=device)
    encoding, vocab = module.hparams.encoding, module.vocab
    config, config_source = run_config(run_dir)
    datamodule = build_datamodule(module, config.get("data", {}), settings)
    split_from = ("the checkpoint" if "test_fraction" in encoding else config_source if config else
                  f"the defaults ({config_source}; the run may have used others)")
    corpus = datamodule.load_corpus()
    if corpus.vocab.mapping != vocab.mapping:
        raise UserError(f"the corpus cache {corpus.path} has another vocabulary than checkpoint {ckpt}")
    split = settings["split"]
    heldout_songs = corpus.split(split)  # the held-out songs everything is compared with
    real = [vocab.decode(corpus.song_tokens(s)) for s in heldout_songs]
    seconds, notes = {}, []

    tick = time.perf_counter()
    heldout = heldout_report(module, datamodule, device, run_dir, config, notes, split)
    seconds["heldout"] = time.perf_counter() - tick

    tick = time.perf_counter()
    # name -> (melodies, keys, seed length, meters)
    heldout_meters = [song_meter(corpus, s) for s in heldout_songs]
    generated = generate(module, heldout_songs, real, heldout_meters, request, settings["seed_length"],
                         device, notes)
    seconds["generation"] = time.perf_counter() - tick

    tick = time.perf_counter()
    step = module.encoding.step
    sets = {"real": summarize(real, [song_key(s) for s in heldout_songs])}
    sets |= {name: summarize(melodies, keys) for name, (melodies, keys, _, _) in generated.items()}
    rhythm = {"real": rhythm_summary(real, [rhythm_meter(m, step) for m in heldout_meters])}
    rhythm |= {name: rhythm_summary(melodies, [rhythm_meter(m, step) for m in meters])
               for name, (melodies, _, _, meters) in generated.items()}
    seconds["statistics"] = time.perf_counter() - tick

    tick = time.perf_counter()
    trained = datamodule.train_corpus()  # with data.extra_train, the other corpus's songs too
    train_songs = trained.split("train")
    index = TrainingPhrases([trained.song_tokens(s) for s in train_songs])
    memorized = {"real": memorization(index, [vocab.encode(m) for m in real], settings["window"])}
    for name, (melodies, _, skip, _) in generated.items():  # the seed is given, not generated: left out
        memorized[name] = memorization(index, [vocab.encode(m[skip:]) for m in melodies], settings["window"])
    for result in memorized.values():
        song = result.pop("longest_max_song")
        result["longest_max_title"] = train_songs[song]["title"] if song >= 0 else None
    seconds["memorization"] = time.perf_counter() - tick

    tick = time.perf_counter()
    infill = infill_report(module, corpus, split) if "infill" in module.modes else None
    seconds["infill"] = time.perf_counter() - tick

    tick = time.perf_counter()
    realism = realism_tests(trained, train_songs, real, heldout_songs, generated, request,
                            module.encoding.normalize_key)
    seconds["realism"] = time.perf_counter() - tick

    tick = time.perf_counter()
    styles = None
    if getattr(module.net, "reads_plan", False) and module.encoding.plans and settings["styles"] != "none":
        chosen = None if settings["styles"] == "auto" else str(settings["styles"]).split(",")
        styles = style_report(module, corpus, split, request, settings["style_samples"], device, chosen)
    seconds["styles"] = time.perf_counter() - tick
    seconds["total"] = time.perf_counter() - started

    return {
        "checkpoint": str(ckpt), "checkpoint_sha256": file_sha256(ckpt), "run_dir": str(run_dir),
        "model": module.kind,
        "vae": not module.continues,
        "encoding": {k: v for k, v in encoding.items() if k != "mapping"},
        "data": {"split_from": split_from, "config_from": config_source, "cache": str(corpus.path),
                 "split": split, "heldout_songs": len(heldout_songs), "train_songs": len(train_songs),
                 "val_fraction": datamodule.record.val_fraction,
                 "test_fraction": datamodule.record.test_fraction},
        "settings": {k: v for k, v in settings.items() if k not in ("ckpt", "runs", "out_dir")},
        "heldout": heldout,
        "sets": sets,
        "rhythm": rhythm,
        "distances": {name: distances(sets["real"], sets[name]) for name in generated},
        "ended": {name: math.nan if not module.continues  # a VAE writes whole segments
                  else float(np.mean([len(m) - skip < request.steps for m in melodies]))
                  for name, (melodies, _, skip, _) in generated.items()},
        "memorization": memorized,
        "realism": realism,
        "infill": infill,
        "styles": styles,
        "notes": notes,
        "melodies": {name: [" ".join(m) for m in melodies]
                     for name, (melodies, _, _, _) in generated.items()},
        "meters": {name: [m.as_record() for m in meters] for name, (_, _, _, meters) in generated.items()},
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }, out_dir


def heldout_report(module, datamodule: MelodyDataModule, device: torch.device, run_dir: Path, config: dict,
                   notes: list[str], split: str = "test") -> dict:
    """The split's metrics, the accuracy of always answering `_`, and the run's metrics.json to compare."""
    metrics = heldout_metrics(module, datamodule, device, split)
    tokens, targets = split_array(datamodule.load_corpus(), split, module.window)
    saved = run_dir / "metrics.json"
    saved = json.loads(saved.read_text()).get("metrics") if saved.is_file() else None
    bits = f"{split}/bits"
    if saved and abs(saved.get(bits, math.nan) - metrics.get(bits, math.nan)) <= 1e-4:
        notes.append(f"the held-out metrics equal the run's metrics.json ({bits} to 1e-4)")
    elif saved:
        limit = (config.get("trainer") or {}).get(f"limit_{split}_batches")
        why = (f": the run scored only {limit} batches of the {split} split, this evaluation all of them"
               if limit is not None else "")
        notes.append(f"{bits} differs from the run's metrics.json{why}")
    return {
        "metrics": metrics, "targets": len(targets),
        "always_hold_acc": float((tokens[targets] == HOLD_ID).mean()) if len(targets) else math.nan,
        "metrics_json": {k: v for k, v in saved.items() if k.startswith(f"{split}/")} if saved else None,
    }


@exit_on_user_error
def main(argv: list[str] | None = None) -> dict:
    settings = literal_settings(sys.argv[1:] if argv is None else argv, "evaluate", TEXT_KEYS, SAMPLING_KEYS)
    request = check_settings(settings)
    if settings["runs"]:
        return leaderboard.main(settings["runs"], settings["out_dir"])
    result, out_dir = evaluate(settings, request)
    paths = report.write(result, out_dir)
    print(report.markdown(result))
    print(f"wrote {', '.join(p.name for p in paths)} to {out_dir}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
