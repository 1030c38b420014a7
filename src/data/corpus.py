"""The song corpus as a cached uint8 token array: find files, parse in parallel, normalize, split."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from src.atomic import atomic_dir
from src.data import encoding
from src.data.build_report import build_report
from src.data.keys import KEY_NAMES, centre_octaves, estimate_key, fit_octaves, shift_to_reference
from src.data.labels import tune_labels
from src.data.meter import MAX_BAR_STEPS, bar_positions, pickup
from src.data.record import EncodingRecord
from src.data.units import SCORE_SUFFIXES, Skip, Song, Unit, list_units
from src.data.vocab import BOUNDARY_ID, FIRST_PITCH_ID, HOLD_ID, REST_ID, Vocabulary
from src.errors import UserError

ENCODING_VERSION = 11  # bump when the encoding changes meaning: old caches are then rebuilt
SPLITS = ("train", "val", "test")
# corpora music21 ships: name -> (its folder in music21's corpus, the files)
BUNDLED = {"essen_erk": ("essenFolksong", "erk*.abc"), "essen": ("essenFolksong", "*.abc"),
           "oneills": ("oneills1850", "*.abc"), "ryans": ("ryansMammoth", "*.abc"),
           "airds": ("airdsAirs", "*.abc"), "misc": ("miscFolk", "*.abc"),
           "folk": ("", "*.abc")}  # every folk collection above, one corpus (FOLK_FOLDERS)
FOLK_FOLDERS = ("essenFolksong", "oneills1850", "ryansMammoth", "airdsAirs", "miscFolk")
_SERIAL_BELOW = 64  # parse small corpora in-process: a pool costs more than it saves


@dataclass
class Corpus:
    """Loaded cache: `tokens` holds every song followed by its closing `/`."""

    tokens: np.ndarray  # (N,) uint8 ids
    songs: list[dict]  # per song: source, index, title, key, mode, time_signature, pickup, split, labels
    #                    (collection, subset, style, tune_type: src/data/labels.py), form, part_bars, ...
    vocab: Vocabulary
    report: dict
    path: Path
    positions: np.ndarray  # (N, 2) uint8: each token's (position in its bar, bar length) (meter.py)

    def split(self, name: str) -> list[dict]:
        return [s for s in self.songs if s["split"] == name]

    def song_tokens(self, song: dict) -> np.ndarray:
        """One song's ids (its length,) uint8: a view into `tokens`, without the closing `/`."""
        return self.tokens[song["offset"]:song["offset"] + song["length"]]

    def song_positions(self, song: dict) -> np.ndarray:
        """One song's (position in its bar, bar length) per token (its length + 1, 2), the closing `/`'s
        included: a view into `positions`."""
        return self.positions[song["offset"]:song["offset"] + song["length"] + 1]

    def song_range(self, song: dict) -> int:
        """Semitones from a song's lowest to its highest pitch (0 without pitches)."""
        ids = self.song_tokens(song)
        pitches = ids[ids >= FIRST_PITCH_ID]
        return int(pitches.max()) - int(pitches.min()) if len(pitches) else 0


def load_or_build(config: EncodingRecord, cache_dir: str | Path = "data/processed",
                  workers: int | None = None) -> Corpus:
    """Load the cache for `config`, building it first if it is missing or incomplete."""
    root, files, name = corpus_files(config.corpus)
    path = Path(cache_dir) / f"{name}-{_cache_hash(config, root, files)}"
    corpus = _load(path)
    if corpus is None:
        build(config, root, files, path, workers)
        corpus = _load(path)
        assert corpus is not None, f"cache at {path} did not load after building"
        corpus.report["loaded_from_cache"] = False
    return corpus


def corpus_files(corpus: str, key: str = "data.corpus") -> tuple[Path, list[Path], str]:
    """(root, score files, cache name) for a bundled corpus name or a folder path (set as `key`)."""
    if corpus in BUNDLED:
        folder, pattern = BUNDLED[corpus]
        root = Path(encoding.m21.__file__).parent / "corpus" / folder
        folders = [root / name for name in FOLK_FOLDERS] if corpus == "folk" else [root]
        return root, sorted(f for each in folders for f in each.glob(pattern)), corpus
    root = Path(corpus).expanduser()
    if not root.is_dir():
        raise UserError(
            f"{key}={corpus!r} is neither a bundled corpus nor an existing folder; "
            f"accepted: {', '.join(BUNDLED)}, or a folder of {'/'.join(SCORE_SUFFIXES)} files"
        )
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SCORE_SUFFIXES)
    if not files:
        raise UserError(f"corpus folder {root} holds no {'/'.join(SCORE_SUFFIXES)} files")
    return root.resolve(), [f.resolve() for f in files], root.resolve().name or "corpus"


def build(config: EncodingRecord, root: Path, files: list[Path], path: Path,
          workers: int | None = None) -> None:
    """Parse every file, encode, dedup, split, and write the cache folder atomically."""
    start = time.perf_counter()
    vocab = config.vocab
    units: list[Unit] = []
    skips: list[Skip] = []
    for file in files:
        for item in list_units(file, root):
            (skips if isinstance(item, Skip) else units).append(item)
    parsed = _parse_all(units, config, workers)

    profiles = np.array(encoding.key_profiles(), dtype=np.float64)  # (2, 12): major, minor
    seen: set[bytes] = set()
    kept: list[tuple[dict, np.ndarray, np.ndarray]] = []
    for item in parsed:
        if isinstance(item, Skip):
            skips.append(item)
            continue
        encoded = encode_song(item, vocab, profiles, config.normalize_key, config.normalize_octave)
        if isinstance(encoded, Skip):
            skips.append(encoded)
            continue
        song, ids, positions, identity = encoded
        song.update(tune_labels(config.corpus, item.source, item.rhythm), form=item.form,
                    part_bars=list(item.part_bars))
        digest = identity.tobytes()
        if digest in seen:
            skips.append(Skip(item.source, item.index, "duplicate"))
            continue
        seen.add(digest)
        song["split"] = song_split(identity, config.val_fraction, config.test_fraction)
        kept.append((song, ids, positions))
    if not kept:
        reasons = Counter(s.reason for s in skips)
        raise UserError(f"corpus {config.corpus!r} has no usable song (skipped: {dict(reasons)})")

    chunks, offset = [], 0
    for song, ids, _ in kept:
        song["offset"], song["length"] = offset, len(ids)
        chunks.append(ids)
        chunks.append(np.array([BOUNDARY_ID], dtype=np.uint8))
        offset += len(ids) + 1
    tokens = np.concatenate(chunks)
    positions = np.concatenate([p for _, _, p in kept])  # (N, 2): each song's steps and closing '/'
    songs = [song for song, _, _ in kept]
    report = build_report(config, files, parsed, skips, songs, time.perf_counter() - start, workers,
                          ENCODING_VERSION, SPLITS)
    with atomic_dir(path) as tmp:
        np.save(tmp / "tokens.npy", tokens)
        np.save(tmp / "positions.npy", positions)
        _write_json(tmp / "songs.json", songs)
        _write_json(tmp / "mapping.json", vocab.mapping)
        _write_json(tmp / "report.json", report)  # written last: its presence marks completion


def song_split(ids: np.ndarray, val_fraction: float, test_fraction: float) -> str:
    """Stable split from a hash of the song's tokens: unchanged by corpus order or growth."""
    u = int.from_bytes(hashlib.sha256(ids.tobytes()).digest()[:8], "big") / 2**64
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "val"
    return "train"


def encode_song(song: Song, vocab: Vocabulary, profiles: np.ndarray, normalize_key: bool,
                 normalize_octave: bool) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray] | Skip:
    """(record, ids, positions, ids as written in their own octave: what the split and duplicates are
    decided on, so `normalize_octave` moves songs without changing which songs or which split)."""
    tonic, mode = song.declared_key or estimate_key(song.events, profiles)
    shift = shift_to_reference(tonic, mode) if normalize_key else 0
    pitches = [p + shift for p, _ in song.events if p is not None]
    octave = fit_octaves(min(pitches), max(pitches), vocab.min_pitch, vocab.max_pitch)
    if octave is None:
        return Skip(song.source, song.index, "range", f"pitches {min(pitches)}..{max(pitches)}")
    shift += octave
    identity = _song_ids(song, vocab, shift)
    centred = 0  # semitones from the song's own register into the one register (normalize_octave)
    if normalize_octave:
        centred = centre_octaves([p + octave for p in pitches], vocab.min_pitch, vocab.max_pitch)
    shift += centred
    ids = _song_ids(song, vocab, shift) if normalize_octave else identity
    if max(size for _, size in song.bars) > MAX_BAR_STEPS:
        return Skip(song.source, song.index, "bar_too_long", f"a bar over {MAX_BAR_STEPS} steps")
    positions = bar_positions(song.bars, len(ids))  # (len + 1, 2): the steps, then the closing '/'
    record = {
        "source": song.source, "index": song.index, "title": song.title,
        "key": f"{KEY_NAMES[tonic]} {mode}", "key_declared": song.declared_key is not None,
        "mode": mode, "transposition": shift, "octave": centred, "time_signature": song.time_signature,
        "meter_stated": song.meter_stated, "pickup": pickup(positions),
        "meter_changes": len({size for _, size in song.bars[1:-1]} | {song.bars[0][1]}) > 1,
    }
    return record, ids, positions, identity


def _song_ids(song: Song, vocab: Vocabulary, shift: int) -> np.ndarray:
    ids: list[int] = []
    for pitch, steps in song.events:
        ids.append(REST_ID if pitch is None else vocab.pitch_to_id(pitch + shift))
        ids.extend([HOLD_ID] * (steps - 1))
    return np.asarray(ids, dtype=np.uint8)


def _parse_all(units: list[Unit], config: EncodingRecord, workers: int | None) -> list[Song | Skip]:
    work = partial(encoding.parse_unit, step=config.step, expand_repeats=config.expand_repeats,
                   melody=config.melody, off_grid=config.off_grid)
    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(units), desc="parsing", unit="tune", disable=None)
    results: list[Song | Skip] = []
    if workers == 1 or len(units) < _SERIAL_BELOW:
        for unit in units:
            results.extend(work(unit))
            bar.update()
    else:
        # forkserver: safe when the caller already has threads (torch, Lightning); the server
        # imports music21 once and forks every worker from it.
        context = mp.get_context("forkserver")
        context.set_forkserver_preload(["src.data.encoding"])
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for batch in pool.map(work, units, chunksize=8):
                results.extend(batch)
                bar.update()
    bar.close()
    return results


def _cache_hash(config: EncodingRecord, root: Path, files: list[Path]) -> str:
    fingerprint = {
        "config": config.cache_fields() | {"corpus": config.corpus if config.corpus in BUNDLED
                                           else str(root)},
        "version": ENCODING_VERSION, "music21": encoding.m21.__version__,
        "files": [(str(f.relative_to(root)), f.stat().st_size, f.stat().st_mtime_ns
                   if config.corpus not in BUNDLED else 0) for f in files],
    }
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:12]


def _load(path: Path) -> Corpus | None:
    """Load a complete cache; None when absent or left incomplete (it is then rebuilt)."""
    names = ("tokens.npy", "positions.npy", "songs.json", "mapping.json", "report.json")
    if not all((path / n).is_file() for n in names):
        return None
    try:
        tokens = np.load(path / "tokens.npy")
        positions = np.load(path / "positions.npy")
        songs = json.loads((path / "songs.json").read_text(encoding="utf-8"))
        vocab = Vocabulary.from_mapping(json.loads((path / "mapping.json").read_text(encoding="utf-8")))
        report = json.loads((path / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UserError):
        return None
    if (tokens.dtype != np.uint8 or sum(s["length"] + 1 for s in songs) != len(tokens)
            or positions.shape != (len(tokens), 2)):
        return None
    report["loaded_from_cache"] = True
    return Corpus(tokens, songs, vocab, report, path, positions)


def _write_json(path: Path, data) -> None:
    # UTF-8 whatever the locale; a file name that is not UTF-8 (lone surrogates in Python) is written
    # as its JSON escape (\udcXX), which loads back as the same name
    path.write_bytes(json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8", "backslashreplace"))
