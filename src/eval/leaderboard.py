"""A leaderboard of finished runs: a row per run, and runs that differ only in `seed` as mean ± std.

Reads each run's `.hydra/config.yaml` and `overrides.yaml` (else the TensorBoard `hparams.yaml`),
`metrics.json` (val and test metrics of its best checkpoint), its checkpoint's vocabulary, and the
realism and rhythm figures of its `report.json` when `src.evaluate` wrote one.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import numpy as np
import yaml

from src.atomic import atomic_path
from src.config import check_writable
from src.errors import UserError
from src.models.checkpoint import CHECKPOINT_NAMES, read_checkpoint, resolve_checkpoint

# from the run's report.json, when `python -m src.evaluate ckpt=RUN` wrote one: the balanced accuracy of the
# classifier two-sample test of the unseeded melodies against held-out songs (0.5 = indistinguishable)
# classifier two-sample test of the unseeded melodies against held-out songs (0.5 = indistinguishable), and
# the unseeded melodies' downbeat onset rate and bar repetition (src/eval/rhythm.py)
REALISM = "realism/unseeded"
FROM_REPORT = {REALISM: ("realism", "unseeded", "balanced_accuracy"),
               "rhythm/downbeat_onset_rate": ("rhythm", "unseeded", "overall", "downbeat_onset_rate"),
               "rhythm/bar_repetition": ("rhythm", "unseeded", "overall", "bar_repetition")}
COLUMNS = (("test/bits", "test bits"), ("test/pitch_acc", "pitch_acc"), ("test/onset_acc", "onset_acc"),
           ("test/acc", "acc"), ("val/bits", "val bits"), (REALISM, "told apart"),
           ("rhythm/downbeat_onset_rate", "downbeat onsets"), ("rhythm/bar_repetition", "bar repetition"))
_NOT_SETTINGS = ("seed=", "experiment=", "hydra.", "ckpt_path=")  # overrides that do not define a config


def find_runs(spec: str) -> tuple[list[Path], Path | None]:
    """Run folders named by `spec` (a sweep folder, or run folders separated by commas), and the sweep
    folder when one was given."""
    paths = [Path(p.strip()).expanduser() for p in spec.split(",") if p.strip()]
    runs: list[Path] = []
    for path in paths:
        if not path.is_dir():
            raise UserError(f"runs: {path} is not a folder; accepted: a sweep folder or run folders")
        if _is_run(path):
            runs.append(path)
            continue
        children = sorted((d for d in path.iterdir() if d.is_dir() and _is_run(d)), key=_natural)
        if not children:
            raise UserError(f"runs: {path} holds no run folders (none with .hydra/, metrics.json or a "
                            "checkpoint); accepted: a sweep folder (outputs/multirun/...) or run folders")
        runs += children
    if not runs:
        raise UserError("runs= names no folder; accepted: a sweep folder or run folders separated by commas")
    sweep = paths[0] if len(paths) == 1 and runs[0] != paths[0] else None
    return runs, sweep


def read_run(run: Path) -> dict:
    """One leaderboard row: experiment, overrides other than seed, seed, metrics, vocabulary."""
    ckpt = resolve_checkpoint(run)  # one line when the run has none
    if not (run / "metrics.json").is_file():
        raise UserError(f"run {run} has no metrics.json (its training did not finish); accepted: runs "
                        "written by src.train")
    metrics = json.loads((run / "metrics.json").read_text()).get("metrics", {})
    metrics |= _from_report(run / "report.json")
    config, overrides = _config(run)
    experiment = _experiment(run, overrides) or config.get("model", {}).get("name") or "?"
    encoding = read_checkpoint(ckpt)["hyper_parameters"]["encoding"]
    if encoding.get("windows", "next") == "segments":
        experiment += " (reconstruction)"  # a VAE's bits are of rebuilding segments: not comparable
    return {
        "run": str(run), "experiment": experiment,
        "overrides": [o for o in overrides if not o.startswith(_NOT_SETTINGS)],
        "seed": config.get("seed"),
        "metrics": {key: None if _sort_key(metrics.get(key)) == math.inf else float(metrics[key])
                    for key, _ in COLUMNS},  # a missing or nan metric is None: strict JSON
        "mapping": encoding.get("mapping"),
    }


def build(rows: list[dict]) -> dict:
    """Check the runs share one vocabulary; group them by (experiment, overrides) over seeds."""
    for row in rows[1:]:
        if row["mapping"] != rows[0]["mapping"]:
            raise UserError(f"runs use different vocabularies: {rows[0]['run']} ({_vocabulary(rows[0])}) and "
                            f"{row['run']} ({_vocabulary(row)}); accepted: runs with one data encoding")
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["experiment"], tuple(row["overrides"])), []).append(row)
    grouped = []
    for (experiment, overrides), members in groups.items():
        grouped.append({
            "experiment": experiment, "overrides": list(overrides), "n": len(members),
            "seeds": [m["seed"] for m in members], "runs": [m["run"] for m in members],
            "metrics": {key: mean_std([m["metrics"][key] for m in members]) for key, _ in COLUMNS},
        })
    grouped.sort(key=lambda g: (_is_reconstruction(g), _sort_key(g["metrics"]["test/bits"]["mean"])))
    runs = sorted(({k: v for k, v in r.items() if k != "mapping"} for r in rows),
                  key=lambda r: (_is_reconstruction(r), _sort_key(r["metrics"]["test/bits"])))
    return {"groups": grouped, "runs": runs}


def mean_std(values: list) -> dict:
    """Mean and sample standard deviation (n - 1) of the known values; std is None for one value."""
    known = np.array([v for v in values if v is not None and not math.isnan(v)], dtype=np.float64)
    return {"mean": float(known.mean()) if len(known) else None,
            "std": float(known.std(ddof=1)) if len(known) > 1 else None, "n": int(len(known))}


def markdown(board: dict, root: Path | None = None) -> str:
    """The grouped table (best test bits first), then a row per run (named relative to `root`)."""
    header = [label for _, label in COLUMNS]
    lines = ["## Leaderboard (mean ± std over seeds; best test bits first)", "",
             "| experiment | overrides | seeds | " + " | ".join(header) + " |",
             "| --- " * (3 + len(header)) + "|"]
    for g in board["groups"]:
        cells = [_mean_std(g["metrics"][key]) for key, _ in COLUMNS]
        seeds = ", ".join(str(s) for s in g["seeds"])
        lines.append(f"| {g['experiment']} | {' '.join(g['overrides']) or '-'} | {seeds} | "
                     + " | ".join(cells) + " |")
    lines += ["", "## Runs", "", "| run | experiment | overrides | seed | " + " | ".join(header) + " |",
              "| --- " * (4 + len(header)) + "|"]
    for r in board["runs"]:
        name = os.path.relpath(r["run"], root) if root else r["run"]
        cells = ["-" if r["metrics"][key] is None else f"{r['metrics'][key]:.4f}" for key, _ in COLUMNS]
        lines.append(f"| {name} | {r['experiment']} | {' '.join(r['overrides']) or '-'} | {r['seed']} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(spec: str, out_dir: str | None = None) -> dict:
    """Read, check and group the runs; write leaderboard.md/.json; print the table."""
    runs, sweep = find_runs(spec)
    board = build([read_run(run) for run in runs])
    common = runs[0] if len(runs) == 1 else Path(os.path.commonpath([r.resolve() for r in runs]))
    folder = Path(out_dir) if out_dir else sweep or common
    check_writable(folder)
    text = markdown(board, sweep or Path(os.path.commonpath([r.resolve().parent for r in runs])))
    with atomic_path(folder / "leaderboard.json") as tmp:
        tmp.write_text(json.dumps(board, indent=1, allow_nan=False))
    with atomic_path(folder / "leaderboard.md") as tmp:
        tmp.write_text(text + "\n")
    print(text)
    return board


def _from_report(report: Path) -> dict[str, float | None]:
    """The FROM_REPORT figures of a run's evaluation report (None each when it has none, or when the
    report compared with the validation songs: the leaderboard's figures are all of the test split)."""
    try:
        data = json.loads(report.read_text())
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict) or (data.get("data") or {}).get("split", "test") != "test":
        data = {}
    figures: dict[str, float | None] = {}
    for name, path in FROM_REPORT.items():
        value = data
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        figures[name] = float(value) if isinstance(value, int | float) else None
    return figures


def _is_run(path: Path) -> bool:
    return ((path / ".hydra").is_dir() or (path / "metrics.json").is_file()
            or any((path / name).is_file() for name in CHECKPOINT_NAMES))


def _natural(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _config(run: Path) -> tuple[dict, list[str]]:
    """The run's composed config and its command-line overrides (none known without .hydra/)."""
    hydra = run / ".hydra"
    if (hydra / "config.yaml").is_file():
        config = yaml.safe_load((hydra / "config.yaml").read_text()) or {}
        listed = hydra / "overrides.yaml"
        overrides = yaml.safe_load(listed.read_text()) if listed.is_file() else []
        return config, [str(o) for o in overrides or []]
    if (run / "hparams.yaml").is_file():
        return (yaml.safe_load((run / "hparams.yaml").read_text()) or {}).get("config", {}), []
    return {}, []


def _experiment(run: Path, overrides: list[str]) -> str | None:
    """The experiment group chosen (Hydra's record of it, else the `experiment=` override)."""
    hydra = run / ".hydra" / "hydra.yaml"
    if hydra.is_file():
        choices = ((yaml.safe_load(hydra.read_text()) or {}).get("hydra", {}).get("runtime", {})
                   .get("choices", {}))
        if choices.get("experiment"):
            return str(choices["experiment"])
    return next((o.split("=", 1)[1] for o in overrides if o.startswith("experiment=")), None)


def _vocabulary(row: dict) -> str:
    mapping = row["mapping"] or {}
    pitches = sorted(int(s) for s in mapping if s.lstrip("-").isdigit())
    span = f", pitches {pitches[0]}..{pitches[-1]}" if pitches else ""
    return f"{len(mapping)} symbols{span}"


def _sort_key(value) -> float:
    return math.inf if value is None or math.isnan(value) else value


def _mean_std(summary: dict) -> str:
    if summary["mean"] is None:
        return "-"
    return f"{summary['mean']:.4f}" + (f" ± {summary['std']:.4f}" if summary["std"] is not None else "")


def _is_reconstruction(row: dict) -> bool:
    """Reconstruction scores (VAE) rank after next-symbol scores, whatever their bits."""
    return row["experiment"].endswith("(reconstruction)")
