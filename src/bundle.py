"""`python -m src.bundle` (`make models`): train the bundled models, export them to `models/`, score them.

The exports are tracked in git, so a fresh clone samples and runs the app at once; this command is how
they are rebuilt, reproducibly. Each bundled model is its experiment as configured, trained into
`outputs/bundle/NAME/` by `python -m src.train` when its export is missing or `retrain=true`; a finished
run there that is newer than the export is exported again, and an export with no run behind it (the
tracked ones, on a fresh clone) is kept. The export keeps what sampling needs: the settings
(`hyper_parameters`) and the weights stored as float16 (loaded back into float32 parameters), without
optimizer or loop state, so each file stays under 4 MB. The export itself (not the float32 run) is then
scored on essen_erk's test split; `models/NAME.metrics.json` holds those figures, the run's own, the
command and the sha256, and `models/README.md` is written from them. `songs_only=true` retrains and exports
nothing: it writes into each export what its training songs held, as training computes it now (a record
added after the export was made, such as `encoding.medians`), and the new sha256 into the README.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import torch
import yaml

from src.atomic import atomic_path
from src.checks import boolean, check, choice
from src.config import check_writable, literal_settings
from src.errors import UserError, exit_on_user_error
from src.models.checkpoint import file_sha256, load_module, read_checkpoint, resolve_checkpoint, write_slim

# name -> `python -m src.train` overrides: each experiment as it is configured (about 10 minutes each on
# 2 CPU cores; lstm_attn_lm_essen about 35, transformer_lm_essen about 42), so a bundled model is the model
# its README row describes.
BUNDLE = {
    name: [f"experiment={name}"]
    for name in ("lstm_attn_lm", "gru", "lstm_attn", "vae", "lstm_attn_lm_essen", "transformer_lm",
                 "transformer_lm_essen", "transformer_folk")
}
# every export is scored on essen_erk's test split, so the README ranks them alike: a model trained on
# another corpus is scored on that split of it (transformer_folk: essen_erk's songs within `folk`, the same
# songs as essen_erk's own test split, since a song's split follows from its notes)
SCORED_ON = {"transformer_folk": "essen_erk"}
MAX_BYTES = 4 * 2**20
SCORED = ("bits", "pitch_acc", "onset_acc")


def train_run(name: str, run_dir: Path, retrain: bool) -> Path:
    """The finished run folder of bundled model `name`, trained now when missing (or `retrain`)."""
    if (run_dir / "metrics.json").is_file() and not retrain:
        print(f"[bundle] {name}: using the finished run {run_dir}", file=sys.stderr)
        return run_dir
    command = [
        sys.executable,
        "-m",
        "src.train",
        *BUNDLE[name],
        f"hydra.run.dir={run_dir}",
        "callbacks.progress_bar.refresh_rate=0",
    ]
    print(f"[bundle] {name}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    if subprocess.run(command).returncode != 0:
        raise UserError(
            f"training the bundled model {name} failed (see the output above); nothing was exported"
        )
    return run_dir


def score(path: Path, cache_dir: str | None = None, corpus: str | None = None) -> dict[str, float]:
    """`test/*` metrics of a checkpoint file on its corpus's (or `corpus`'s) test split, as training
    scores them."""
    return score_module(load_module(path), cache_dir, corpus)


def score_module(module, cache_dir: str | None = None, corpus: str | None = None,
                 off_grid: str | None = None) -> dict[str, float]:
    """`test/*` metrics of a loaded module on its corpus's test split (or `corpus`'s, encoded alike; with
    `off_grid`, the songs that setting keeps)."""
    from src.data.datamodule import MelodyDataModule
    from src.evaluate import heldout_metrics  # the evaluation's own scoring path

    # the test split is the main corpus's: the extra training songs are not needed to score it
    record = replace(module.encoding, extra_train=None, corpus=corpus or module.encoding.corpus,
                     off_grid=off_grid or module.encoding.off_grid)
    datamodule = MelodyDataModule.from_record(record, batch_size=256, num_workers=0, transpose_augment=None,
                                              **({"cache_dir": cache_dir} if cache_dir else {}))
    metrics = heldout_metrics(module, datamodule, torch.device("cpu"))
    return {name: value for name, value in metrics.items() if name.startswith("test/")}


def export(name: str, run_dir: Path, out: Path, cache_dir: str | None = None) -> dict:
    """Write the slim float16 checkpoint of the run's best checkpoint to `out`, score it, record it."""
    module = write_slim(resolve_checkpoint(run_dir), out)
    if out.stat().st_size > MAX_BYTES:
        raise UserError(
            f"{out} is {out.stat().st_size / 2**20:.1f} MB, over the 4 MB a bundled model may take"
        )
    overrides = run_dir / ".hydra" / "overrides.yaml"  # how the run was really made
    overrides = yaml.safe_load(overrides.read_text()) if overrides.is_file() else []
    record = {
        "run": str(run_dir),
        "command": "python -m src.train " + " ".join(BUNDLE[name]),  # as `make models` trains it
        "overrides": overrides,
        "bytes": out.stat().st_size,
        "sha256": file_sha256(out),
        "global_step": read_checkpoint(out).get("global_step"),
        # the shipped float16 weights, essen_erk's test split
        "metrics": score_module(module, cache_dir, SCORED_ON.get(name)),
        "task": "next symbol" if module.continues else "reconstruction",
        "run_metrics": json.loads((run_dir / "metrics.json").read_text())["metrics"],  # float32, val too
    }
    with atomic_path(out.with_suffix(".metrics.json")) as tmp:
        tmp.write_text(json.dumps(record, indent=1) + "\n")
    return record


def restate_songs(name: str, out_dir: Path, cache_dir: str | None = None) -> dict:
    """Write into export `name` what its training songs held (`encoding.meters`, `longest_bar`, `medians`)
    as training computes it now from its corpus, the weights and every other setting as they were; the
    file is left alone when nothing changes, and refused when its meters are not its corpus's (then it was
    trained on other songs). Returns its metrics record, with the file's new bytes and sha256."""
    from src.data.datamodule import MelodyDataModule
    from src.data.record import SONGS_HELD, EncodingRecord

    out, summary = out_dir / f"{name}.ckpt", out_dir / f"{name}.metrics.json"
    if not (out.is_file() and summary.is_file()):
        raise UserError(f"songs_only=true rewrites exports; {out} or {summary} is missing (make models "
                        "exports it)")
    checkpoint = read_checkpoint(out)
    stored = checkpoint["hyper_parameters"]["encoding"]
    datamodule = MelodyDataModule.from_record(EncodingRecord.from_checkpoint(stored),
                                              **({"cache_dir": cache_dir} if cache_dir else {}))
    datamodule.load_corpus()
    held = {key: value for key, value in datamodule.encoding.items() if key in SONGS_HELD}
    for key in ("meters", "longest_bar"):
        if key in stored and stored[key] != held.get(key):
            raise UserError(f"{out}: its encoding.{key} is not its corpus's as encoded now (it was trained "
                            "on other songs); accepted: an export of this encoding (retrain=true makes one)")
    record = json.loads(summary.read_text())
    if all(stored.get(key) == value for key, value in held.items()):
        return record
    checkpoint["hyper_parameters"]["encoding"] = {**stored, **held}
    with atomic_path(out) as tmp:
        torch.save(checkpoint, tmp)
    load_module(out)  # loads back through the guarded path
    record |= {"bytes": out.stat().st_size, "sha256": file_sha256(out)}
    with atomic_path(summary) as tmp:
        tmp.write_text(json.dumps(record, indent=1) + "\n")
    return record


@exit_on_user_error
def main(argv: list[str] | None = None) -> dict:
    settings = literal_settings(
        sys.argv[1:] if argv is None else argv, "bundle", ("runs_dir", "out_dir", "cache_dir"))
    names = settings["names"] if settings["names"] is not None else list(BUNDLE)
    check("names", names, isinstance(names, list), f"null or a list of {', '.join(BUNDLE)}")
    for name in names:
        choice("names", name, BUNDLE, note="(a list of them)")
    out_dir, runs_dir = Path(settings["out_dir"]), Path(settings["runs_dir"])
    check_writable(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = {}
    retrain, songs_only = bool(settings["retrain"]), boolean("songs_only", settings["songs_only"])
    check("songs_only", songs_only, not (songs_only and retrain), "false with retrain=true (songs_only "
          "rewrites the exports there are; retrain makes new ones)")
    for name in names:
        out, run_dir = out_dir / f"{name}.ckpt", runs_dir / name
        summary = out.with_suffix(".metrics.json")
        exported = summary.is_file() and out.is_file()
        if songs_only:
            records[name] = restate_songs(name, out_dir, settings["cache_dir"])
        elif exported and not retrain and not (run_dir / "metrics.json").is_file():
            records[name] = json.loads(summary.read_text())  # made elsewhere; no local run replaces it
        else:
            best = resolve_checkpoint(train_run(name, run_dir, retrain))
            if exported and not retrain and out.stat().st_mtime >= best.stat().st_mtime:
                records[name] = json.loads(summary.read_text())  # exported from this run already
            else:
                records[name] = export(name, run_dir, out, settings["cache_dir"])
        figures = "  ".join(f"{key} {records[name]['metrics'].get('test/' + key, float('nan')):.3f}"
                            for key in SCORED)
        print(f"{name:18s} {records[name]['bytes'] / 2**20:4.1f} MB  test {figures}")
    shipped = {name: json.loads((out_dir / f"{name}.metrics.json").read_text()) for name in BUNDLE
               if (out_dir / f"{name}.metrics.json").is_file() and (out_dir / f"{name}.ckpt").is_file()}
    with atomic_path(out_dir / "README.md") as tmp:
        tmp.write_text(readme(shipped))
    return records


def rank(record: dict) -> tuple[bool, float]:
    """Best first: next-symbol models by test bits, then reconstruction models (a VAE's bits are of an
    easier task, not comparable)."""
    return record.get("task") == "reconstruction", record["metrics"]["test/bits"]


def readme(records: dict[str, dict]) -> str:
    """models/README.md: one row per bundled model, best test bits first (the app's order)."""
    rows = []
    for name, record in sorted(records.items(), key=lambda item: rank(item[1])):
        figures = " | ".join(f"{record['metrics'][f'test/{key}']:.4f}" for key in SCORED)
        rows.append(f"| `{name}` | {record.get('command', '')} | {record.get('task', '')} "
                    f"| {record.get('global_step')} | {figures} "
                    f"| {record['bytes'] / 2**20:.1f} MB | `{record.get('sha256', '')}` |")
    return README_HEAD + "\n".join(rows) + "\n" + README_TAIL


README_HEAD = """# Bundled models

The only checkpoints kept in git: small float16 exports (weights only, no optimizer state) of the
experiments below, so that `python -m src.sample ckpt=models/NAME.ckpt` and `make app` work right after
cloning. The web app lists them first, best test bits first, and opens on the best.

This file is written by `python -m src.bundle` (`make models`), which is also how the models are rebuilt:
`python -m src.bundle names=[gru] retrain=true` trains `experiment=gru` again (as the command column
says) and exports, scores and records it. Figures are those of the exported file itself (float16 weights,
float32 arithmetic) on essen_erk's test split, scored exactly as `python -m src.train` scores a run: bits
per symbol, pitch and onset accuracy as the main README's Metrics section defines them. One training
seed each.
`tests/test_bundle.py` scores every file again and checks it against this table (within 1e-3) and its
sha256. `NAME.metrics.json` beside each file also holds the float32 run's own val and test figures.

| model | training command | scored on | best at step | test bits | pitch_acc | onset_acc | size | sha256 |
|---|---|---|---|---|---|---|---|---|
"""
README_TAIL = """
"best at step" is the step of the checkpoint kept (the lowest validation loss). A VAE's figures are of
reconstructing held-out 64-step segments from their own code, an easier task than predicting the next
symbol: it is listed after the others, never ranked among them.

`lstm_attn_lm_essen` and `transformer_lm_essen` train on the train songs of all of Essen
(`data.extra_train=essen`) and are scored on essen_erk's test split like the others; no essen_erk validation
or test song is among their training songs. Of the models of Essen alone `transformer_lm_essen` has the
fewest bits, but its songs are in one register (below), and its lead over `lstm_attn_lm_essen` as measured
in docs/benchmarks_archive.md §16 (0.005) is within what that spares it (0.011): the two are even on bits.
It was listed first (and the app opened on it) before `transformer_folk` because it also fills gaps and
its melodies range like the songs and, seeded with a song's first bar, end like them (§16; unseeded, no
model yet does at 1,000 melodies: §18).

`transformer_folk` learned every folk collection music21 ships (`data.corpus=folk`: Essen's subsets,
O'Neill's, Ryan's, Aird's, miscFolk) and reads each song's style, tune type, form and span; it is scored
on the same essen_erk test songs as the others (a song's split follows from its notes, so none of them is
among its training songs), each read with its style (`essen_erk`), its form as written and its span: its
bits are given what its sampler is given too, so they are not bits of the songs alone. It is first, and
the app opens on it, for its bits; its figures per style against each collection's own tunes are in
docs/benchmarks.md ("One model for every folk collection").

`transformer_lm` is `make train`'s model (the fewest bits in ten CPU minutes); it and
`transformer_lm_essen` fill gaps: the web app's and `src.sample`'s `mode=infill` (regenerate some bars of a
melody, keep the rest) need one of them. Their songs are moved into one register
(`data.normalize_octave=true`): the same test songs, each in the octave nearest the middle of the range,
which spares a net at most 0.011 bits a step of octave choice (docs/benchmarks_archive.md §16).
"""


if __name__ == "__main__":
    main()
