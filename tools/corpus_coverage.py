"""`python -m tools.corpus_coverage [CORPUS ...] [--grids 1/4 1/12] [--workers N]`: what each corpus keeps.

Builds each named corpus cold (in a temporary cache folder, so nothing is loaded) once per grid with
repeats played out, and once on the first grid with `data.expand_repeats=false`, and prints one table:
songs read, kept (and the share of songs read), every skip reason with its count, cold build seconds,
and the build time with repeat expansion over the time without. Duplicates are songs equal to one
kept, so the table also gives the share kept or duplicate.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from src.data.corpus import load_or_build
from src.data.record import EncodingRecord, step_from_text


def build(corpus: str, grid: str, expand: bool, workers: int | None) -> tuple[dict, float]:
    """A cold build's report and seconds."""
    record = EncodingRecord(corpus=corpus, step=step_from_text(grid), expand_repeats=expand)
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        report = load_or_build(record, cache, workers).report
        return report, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="*", default=["oneills", "ryans", "airds", "essen_erk"])
    parser.add_argument("--grids", nargs="*", default=["1/4", "1/12", "1/24"])
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    print("| corpus | grid | repeats | songs read | kept | kept share | kept or duplicate | skipped "
          "| cold build s |")
    print("| --- " * 9 + "|")
    for corpus in args.corpora:
        seconds = {}
        for grid, expand in [(g, True) for g in args.grids] + [(args.grids[0], False)]:
            report, took = build(corpus, grid, expand, args.workers)
            seconds[(grid, expand)] = took
            read, kept = report["songs_read"], report["songs_kept"]
            duplicates = report["skipped"].get("duplicate", 0)
            skipped = ", ".join(f"{reason} {count}" for reason, count in report["skipped"].items()) or "none"
            print(f"| {corpus} | {grid} | {'played' if expand else 'as written'} | {read} | {kept} | "
                  f"{kept / read:.1%} | {(kept + duplicates) / read:.1%} | {skipped} | {took:.1f} |",
                  flush=True)
        ratio = seconds[(args.grids[0], True)] / seconds[(args.grids[0], False)]
        print(f"| {corpus} | {args.grids[0]} | expansion cost | | | | | | {ratio:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
