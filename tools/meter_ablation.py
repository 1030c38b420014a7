"""`python -m tools.meter_ablation [NAME ...] [--steps N]`: what meter, mode and look-back inputs are worth.

Trains `experiment=lstm_attn_lm` (the recurrent fast path) once per row below, one after another, each in
`outputs/ablation/NAME`, evaluates it (`python -m src.evaluate`), and prints one table: held-out bits and
onset accuracy, the unseeded melodies' repetition, bar repetition and downbeat onsets, and how often a
classifier tells them from held-out songs. A row already trained and evaluated is read, not redone.
One seed per row: differences within run-to-run noise (docs/benchmarks.md) are not findings.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

ROWS = {
    "symbols": ["model.net.meter=false", "model.net.mode=false"],
    "meter": ["model.net.meter=true", "model.net.mode=false"],
    "meter_mode": ["model.net.meter=true", "model.net.mode=true"],
    "meter_mode_lookback": ["model.net.meter=true", "model.net.mode=true", "model.net.lookback=true"],
    "meter_mode_lookback8": ["model.net.meter=true", "model.net.mode=true", "model.net.lookback=[1,2,4,8]"],
    # on top of `make train`'s model as it ships (look-back [1, 2, 4, 8], dropout 0.5): the copy path
    "copy": ["model.net.copy=true"],
    # the same in 256-step windows (half the batch: the same targets per step), so the LSTM's state has
    # seen a phrase played twice before it has to decide against a third time
    "copy_long": ["model.net.copy=true", "data.sequence_length=256", "data.segment_stride=256",
                  "data.batch_size=16"],
}
ROOT = Path("outputs/ablation")


def run_row(name: str, extra: list[str]) -> dict:
    """Train and evaluate one row (unless done), and return its report.json."""
    folder = ROOT / name
    if not (folder / "metrics.json").is_file():
        subprocess.run([sys.executable, "-m", "src.train", "experiment=lstm_attn_lm", *ROWS[name], *extra,
                        f"hydra.run.dir={folder}"], check=True)
    if not (folder / "report.json").is_file():
        subprocess.run([sys.executable, "-m", "src.evaluate", f"ckpt={folder}"], check=True,
                       stdout=subprocess.DEVNULL)
    return json.loads((folder / "report.json").read_text())


def _mean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


def row(name: str, report: dict, set_name: str = "unseeded") -> str:
    metrics = report["heldout"]["metrics"]
    scalars = report["sets"][set_name]["scalars"]
    rhythm = report["rhythm"][set_name]["overall"]
    cells = [metrics["test/bits"], metrics["test/onset_acc"], _mean(scalars["repetition"]),
             rhythm["bar_repetition"], rhythm["downbeat_onset_rate"], _mean(scalars["ends_on_tonic"]),
             _mean(scalars["pitch_range"]), report["realism"][set_name]["balanced_accuracy"]]
    return (f"| {name} | " + " | ".join(f"{c:.4f}" if i < 2 else f"{c:.3f}" for i, c in enumerate(cells))
            + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(ROWS), help=f"rows to run: {', '.join(ROWS)}")
    parser.add_argument("--extra", nargs="*", default=[], help="more overrides for every row")
    args = parser.parse_args()
    reports = {name: run_row(name, args.extra) for name in args.names}
    print("| inputs | test bits | onset_acc | repetition | bar repetition | downbeat onsets | ends on tonic "
          "| pitch range | told apart |")
    print("| --- " * 9 + "|")
    first = next(iter(reports.values()))
    real = first["sets"]["real"]["scalars"]
    rhythm = first["rhythm"]["real"]["overall"]
    print(f"| held-out songs | - | - | {_mean(real['repetition']):.3f} | {rhythm['bar_repetition']:.3f} | "
          f"{rhythm['downbeat_onset_rate']:.3f} | {_mean(real['ends_on_tonic']):.3f} | "
          f"{_mean(real['pitch_range']):.3f} | {first['realism']['train_songs']['balanced_accuracy']:.3f} |")
    for name, report in reports.items():
        print(row(name, report))


if __name__ == "__main__":
    main()
