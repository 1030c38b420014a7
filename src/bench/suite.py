"""`python -m src.bench [quick=true]`: every benchmark side by side in one run, each part in a fresh process.

Parts: prepare (cold and warm), training speed (Lightning and the plain loop), sampling speed, and
time to quality (training seconds until val bits reach the best n-gram's). Results go to a JSON
file and, unless quick, to the generated section of docs/benchmarks.md; the last line printed is
the whole result as one JSON object.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from src.atomic import atomic_path
from src.bench import report
from src.bench.process import measure
from src.checks import boolean, check, integer, number
from src.config import literal_settings
from src.errors import exit_on_user_error

LISTS = (
    "prepare_corpora",
    "train_experiments",
    "plain_experiments",
    "sample_experiments",
    "ngram_orders",
    "ttq_experiments",
)


def settings_from(argv: list[str]) -> dict:
    """conf/bench.yaml, the quick_* values when quick=true (unless given), then the command line."""
    settings = literal_settings(argv, "bench", ("corpus", "cache_dir", "markdown", "json"))
    given = {arg.partition("=")[0] for arg in argv}
    if settings["quick"] is True:
        for key in [k for k in settings if k.startswith("quick_")]:
            if key[6:] not in given:
                settings[key[6:]] = settings[key]
    settings = {k: v for k, v in settings.items() if not k.startswith("quick_")}
    for key in ("markdown", "json"):  # text keys: `markdown=null` on the command line arrives as text
        if settings[key] in ("null", "None", ""):
            settings[key] = None
    boolean("quick", settings["quick"])
    for key in LISTS:
        check(key, settings[key], isinstance(settings[key], list), "a list like [a, b]")
    for key, least in (("train_steps", 1), ("sample_steps", 1), ("seed_style_steps", 0),
                       ("uncached_steps", 0)):
        integer(key, settings[key], least)
    for key in ("ttq_budget_s", "ttq_every_s"):
        number(key, settings[key], gt=0)
    return settings


def _part(label: str, name: str, **kwargs) -> dict:
    print(f"[bench] {label} ...", file=sys.stderr, flush=True)
    began = time.perf_counter()
    result = measure(name, **kwargs)
    print(f"[bench] {label}: {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    return result


def run(settings: dict) -> dict:
    """Every part, in order; returns the results (settings, machine, and one entry per part)."""
    began = time.perf_counter()
    data = {"corpus": settings["corpus"], "cache_dir": settings["cache_dir"]}
    results = {
        "settings": settings,
        "machine": machine(),
        "prepare": {},
        "train": {},
        "sample": {},
        "ngram": None,
        "ttq": {},
    }
    parent = tempfile.mkdtemp(prefix="bench-")
    try:
        for corpus in settings["prepare_corpora"]:
            cache = tempfile.mkdtemp(dir=parent)
            workers = os.cpu_count() or 1
            results["prepare"][corpus] = {
                when: _part(
                    f"prepare {corpus} {when}",
                    "src.bench.prepare:ours_load",
                    corpus=corpus,
                    cache_dir=cache,
                    workers=workers,
                )
                for when in ("cold", "warm")
            }
            shutil.rmtree(cache, ignore_errors=True)
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    _part("token cache", "src.bench.prepare:ours_load", workers=os.cpu_count() or 1, **data)
    for name in settings["train_experiments"]:
        results["train"][name] = _part(
            f"train speed {name}",
            "src.bench.train_speed:speed",
            experiment=name,
            steps=settings["train_steps"],
            plain=name in settings["plain_experiments"],
            **data,
        )
    for name in settings["sample_experiments"]:
        results["sample"][name] = _part(
            f"sampling {name}",
            "src.bench.sample_speed:speed",
            experiment=name,
            steps=settings["sample_steps"],
            seed_style_steps=settings["seed_style_steps"],
            uncached_steps=settings["uncached_steps"],
        )
    if settings["ttq_experiments"]:
        results["ngram"] = _part(
            "n-gram target", "src.bench.quality:ngram_bits", orders=tuple(settings["ngram_orders"]), **data
        )
        first = None  # seconds the first experiment took: a later one gets 10x that, to decide the ratio
        for name in settings["ttq_experiments"]:
            budget = float(settings["ttq_budget_s"])
            if first is not None:
                budget = max(budget, 10 * first + float(settings["ttq_every_s"]))
            results["ttq"][name] = _part(
                f"time to quality {name}",
                "src.bench.quality:time_to_quality",
                experiment=name,
                target=results["ngram"]["best_val_bits"],
                budget_s=budget,
                every_s=float(settings["ttq_every_s"]),
                **data,
            )
            if first is None:
                first = results["ttq"][name]["reached_s"]
    results["seconds"] = round(time.perf_counter() - began, 1)
    results["targets"] = report.targets(results)
    return results


def machine() -> dict:
    import torch

    return {
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg()[0],
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


@exit_on_user_error
def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    settings = settings_from(argv)
    results = run(settings)
    results["command"] = " ".join(["python -m src.bench", *argv])
    if settings["json"]:
        path = Path(settings["json"])
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(results, indent=1) + "\n")
    text = report.markdown(results)
    if settings["markdown"]:
        report.write_section(Path(settings["markdown"]), text)
    print(text)
    print(json.dumps(results))
    return results
