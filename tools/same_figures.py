"""`python -m tools.same_figures write|check [MANIFEST]`: does a change leave training's figures as they were?

Beside tools.same_melodies (the bundled models' MIDI), a refactor of the nets, the data or the training
loop is checked by six short training runs on essen_erk, one per model family, each a few optimizer
steps on CPU: `write` records every metric they report, `check` trains them again and names each figure
that moved. Training is deterministic on CPU, so every figure should repeat to the last digit; one does
not quite: the Transformer's test/loss has been seen to flip between two adjacent float32 values from run
to run on unchanged code, so that one figure is compared to 1e-6. The manifest (default
outputs/same_figures.json) stays out of git. About three minutes on two cores.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.same_melodies import write_or_check

SHORT = ["trainer.max_steps=6", "trainer.val_check_interval=3", "trainer.limit_val_batches=2",
         "trainer.limit_test_batches=2", "callbacks.sample_export.steps=16"]
RUNS = {
    "debug": ["experiment=debug"],
    "transformer_lm": ["experiment=transformer_lm", *SHORT],
    "lstm_attn_lm": ["experiment=lstm_attn_lm", *SHORT],
    "gru_lm": ["experiment=gru_lm", *SHORT],
    "vae": ["experiment=vae", *SHORT],
    "ngram": ["experiment=ngram", "trainer.limit_val_batches=2", "trainer.limit_test_batches=2"],
}
LOOSE = {("transformer_lm", "test/loss"): 1e-6}  # seen to differ by one float32 step run to run


def figures() -> dict[str, dict[str, float]]:
    """Each run's metrics, as its metrics.json holds them."""
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, overrides in RUNS.items():
            run = Path(tmp) / name
            subprocess.run([sys.executable, "-m", "src.train", *overrides, f"hydra.run.dir={run}"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            found[name] = json.loads((run / "metrics.json").read_text())["metrics"]
    return found


def moved(before: dict, now: dict) -> list[str]:
    """`run metric: before -> now` for each figure that differs (beyond LOOSE's tolerance)."""
    lines = []
    for name in sorted(before.keys() | now.keys()):
        old, new = before.get(name, {}), now.get(name, {})
        for metric in sorted(old.keys() | new.keys()):
            a, b = old.get(metric), new.get(metric)
            tolerance = LOOSE.get((name, metric), 0.0)
            close = a is not None and b is not None and math.isclose(a, b, rel_tol=0, abs_tol=tolerance)
            same = a == b or close
            if not same:
                lines.append(f"{name} {metric}: {a} -> {b}")
    return lines


if __name__ == "__main__":
    raise SystemExit(write_or_check(sys.argv[1:], "same_figures", figures, moved))
