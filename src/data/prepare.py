"""`python -m src.data.prepare [data.corpus=...]`: build or load the token cache, print its report."""

from __future__ import annotations

import sys
import time

from src.config import compose_config
from src.data.corpus import SPLITS, Corpus, load_or_build
from src.data.record import EncodingRecord
from src.errors import exit_on_user_error


def format_report(corpus: Corpus, seconds: float) -> str:
    """Human-readable report: songs read, kept, skipped per reason, tokens per split, seconds."""
    report = corpus.report
    skipped = ", ".join(f"{reason} {count}" for reason, count in report["skipped"].items()) or "none"
    splits = ", ".join(f"{s} {report['songs_per_split'][s]} songs / "
                       f"{report['tokens_per_split'][s]} tokens" for s in SPLITS)
    source = "loaded from cache" if report.get("loaded_from_cache") else "built"
    meters = ", ".join(f"{meter} {count}" for meter, count in report["meters"].items())
    assumed = f"; 4/4 assumed for {report['meter_assumed_4_4']} MIDI files without one" \
        if report["meter_assumed_4_4"] else ""
    modes = ", ".join(f"{mode} {count}" for mode, count in report["modes"].items())
    grids = report.get("grids", {})
    melody = ", ".join(f"{how} {count}" for how, count in report.get("melody", {}).items())
    held = ", ".join(f"{grid} {count}" for grid, count in grids.items() if grid != "read")
    return "\n".join([
        f"corpus      {report['config']['corpus']} ({report['files']} files)",
        f"cache       {corpus.path} ({source} in {seconds:.2f} s; build took {report['build_seconds']} s)",
        f"songs read  {report['songs_read']}",
        f"songs kept  {report['songs_kept']}",
        f"skipped     {skipped}",
        f"splits      {splits}",
        f"meters      {meters}{assumed}",
        f"bars        {report['pickups']} songs open with a pickup; {report['meter_changes']} change "
        "bar length inside",
        f"modes       {modes}; {report.get('key_changes', 0)} songs change key inside (moved by one key)",
        f"melody      {melody or 'none'}; top note kept where notes overlap in "
        f"{report.get('top_notes_kept', 0)} songs",
        f"grid        {report.get('grid', '?')} quarter note; of {grids.get('read', 0)} songs read, "
        f"each grid holds {held}"
        + (f"; {report['snapped_notes']} notes moved onto it in {report['snapped_songs']} songs "
           "(off_grid=snap)" if report.get("snapped_songs") else ""),
        f"styles      {_counts(report.get('styles', {}))}",
        f"tune types  {_counts(report.get('tune_types', {}))} (the R: field, normalised)",
    ])


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.items()) or "none"


@exit_on_user_error
def main(argv: list[str] | None = None) -> Corpus:
    cfg = compose_config("prepare", sys.argv[1:] if argv is None else argv)
    config = EncodingRecord.from_data_config(cfg.data)
    start = time.perf_counter()
    corpus = load_or_build(config, cfg.data.cache_dir, cfg.data.prepare_workers)
    print(format_report(corpus, time.perf_counter() - start))
    return corpus


if __name__ == "__main__":
    main()
