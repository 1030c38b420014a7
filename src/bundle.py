"""`python -m src.bundle` (`make models`): train the bundled models on essen_erk, export them to `models/`.

Checkpoints stay out of git (a project rule), so a fresh clone makes them once. Each bundled model is
its experiment as configured (about 10 CPU minutes each), trained into `outputs/bundle/NAME/` by
`python -m src.train` when its export is missing or `retrain=true`; a finished run there that is newer
than the export is exported again, and an export with no run behind it (copied from another machine) is
kept. The export keeps what sampling needs: the settings (`hyper_parameters`) and the weights stored as
float16 (loaded back into float32 parameters), without optimizer or loop state, so each file stays under
5 MB; `models/NAME.metrics.json` holds the run's val and test metrics.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
import yaml

from src.atomic import atomic_path
from src.config import literal_settings
from src.errors import UserError, exit_on_user_error
from src.models.checkpoint import load_module, read_checkpoint, resolve_checkpoint

# name -> `python -m src.train` overrides: each experiment as it is configured (about 10 minutes each on
# 2 CPU cores), so a bundled model is the model its README row describes, in fewer bytes.
BUNDLE = {
    name: [f"experiment={name}"]
    for name in ("lstm_attn_lm", "gru", "lstm_attn", "vae", "lstm_attn_lm_essen")
}
MAX_BYTES = 5 * 2**20


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


def export(run_dir: Path, out: Path) -> dict:
    """Write the slim float16 checkpoint of the run's best checkpoint to `out`; return its metrics."""
    checkpoint = read_checkpoint(resolve_checkpoint(run_dir))
    weights = {
        key: value.half() if value.is_floating_point() else value
        for key, value in checkpoint["state_dict"].items()
    }
    slim = {
        "hyper_parameters": checkpoint["hyper_parameters"],
        "state_dict": weights,
        "epoch": checkpoint.get("epoch"),
        "global_step": checkpoint.get("global_step"),
        "pytorch-lightning_version": checkpoint.get("pytorch-lightning_version"),
    }
    with atomic_path(out) as tmp:
        torch.save(slim, tmp)
    load_module(out)  # the exported file loads through the same guarded path as any checkpoint
    if out.stat().st_size > MAX_BYTES:
        raise UserError(
            f"{out} is {out.stat().st_size / 2**20:.1f} MB, over the 5 MB a bundled model may take"
        )
    metrics = json.loads((run_dir / "metrics.json").read_text())["metrics"]
    overrides = run_dir / ".hydra" / "overrides.yaml"  # how the run was really made
    record = {
        "run": str(run_dir),
        "overrides": yaml.safe_load(overrides.read_text()) if overrides.is_file() else None,
        "bytes": out.stat().st_size,
        "global_step": checkpoint.get("global_step"),
        "metrics": metrics,
    }
    with atomic_path(out.with_suffix(".metrics.json")) as tmp:
        tmp.write_text(json.dumps(record, indent=1) + "\n")
    return record


@exit_on_user_error
def main(argv: list[str] | None = None) -> dict:
    settings = literal_settings(sys.argv[1:] if argv is None else argv, "bundle", ("runs_dir", "out_dir"))
    names = settings["names"] if settings["names"] is not None else list(BUNDLE)
    unknown = [n for n in names if n not in BUNDLE] if isinstance(names, list) else [names]
    if unknown:
        raise UserError(
            f"names={unknown[0]!r} is not a bundled model; accepted: a list of {', '.join(BUNDLE)}"
        )
    out_dir, runs_dir = Path(settings["out_dir"]), Path(settings["runs_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    records = {}
    retrain = bool(settings["retrain"])
    for name in names:
        out, run_dir = out_dir / f"{name}.ckpt", runs_dir / name
        summary = out.with_suffix(".metrics.json")
        exported = summary.is_file() and out.is_file()
        if exported and not retrain and not (run_dir / "metrics.json").is_file():
            records[name] = json.loads(summary.read_text())  # made elsewhere; no local run replaces it
        else:
            best = resolve_checkpoint(train_run(name, run_dir, retrain))
            if exported and not retrain and out.stat().st_mtime >= best.stat().st_mtime:
                records[name] = json.loads(summary.read_text())  # exported from this run already
            else:
                records[name] = export(run_dir, out)
        figures = "  ".join(f"{key} {records[name]['metrics'].get('test/' + key, float('nan')):.3f}"
                            for key in ("bits", "pitch_acc", "onset_acc"))
        print(f"{name:13s} {records[name]['bytes'] / 2**20:4.1f} MB  test {figures}")
    return records


if __name__ == "__main__":
    main()
