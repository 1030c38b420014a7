"""`python -m tools.corpus_coverage [CORPUS ...] [--grids 1/4 1/12] [--snap] [--workers N]`: what is kept.

Builds each named corpus cold (in a temporary cache folder, so nothing is loaded) once per grid with
repeats played out, and once on the first grid with `data.expand_repeats=false` (with `--snap`, once more
per grid with `data.off_grid=snap`, notes moved to the nearest step), and prints one table:
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


def build(corpus: str, grid: str, expand: bool, workers: int | None,
          off_grid: str = "skip") -> tuple[dict, float]:
    """A cold build's report and seconds."""
    record = EncodingRecord(corpus=corpus, step=step_from_text(grid), expand_repeats=expand,
                            off_grid=off_grid)
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        report = load_or_build(record, cache, workers).report
        return report, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="*", default=["oneills", "ryans", "airds", "essen_erk"])
    parser.add_argument("--grids", nargs="*", default=["1/4", "1/12", "1/24"])
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--snap", action="store_true", help="also each grid with data.off_grid=snap")
    args = parser.parse_args()
    print("| corpus | grid | repeats | songs read | kept | kept share | kept or duplicate | skipped "
          "| cold build s |")
    print("| --- " * 9 + "|")
    for corpus in args.corpora:
        seconds = {}
        rows = [(g, True, "skip") for g in args.grids] + [(args.grids[0], False, "skip")]
        rows += [(g, True, "snap") for g in args.grids] if args.snap else []
        for grid, expand, off_grid in rows:
            report, took = build(corpus, grid, expand, args.workers, off_grid)
            if off_grid == "skip":
                seconds[(grid, expand)] = took
            read, kept = report["songs_read"], report["songs_kept"]
            duplicates = report["skipped"].get("duplicate", 0)
            skipped = ", ".join(f"{reason} {count}" for reason, count in report["skipped"].items()) or "none"
            if off_grid == "snap":
                skipped += f"; {report['snapped_notes']} notes snapped in {report['snapped_songs']} songs"
            repeats = "played" if expand else "as written"
            label = grid + (" snap" if off_grid == "snap" else "")
            print(f"| {corpus} | {label} | {repeats} | {read} | {kept} | "
                  f"{kept / read:.1%} | {(kept + duplicates) / read:.1%} | {skipped} | {took:.1f} |",
                  flush=True)
        ratio = seconds[(args.grids[0], True)] / seconds[(args.grids[0], False)]
        print(f"| {corpus} | {args.grids[0]} | expansion cost | | | | | | {ratio:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
