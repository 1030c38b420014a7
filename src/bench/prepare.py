"""`python -m src.bench.prepare`: our data preparation vs a re-creation of the seed project's, side by side.

Every measurement runs in a fresh spawned process (src/bench/process.py), so its peak RSS is its own.
The `seed_style_*` functions are OUR re-creation of the original project's preprocessing (music21
parse of every tune, `analyze('key')` + `transpose`, string encoding, integer mapping, one-hot
windows), written for this benchmark; they are not the seed's code. Numbers marked "extrapolated"
are scaled from what was measured, never measured themselves.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from src.atomic import atomic_path
from src.bench.process import measure
from src.bench.seed_style import SEQ, STEP, mem_available, seed_style_tunes

MB = 2**20
TARGETS = {"warm_load_s": 1.0, "cold_essen_erk_s": 30.0, "train_rss_essen_mb": 1536.0}


def ours_load(corpus: str, cache_dir: str, workers: int) -> dict:
    """`load_or_build` once: a cold build on an empty cache folder, a warm load on a full one."""
    start = time.perf_counter()
    from src.data.corpus import load_or_build
    from src.data.record import EncodingRecord
    imported = time.perf_counter()
    loaded = load_or_build(EncodingRecord(corpus=corpus), cache_dir, workers)
    seconds = time.perf_counter() - imported
    return {"seconds": round(seconds, 3), "import_seconds": round(imported - start, 3),
            "from_cache": loaded.report["loaded_from_cache"], "workers": workers,
            "songs_kept": len(loaded.songs), "songs_read": loaded.report["songs_read"],
            "tokens": int(len(loaded.tokens)),
            "cache_bytes": sum(f.stat().st_size for f in loaded.path.iterdir())}


def ours_train(corpus: str, cache_dir: str) -> dict:
    """A full epoch of training batches from `MelodyDataModule` (fetch only, no model)."""
    from src.data.datamodule import MelodyDataModule
    import_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    module = MelodyDataModule(corpus=corpus, cache_dir=cache_dir, transpose_augment=[-5, 6],
                              batch_size=256, sequence_length=SEQ)
    module.setup("fit")
    start, batches, examples = time.perf_counter(), 0, 0
    for x, _ in module.train_dataloader():
        batches, examples = batches + 1, examples + len(x)
    seconds = time.perf_counter() - start
    held = {split: int(d.tokens.nbytes + d.targets.nbytes) for split, d in module.datasets.items()}
    return {"epoch_seconds": round(seconds, 3), "batches": batches, "train_examples": examples,
            "batches_per_s": round(batches / max(seconds, 1e-9), 1),
            "dataset_bytes": sum(held.values()), "dataset_bytes_per_split": held,
            "corpus_token_bytes": int(module.corpus.tokens.nbytes),
            "rss_after_import_mb": round(import_rss, 1)}


# ---- seed-style pipeline: our re-creation of the original project's preprocessing ----

def _limited_corpus(corpus: str, count: int, parent: str) -> str:
    """A folder corpus holding the first `count` tunes of `corpus` (for quick runs and tests)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-tunes-", dir=parent))
    (folder / "tunes.abc").write_text("\n".join(seed_style_tunes(corpus)[:count]), encoding="latin-1")
    return str(folder)


def bench_corpus(name: str, args, parent: str) -> dict:
    corpus = _limited_corpus(name, args.limit_tunes, parent) if args.limit_tunes else name
    cache = tempfile.mkdtemp(prefix="bench-cache-", dir=parent)
    out, workers = {"corpus": corpus, "limit_tunes": args.limit_tunes}, os.cpu_count() or 1
    for key, function, kwargs in (("ours_cold", "ours_load", {"workers": workers}),
                                  ("ours_warm", "ours_load", {"workers": workers}),
                                  ("ours_train", "ours_train", {})):
        print(f"[{name}] {key} ...", file=sys.stderr, flush=True)
        out[key] = measure(f"src.bench.prepare:{function}", corpus=corpus, cache_dir=cache, **kwargs)
    shutil.rmtree(cache, ignore_errors=True)
    sample = 200 if args.quick and not args.limit_tunes else None
    budget = None if name == "essen_erk" or args.limit_tunes else args.seed_budget
    print(f"[{name}] seed_style ...", file=sys.stderr, flush=True)
    seed = out["seed_style"] = measure("src.bench.seed_style:seed_style_run", corpus=corpus, sample=sample,
                                       budget=budget, materialize=name == "essen_erk")
    if 0 < seed["onehot_materialized_windows"] < seed["windows"]:
        missing = seed["onehot_bytes"] - seed["onehot_materialized_bytes"]
        seed["peak_rss_extrapolated_mb"] = round(seed["peak_rss_mb"] + missing / MB, 1)
    cold, train = out["ours_cold"], out["ours_train"]
    seed_rss = seed.get("peak_rss_extrapolated_mb", seed["peak_rss_mb"])
    out["ratios"] = {"cold_seconds": _sig(seed["seconds"] / cold["seconds"]),
                     "prepare_peak_rss": _sig(seed_rss / cold["peak_rss_mb"]),
                     "train_data_bytes": _sig(seed["onehot_bytes"] / train["dataset_bytes"]),
                     "onehot_vs_train_rss": _sig(seed["onehot_bytes"] / MB / train["peak_rss_mb"])}
    return out


def _sig(value: float) -> float:
    return float(f"{value:.3g}")


def table(results: dict) -> str:
    rows = ["| corpus | measurement | seconds | peak RSS MB | data MB | notes |", "|---|---|---|---|---|---|"]
    for name, r in results["corpora"].items():
        cold, warm, train, seed, ratio = (r[k] for k in ("ours_cold", "ours_warm", "ours_train",
                                                         "seed_style", "ratios"))
        label = f"{name} (first {r['limit_tunes']} tunes)" if r["limit_tunes"] else name
        ex = ", extrapolated" if seed["extrapolated"] else ""
        seed_rss = f"{seed['peak_rss_mb']:.0f}" + (f" (extrapolated {seed['peak_rss_extrapolated_mb']:.0f})"
                                                   if "peak_rss_extrapolated_mb" in seed else "")
        made = "materialized" if seed["onehot_materialized_windows"] else "computed"
        cells = [
            (f"ours cold, {cold['workers']} workers", f"{cold['seconds']:.2f}",
             f"{cold['peak_rss_mb']:.0f} ({cold['peak_rss_source']})",
             f"{cold['cache_bytes'] / MB:.2f} cache",
             f"{cold['songs_kept']} songs, {cold['tokens']} tokens; imports +{cold['import_seconds']:.1f} s"),
            ("ours warm", f"{warm['seconds']:.3f}", f"{warm['peak_rss_mb']:.0f}", "",
             f"imports +{warm['import_seconds']:.1f} s"),
            ("ours train epoch, aug [-5, 6]", f"{train['epoch_seconds']:.1f}", f"{train['peak_rss_mb']:.0f}",
             f"{train['dataset_bytes'] / MB:.2f} datasets", f"{train['batches']} batches, "
             f"{train['batches_per_s']:.0f}/s; {train['rss_after_import_mb']:.0f} MB after imports"),
            (f"seed-style (serial, 1 key{ex})", f"{seed['seconds']:.1f}", seed_rss,
             f"{seed['onehot_bytes'] / MB:.0f} one-hot ({made})",
             f"{seed['tunes_processed']}/{seed['tunes_total']} tunes parsed; {seed['windows']} windows x "
             f"{SEQ} x {seed['vocab_size']}; s: {seed['seconds_parts']}"),
            ("seed-style, 24 keys (extrapolated)", f"{seed['seconds_24key_extrapolated']:.0f}", "",
             f"{seed['onehot_bytes_24key_extrapolated'] / MB:.0f} one-hot (computed)", "all_keys: 24 copies"),
            ("ratio seed-style / ours", f"{ratio['cold_seconds']}x cold", f"{ratio['prepare_peak_rss']}x",
             f"{ratio['train_data_bytes']}x datasets",
             f"one-hot MB / our train peak RSS MB = {ratio['onehot_vs_train_rss']}x")]
        rows += ["| " + " | ".join((label, *row)) + " |" for row in cells]
    return "\n".join(rows)


def target_lines(results: dict) -> list[str]:
    corpora = results["corpora"]
    lines = [f"target warm load < {TARGETS['warm_load_s']} s [{name}]: {r['ours_warm']['seconds']:.3f} s"
             for name, r in corpora.items()]
    if "essen_erk" in corpora and not corpora["essen_erk"]["limit_tunes"]:
        seconds = corpora["essen_erk"]["ours_cold"]["seconds"]
        lines.append(f"target cold essen_erk < {TARGETS['cold_essen_erk_s']} s: {seconds:.1f} s")
    if "essen" in corpora and not corpora["essen"]["limit_tunes"]:
        train, seed = corpora["essen"]["ours_train"], corpora["essen"]["seed_style"]
        lines.append(f"target training memory, full Essen + augmentation < "
                     f"{TARGETS['train_rss_essen_mb']:.0f} MB: {train['peak_rss_mb']:.0f} MB peak RSS; "
                     f"the seed-style one-hot arrays would need "
                     f"{seed['onehot_bytes'] / MB:.0f} MB (x24 keys: "
                     f"{seed['onehot_bytes_24key_extrapolated'] / MB:.0f} MB)")
    return lines


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m src.bench.prepare", description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", nargs="+", default=["essen_erk", "essen"])
    parser.add_argument("--out", default="docs/bench/prepare.json")
    parser.add_argument("--quick", action="store_true", help="essen_erk only; seed-style on 200 random tunes")
    parser.add_argument("--limit-tunes", type=int, default=None, help="only the first N tunes, everywhere")
    parser.add_argument("--cache-dir", default=None, help="parent folder of the temporary caches")
    parser.add_argument("--seed-budget", type=float, default=300.0,
                        help="seconds of seed-style parsing per corpus (not essen_erk) before extrapolating")
    args = parser.parse_args(argv)
    corpora = ["essen_erk"] if args.quick else args.corpora
    parent = tempfile.mkdtemp(prefix="bench-prepare-", dir=args.cache_dir)
    results = {"machine": {"cpus": os.cpu_count(), "mem_available_mb": round(mem_available() / MB),
                           "loadavg_start": os.getloadavg(), "python": sys.version.split()[0]},
               "settings": {"sequence_length": SEQ, "step": STEP, "quick": args.quick,
                            "limit_tunes": args.limit_tunes, "seed_budget_s": args.seed_budget},
               "targets": TARGETS, "corpora": {}}
    try:
        for name in corpora:
            results["corpora"][name] = bench_corpus(name, args, parent)
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["target_checks"] = target_lines(results)
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(results, indent=1) + "\n")
    machine = results["machine"]
    print(table(results))
    print(f"machine: {machine['cpus']} CPUs, 1-min load {machine['loadavg_start'][0]:.1f} at start, "
          f"{machine['loadavg_end'][0]:.1f} at end; timings are noisy when other work runs")
    print("\n".join(results["target_checks"]))
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
