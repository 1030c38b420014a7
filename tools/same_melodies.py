"""`python -m tools.same_melodies write|check [MANIFEST]`: are the bundled models' melodies byte-identical?

A refactor that must not change what the models write is checked this way: `write` samples every bundled
model (models/*.ckpt) in each mode it offers, with fixed seeds, and records the sha256 of every MIDI file;
`check` samples again and lists each file whose bytes differ. The manifest (default
outputs/same_melodies.json) stays out of git: it belongs to the bundled files and this machine's torch.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

from src.sample import main as sample

MODELS = Path("models")
SEED = "67 _ _ _ 72 _ _ _ 71 _ 69 _ 67 _ _ _ 65 _ 64 _ 62 _ _ _ 60 _ _ _ _ _ _ _"  # two bars of 4/4
# (name, settings) per case; the VAE's modes only for a VAE, infill only for the models that fill gaps
CONTINUE = [("unseeded", ["num_samples=6", "steps=300", "rng_seed=3"]),
            ("seeded", [f"seed={SEED}", "num_samples=3", "steps=200", "rng_seed=5", "key=D",
                        "time_signature=4/4", "pickup=0", "top_k=8", "temperature=0.9"]),
            ("plain", ["num_samples=4", "steps=120", "rng_seed=7", "end_floor=0", "max_span=0",
                       "top_p=0.9", "min_steps=40"])]
INFILL = [("infill", [f"seed={SEED}", "mode=infill", "bars=2:2", "num_samples=3", "rng_seed=11",
                      "time_signature=4/4", "pickup=0"])]
VAE = [("prior", ["mode=prior", "num_samples=4", "rng_seed=1"]),
       ("vary", [f"seed={SEED}", "mode=vary", "num_samples=3", "rng_seed=2", "temperature=0.7"]),
       ("interpolate", [f"seed={SEED}", "mode=interpolate", "seed2=60 _ 64 _ 67 _ 72 _",
                        "num_samples=4", "rng_seed=3"])]


def cases(name: str) -> list[tuple[str, list[str]]]:
    if name == "vae":
        return VAE
    return CONTINUE + (INFILL if name.startswith("transformer") else [])


def digests() -> dict[str, str]:
    """`model/case/file.mid` -> sha256 of its bytes, for every bundled model and case."""
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        for ckpt in sorted(MODELS.glob("*.ckpt")):
            for case, settings in cases(ckpt.stem):
                out = Path(tmp) / ckpt.stem / case
                sample([f"ckpt={ckpt}", f"out_dir={out}", *settings])
                for midi in sorted(out.glob("*.mid")):
                    found[f"{ckpt.stem}/{case}/{midi.name}"] = hashlib.sha256(midi.read_bytes()).hexdigest()
    return found


def changed_digests(before: dict, now: dict) -> list[str]:
    """The files whose digest differs (or that one side lacks)."""
    return sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))


def write_or_check(argv: list[str], tool: str, measure, moved) -> int:
    """`write [MANIFEST]`: record `measure()` (a dict) in outputs/TOOL.json or MANIFEST; `check`: measure
    again, print each entry `moved(before, now)` names and how many stayed; exit 1 if any moved."""
    if not argv or argv[0] not in ("write", "check"):
        print(f"usage: python -m tools.{tool} write|check [MANIFEST]", file=sys.stderr)
        return 2
    manifest = Path(argv[1] if len(argv) > 1 else f"outputs/{tool}.json")
    now = measure()
    if argv[0] == "write":
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps(now, indent=1, sort_keys=True))
        print(f"wrote {len(now)} entries to {manifest}")
        return 0
    changes = moved(json.loads(manifest.read_text()), now)
    for line in changes:
        print(f"differs: {line}")
    print(f"{len(changes)} differ")
    return 1 if changes else 0


if __name__ == "__main__":
    raise SystemExit(write_or_check(sys.argv[1:], "same_melodies", digests, changed_digests))
