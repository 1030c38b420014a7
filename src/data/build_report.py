"""What building a corpus cache read, kept and skipped, and what the kept songs hold (its report.json)."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from src.data.meter import grid_of
from src.data.record import EncodingRecord
from src.data.units import Skip, Song


def build_report(config: EncodingRecord, files: list[Path], parsed: list, skips: list[Skip],
                 songs: list[dict], seconds: float, workers: int | None, version: int,
                 splits: tuple[str, ...]) -> dict:
    """The cache's report.json: what was read, kept and skipped, and what the kept songs hold."""
    split_tokens = Counter()
    split_songs = Counter()
    for song in songs:
        split_tokens[song["split"]] += song["length"] + 1  # + the closing '/'
        split_songs[song["split"]] += 1
    return {
        "config": config.cache_fields(), "encoding_version": version,
        "files": len(files), "songs_read": len(songs) + len(skips), "songs_kept": len(songs),
        "skipped": dict(sorted(Counter(s.reason for s in skips).items())),
        "skipped_examples": [asdict(s) for s in skips[:50]],
        "songs_per_split": {s: split_songs[s] for s in splits},
        "meters": dict(Counter(s["time_signature"] for s in songs).most_common()),
        "meter_assumed_4_4": sum(not s["meter_stated"] for s in songs),  # MIDI without a meter
        "meter_changes": sum(s["meter_changes"] for s in songs),  # songs whose bar length changes
        "pickups": sum(s["pickup"] > 0 for s in songs),  # songs that start before a downbeat
        "modes": dict(Counter(s["mode"] for s in songs).most_common()),
        "styles": dict(Counter(s["style"] for s in songs).most_common()),
        "tune_types": dict(Counter(s["tune_type"] for s in songs).most_common()),
        "forms": dict(Counter(s["form"] for s in songs).most_common(12)),
        "tokens_per_split": {s: split_tokens[s] for s in splits},
        "grid": str(grid_of(config.step)),
        "grids": grid_counts(parsed),
        "melody": dict(Counter(item.melody for item in parsed if isinstance(item, Song)).most_common()),
        "top_notes_kept": sum(item.overlapped for item in parsed if isinstance(item, Song)),
        "key_changes": sum(item.key_changes > 0 for item in parsed if isinstance(item, Song)),
        # data.off_grid=snap: songs with notes moved to the grid, and the notes moved
        "snapped_songs": sum(item.snapped > 0 for item in parsed if isinstance(item, Song)),
        "snapped_notes": sum(item.snapped for item in parsed if isinstance(item, Song)),
        "build_seconds": round(seconds, 2), "workers": workers or os.cpu_count(),
    }


GRIDS = (4, 8, 12, 16, 24, 48)  # 16ths, 32nds, + eighth triplets, 64ths, + 16th triplets, + both


def grid_counts(parsed: list[Song | Skip]) -> dict[str, int]:
    """How many of the songs whose notes were read each grid 1/q quarter note holds ("1/12": 16ths and
    eighth-note triplets), whatever else later kept or skipped them: what choosing `data.step` costs."""
    needed = [item.grid for item in parsed if item.grid > 0]
    return {f"1/{q}": sum(q % n == 0 for n in needed) for q in GRIDS} | {"read": len(needed)}
