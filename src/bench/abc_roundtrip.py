"""ABC out and back: every tune of a corpus written as ABC (src/data/abc_notation.py) and read back.

`python -m src.bench.abc_roundtrip [corpora=oneills,essen_erk] [limit=N] [workers=2]`
Each ABC tune (split as the corpus splits files, `list_units`) is read as the corpus reads it
(src/data/encoding.py at `data.step=1/12`, repeats played out, off-grid notes snapped) and kept in its
own key (its `K:` mode, else the estimated key) and meter; its symbols are written as one ABC tune with
repeats folded, and read back by music21 (`parse_unit`) and by abc2midi (then `read_song` of the MIDI).
A tune comes back when both readers give its events and music21 the bars it was written in (where the
written tune has measures: two or more plain bar lines); its source's own bar lines are compared too.
Folding: for tunes printed with repeat signs, how often the folded tune has repeat signs, and how
often it is no longer in written bars than the tune as printed (both read with repeats as written).
`limit` takes the first N tunes of each corpus. Prints two tables, every tune that did not come back
with its reasons, then one JSON object.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from src.checks import check, integer
from src.data import encoding
from src.data.abc_keys import AbcKey
from src.data.abc_notation import Tune, bars_of, plain_bar_lines, tune_text
from src.data.abc_text import prepare_abc
from src.data.corpus import BUNDLED, corpus_files
from src.data.keys import abc_key_mode, estimate_key
from src.data.meter import bar_steps
from src.data.units import Skip, Song, Unit, list_units
from src.data.vocab import REST, events_to_symbols
from src.errors import UserError, exit_on_user_error

STEP = 1 / 12
SETTINGS = {"corpora": "oneills,essen_erk", "limit": 0, "workers": 2}
SOURCE = "source bars"  # the reasons that are the source's, not the writer's or a reader's


def settings_from(argv: list[str]) -> dict:
    """`key=value` pairs over SETTINGS, checked."""
    settings = dict(SETTINGS)
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep or key not in settings:
            raise UserError(f"unknown argument {arg!r}; accepted: {', '.join(f'{k}=' for k in settings)}")
        settings[key] = int(value) if key != "corpora" and re.fullmatch(r"-?\d+", value) else value
    for name in settings["corpora"].split(","):
        check("corpora", settings["corpora"], name in BUNDLED, f"names of {', '.join(BUNDLED)} and commas")
    integer("limit", settings["limit"], 0, note="(0: every tune)")
    integer("workers", settings["workers"], 1)
    if shutil.which("abc2midi") is None:
        raise UserError("abc2midi is missing: `make abcmidi` installs Debian's abcmidi")
    return settings


def tune_of(song: Song, text: str | None) -> Tune:
    """How a song is written: its meter, its pickup, its key (its K: with its mode, church modes kept,
    else estimated)."""
    start, size = song.bars[0]
    tonic, mode = (abc_key_mode(text or "") or song.declared_key
                   or estimate_key(song.events, np.array(encoding.key_profiles())))
    return Tune(step=STEP, time_signature=song.time_signature, pickup=start + size if start < 0 else 0,
                key=AbcKey(tonic, mode), title=song.title)


def written_bars(length: int, tune: Tune) -> list[tuple[int, int]]:
    """The bars (start, length) the writer cuts `length` steps into, at full length as read back."""
    bar = bar_steps(tune.time_signature, tune.step)
    first = tune.pickup - bar if tune.pickup else 0
    return [(first + k * bar, bar) for k in range(len(bars_of([REST] * length, bar, tune.pickup)))]


def abc2midi_events(text: str) -> tuple[list[tuple[int | None, int]] | None, str]:
    """abc2midi's MIDI of one tune read back: (events, or None without a MIDI file; its complaints)."""
    with tempfile.TemporaryDirectory() as folder:
        abc, midi = Path(folder) / "tune.abc", Path(folder) / "tune.mid"
        abc.write_text(text, encoding="utf-8")
        done = subprocess.run(["abc2midi", str(abc), "-o", str(midi)], capture_output=True, text=True,
                              timeout=60)
        said = " ".join(line for line in done.stdout.splitlines() if line.startswith(("Error", "Warning")))
        if not midi.is_file():
            return None, said or "no MIDI file"
        try:
            return encoding.read_song(midi, STEP).events, said
        except ValueError as err:
            return None, f"{said} {err}".strip()


def roundtrip(unit: Unit) -> list[dict]:
    """Each song of one unit written, read back and compared: a row of its reasons (none: it came back)."""
    rows = []
    printed = encoding.parse_unit(unit, STEP, expand_repeats=False)
    for offset, song in enumerate(encoding.parse_unit(unit, STEP)):
        row = {"source": unit.source, "index": song.index}
        if isinstance(song, Skip):
            rows.append(row | {"skip": song.reason})
            continue
        row["title"] = song.title
        tune = tune_of(song, unit.text)
        text = tune_text(events_to_symbols(song.events), tune)
        length = sum(steps for _, steps in song.events)
        expected = written_bars(length, tune)
        reasons = []
        own = [bar for bar in song.bars if 0 < bar[0] + bar[1] and bar[0] < length]  # no bar of rests only
        if len(song.bars) > 1 and own != expected:
            reasons.append(_source_bars(unit, own, expected))
        read = encoding.parse_unit(Unit("written.abc", unit.source, 0, text), STEP)[0]
        if isinstance(read, Skip):
            reasons.append(f"music21 skips it: {read.reason} ({read.detail})")
        else:
            if read.events != song.events:
                reasons.append("music21 reads other notes")
            if plain_bar_lines(text) >= 2 and read.bars != expected:
                reasons.append("music21 reads other bars")
        played, said = abc2midi_events(text)
        if played != song.events:
            what = "abc2midi reads other notes" if played is not None else "abc2midi writes no MIDI"
            reasons.append(what + (f" ({said})" if said else ""))
        row["reasons"] = reasons
        original = printed[offset] if offset < len(printed) else None
        if prepare_abc(unit.text or "").repeat_signs and isinstance(original, Song):
            folded = encoding.parse_unit(Unit("written.abc", unit.source, 0, text), STEP,
                                         expand_repeats=False)[0]
            signs = prepare_abc(text).repeat_signs
            row |= {"printed_bars": len(original.bars), "folded_signs": signs,
                    "folded_bars": len(folded.bars) if isinstance(folded, Song) else None,
                    "unfolded": None if signs else _why_unfolded(song, original, own, expected)}
        rows.append(row)
    return rows


def _why_unfolded(song: Song, printed: Song, bars: list, expected: list) -> str:
    """Why a tune printed with repeat signs is written without: what the reader plays, or its bars."""
    if len(song.bars) <= len(printed.bars):
        return "nothing played twice (the reader plays it as printed, e.g. a closing `|:|`)"
    if bars != expected:
        return "the source's bars are not the meter's"
    return "no part of two bars or more played twice with its edges clean"


def _source_bars(unit: Unit, bars: list[tuple[int, int]], expected: list[tuple[int, int]]) -> str:
    """Why a song's own bars are not the ones written: what one `M:` and a pickup cannot say."""
    if len(re.findall(r"(?m)^M:|\[M:", unit.text or "")) > 1:
        return f"{SOURCE}: the meter changes (a second M:)"
    if {size for _, size in bars} != {expected[0][1]}:
        return f"{SOURCE}: a bar of another length than the meter's (one M:)"
    return f"{SOURCE}: the pickup's bar line elsewhere"


def units_of(corpus: str, limit: int) -> tuple[list[Unit], list[Skip]]:
    """A bundled corpus's ABC tunes as the corpus splits its files, the first `limit` (0: all)."""
    root, files, _ = corpus_files(corpus)
    units, skips = [], []
    for file in files:
        for item in list_units(file, root):
            (skips if isinstance(item, Skip) else units).append(item)
    return (units[:limit], skips) if limit else (units, skips)


def run(corpora: list[str], limit: int, workers: int) -> dict[str, list[dict]]:
    """Every tune's row, per corpus."""
    results = {}
    context = mp.get_context("forkserver")  # music21 imported once, in the server
    context.set_forkserver_preload(["src.data.encoding"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for corpus in corpora:
            units, skips = units_of(corpus, limit)
            rows = [{"source": s.source, "index": s.index, "skip": s.reason} for s in skips]
            for done in pool.map(roundtrip, units, chunksize=4):
                rows.extend(done)
            results[corpus] = rows
    return results


def summary(rows: list[dict]) -> dict:
    """One corpus's figures."""
    songs = [r for r in rows if "skip" not in r]
    repeated = [r for r in songs if "printed_bars" in r]
    return {
        "tunes": len(rows), "skipped": dict(Counter(r["skip"] for r in rows if "skip" in r)),
        "songs": len(songs),
        "back": sum(not any(not x.startswith(SOURCE) for x in r["reasons"]) for r in songs),
        "with_source_bars": sum(not r["reasons"] for r in songs),
        "reasons": dict(Counter(x.split(" (")[0] if x.startswith("abc2midi") else x
                                for r in songs for x in r["reasons"]).most_common()),
        "printed_with_repeats": len(repeated),
        "folded_with_repeats": sum(r["folded_signs"] for r in repeated),
        "folded_no_longer": sum(r["folded_bars"] is not None and r["folded_bars"] <= r["printed_bars"]
                                for r in repeated),
        "unfolded": dict(Counter(r["unfolded"] for r in repeated if r["unfolded"]).most_common()),
    }


def _share(part: int, whole: int) -> str:
    return f"{part:,} / {whole:,} ({100 * part / whole:.1f}%)" if whole else "-"


def tables(figures: dict[str, dict]) -> str:
    """The two Markdown tables: the round trip, and folding."""
    lines = ["| corpus | tunes | read at 1/12 | back: notes (music21, abc2midi) and bars as written "
             "| ... and the source's own bar lines | not back, or not with the source's bars: reasons |",
             "| --- " * 6 + "|"]
    for corpus, f in figures.items():
        reasons = "; ".join(f"{k}: {v}" for k, v in f["reasons"].items()) or "none"
        skipped = ", ".join(f"{k} {v}" for k, v in f["skipped"].items())
        skipped = f" (skipped: {skipped})" if skipped else ""
        lines.append(f"| {corpus} | {f['tunes']:,} | {f['songs']:,}{skipped} "
                     f"| **{_share(f['back'], f['songs'])}** | {_share(f['with_source_bars'], f['songs'])} "
                     f"| {reasons} |")
    lines += ["", "| corpus | printed with repeat signs | folded with repeat signs "
              "| folded no longer than printed | written without repeat signs: why |", "| --- " * 5 + "|"]
    for corpus, f in figures.items():
        whole = f["printed_with_repeats"]
        why = "; ".join(f"{k}: {v}" for k, v in f["unfolded"].items()) or "-"
        lines.append(f"| {corpus} | {whole:,} | {_share(f['folded_with_repeats'], whole)} "
                     f"| {_share(f['folded_no_longer'], whole)} | {why} |")
    return "\n".join(lines)


@exit_on_user_error
def main(argv: list[str] | None = None) -> dict:
    settings = settings_from(sys.argv[1:] if argv is None else argv)
    began = time.perf_counter()
    results = run(settings["corpora"].split(","), settings["limit"], settings["workers"])
    figures = {corpus: summary(rows) for corpus, rows in results.items()}
    print(tables(figures))
    print(f"\n{time.perf_counter() - began:.0f} s, {settings['workers']} workers")
    for corpus, rows in results.items():
        for row in rows:
            if row.get("reasons"):
                print(f"{corpus} {row['source']} #{row['index'] + 1} {row['title']!r}: "
                      f"{'; '.join(row['reasons'])}")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
