"""Our re-creation of the original project's preprocessing, for `src.bench.prepare` only.

music21 parse of every tune, `analyze('key')` + `transpose`, a symbol string, integer mapping and
one-hot windows, as the seed's write-up describes them. Written for the benchmark, not the seed's code;
the one place besides `src/data/encoding.py` that uses music21, because it measures music21's own way.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

SEQ, STEP = 64, 0.25  # the seed's window length and grid step (quarter notes)


def seed_style_tunes(corpus: str) -> list[str]:
    """Every ABC tune of the corpus, split at `X:` lines as the text of one tune each."""
    from src.data.corpus import corpus_files
    tunes = []
    for path in corpus_files(corpus)[1]:
        text = path.read_text(encoding="latin-1")
        tunes += [t for t in re.split(r"(?m)^(?=X:)", text) if t.startswith("X:")]
    return tunes


def seed_style_normalize(song):
    """music21 key analysis, then `transpose` to C major / A minor (the seed's one-key case)."""
    import music21 as m21
    key = song.analyze("key")
    target = m21.pitch.Pitch("C" if key.mode == "major" else "A")
    return song.transpose(m21.interval.Interval(key.tonic, target))


def seed_style_encode(song) -> str | None:
    """'60 _ _ r _ 62 ...' on a 16th grid; None (skipped) for chords or off-grid durations."""
    symbols = []
    for event in song.flatten().notesAndRests:
        steps = event.duration.quarterLength / STEP
        if steps <= 0 or steps != int(steps) or event.isChord:
            return None
        symbols += ["r" if event.isRest else str(event.pitch.midi)] + ["_"] * (int(steps) - 1)
    return " ".join(symbols) if symbols else None


def seed_style_onehot(ids, vocab_size: int, count: int):
    """float32 (count, 64, vocab) one-hot windows and their int64 targets, as the seed's generator."""
    import numpy as np
    ids = np.asarray(ids, dtype=np.int64)
    inputs = np.zeros((count, SEQ, vocab_size), np.float32)
    eye, windows = np.eye(vocab_size, dtype=np.float32), np.lib.stride_tricks.sliding_window_view(ids, SEQ)
    for start in range(0, count, 4096):
        inputs[start:start + 4096] = eye[windows[start:min(start + 4096, count)]]
    return inputs, ids[SEQ:SEQ + count].copy()


def seed_style_run(corpus: str, sample: int | None, budget: float | None, materialize: bool) -> dict:
    """The whole seed-style pipeline, serial as in the original; subsets are scaled up, labelled."""
    start = time.perf_counter()
    import music21 as m21
    import_seconds = time.perf_counter() - start
    tunes = seed_style_tunes(corpus)
    order = list(range(len(tunes)))
    random.Random(0).shuffle(order)  # a stopped or sampled run then holds a random subset
    order = order[:sample] if sample else order
    t0, songs = time.perf_counter(), []
    for i in order:  # the seed parsed every song first and kept them all in a list
        if budget is not None and time.perf_counter() - t0 > budget:
            break
        try:
            songs.append(m21.converter.parse(tunes[i], format="abc"))
        except Exception:
            songs.append(None)
    processed, t1, key_s, encode_s, encoded = len(songs), time.perf_counter(), 0.0, 0.0, []
    for song in filter(None, songs):  # one transposed copy alive at a time, as in the seed's loop
        a = time.perf_counter()
        moved = seed_style_normalize(song)
        b = time.perf_counter()
        encoded.append(seed_style_encode(moved))
        key_s, encode_s = key_s + b - a, encode_s + time.perf_counter() - b
    encoded, t3 = list(filter(None, encoded)), time.perf_counter()
    text = " ".join(e + " " + " ".join(["/"] * SEQ) for e in encoded)  # '/' * 64 between songs
    symbols = text.split()
    mapping = {s: i for i, s in enumerate(sorted(set(symbols)))}
    ids = [mapping[s] for s in symbols]
    t4 = time.perf_counter()
    scale = len(tunes) / max(processed, 1)
    windows, windows_full = len(ids) - SEQ, int((len(ids) * scale) - SEQ)
    per_window = SEQ * len(mapping) * 4 + 8
    result = {"tunes_total": len(tunes), "tunes_processed": processed, "songs_encoded": len(encoded),
              "vocab_size": len(mapping), "windows": windows_full, "subset_scale": round(scale, 3),
              "extrapolated": scale > 1, "onehot_bytes": windows_full * per_window}
    made, onehot_s = 0, 0.0
    if materialize:  # a prefix only where the whole array would pass 60% of the available memory
        made = min(windows, int(0.6 * mem_available() / per_window))
        t5 = time.perf_counter()
        inputs, targets = seed_style_onehot(ids, len(mapping), made)
        onehot_s = time.perf_counter() - t5
        result["onehot_materialized_bytes"] = int(inputs.nbytes + targets.nbytes)
        del inputs, targets
    onehot_full = onehot_s * windows_full / made if made else 0.0
    parts = {"parse": (t1 - t0) * scale, "key_transpose": key_s * scale,
             "encode": encode_s * scale, "map": (t4 - t3) * scale, "onehot": onehot_full}
    result["seconds_parts"] = {k: round(v, 2) for k, v in parts.items()}
    result["seconds"] = round(sum(parts.values()), 2)
    result |= {"import_seconds": round(import_seconds, 3), "onehot_materialized_windows": made}
    # the seed's all_keys augmentation: 24 copies, each with its own analyze('key') + transpose
    result["seconds_24key_extrapolated"] = round(
        parts["parse"] + 24 * (parts["key_transpose"] + parts["encode"] + parts["map"] + onehot_full), 1)
    result["onehot_bytes_24key_extrapolated"] = 24 * result["onehot_bytes"]
    return result


def mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")
