"""Sampling speed of checkpoints side by side, interleaved so machine noise hits each alike.

`python -m src.bench.sample_ab CKPT [CKPT ...] [--steps 500] [--batch 64] [--reps 7]`
Each repetition samples `batch` melodies of `steps` symbols from every checkpoint in turn (after one
warm-up each); prints each checkpoint's times, median and minimum, and the medians' ratio to the first.
"""

from __future__ import annotations

import argparse
import json
import statistics

from src.bench.sample_speed import ours
from src.errors import exit_on_user_error
from src.models.checkpoint import load_module


def compare(paths: list[str], steps: int, batch: int, reps: int) -> dict[str, dict]:
    modules = {path: load_module(path) for path in paths}
    for module in modules.values():
        ours(module, batch, min(steps, 50))  # warm-up: first-call allocations and kernel choices
    times: dict[str, list[float]] = {path: [] for path in paths}
    for _ in range(reps):
        for path, module in modules.items():
            times[path].append(ours(module, batch, steps))
    first = statistics.median(times[paths[0]])
    return {path: {"seconds": [round(t, 3) for t in values],
                   "median_s": round(statistics.median(values), 3), "min_s": round(min(values), 3),
                   "median_vs_first": round(statistics.median(values) / first, 3)}
            for path, values in times.items()}


@exit_on_user_error
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpt", nargs="+")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args(argv)
    result = compare(args.ckpt, args.steps, args.batch, args.reps)
    for path, row in result.items():
        print(f"{path}: median {row['median_s']} s, min {row['min_s']} s, "
              f"{row['median_vs_first']}x the first; {row['seconds']}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
