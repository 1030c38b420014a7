"""Cache building and reuse, dedup, stable splits, skip reasons and the prepare command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from src.data.corpus import load_or_build, song_split
from src.data.prepare import main as prepare_main
from src.data.record import EncodingRecord
from src.errors import UserError
from tests.conftest import ESSEN_DIR, write_tunes

TUNE = "M:2/4\nL:1/8\nK:Cmaj\n{notes} |]"


def split_by_tokens(corpus) -> dict[bytes, str]:
    return {corpus.tokens[s["offset"]:s["offset"] + s["length"]].tobytes(): s["split"]
            for s in corpus.songs}


def test_split_is_stable_when_corpus_is_reordered_or_grows(tmp_path):
    units = (ESSEN_DIR / "erk5.abc").read_text(encoding="latin-1").split("X:")[1:]
    small, grown, shuffled = tmp_path / "small", tmp_path / "grown", tmp_path / "shuffled"
    for folder, tunes in ((small, units[:15]), (grown, units), (shuffled, units[::-1])):
        folder.mkdir()
        (folder / "tunes.abc").write_text("".join("X:" + t for t in tunes))
    splits = [split_by_tokens(load_or_build(EncodingRecord(corpus=str(f)), tmp_path / "c", workers=1))
              for f in (small, grown, shuffled)]
    assert splits[1] == splits[2]
    assert all(splits[1][song] == split for song, split in splits[0].items())
    assert len(splits[0]) == 15 and len(splits[1]) == len(units)


def test_split_fractions_are_respected_over_many_songs():
    rng = np.random.default_rng(0)
    names = [song_split(rng.integers(0, 40, 50, dtype=np.uint8), 0.05, 0.05) for _ in range(4000)]
    assert abs(names.count("train") / 4000 - 0.90) < 0.02
    assert abs(names.count("test") / 4000 - 0.05) < 0.015


def test_exact_duplicates_are_kept_once(tmp_path):
    folder = write_tunes(tmp_path / "t", {
        "a": TUNE.format(notes="C2 D2 E4"), "b": TUNE.format(notes="C2 D2 E4"),
        "c": TUNE.format(notes="C2 D2 F4"),
    })
    corpus = load_or_build(EncodingRecord(corpus=str(folder)), tmp_path / "c", workers=1)
    assert corpus.report["songs_kept"] == 2 and corpus.report["skipped"] == {"duplicate": 1}
    assert [s["source"] for s in corpus.songs] == ["a.abc", "c.abc"]


def test_cache_is_reused_and_rebuilt_on_config_change(erk5_dir, tmp_path):
    first = load_or_build(EncodingRecord(corpus=str(erk5_dir)), tmp_path, workers=1)
    assert first.report["loaded_from_cache"] is False
    again = load_or_build(EncodingRecord(corpus=str(erk5_dir)), tmp_path, workers=1)
    assert again.report["loaded_from_cache"] is True and again.path == first.path
    other = load_or_build(EncodingRecord(corpus=str(erk5_dir), max_pitch=96), tmp_path, workers=1)
    assert other.path != first.path and other.report["loaded_from_cache"] is False
    assert len(other.vocab) == 52


def test_half_written_cache_is_never_loaded(erk5_dir, tmp_path):
    corpus = load_or_build(EncodingRecord(corpus=str(erk5_dir)), tmp_path, workers=1)
    (corpus.path / "report.json").unlink()  # as if killed before the last file was written
    rebuilt = load_or_build(EncodingRecord(corpus=str(erk5_dir)), tmp_path, workers=1)
    assert rebuilt.report["loaded_from_cache"] is False
    tokens = np.load(rebuilt.path / "tokens.npy")
    np.save(rebuilt.path / "tokens.npy", tokens[:-10])  # truncated token array
    assert load_or_build(EncodingRecord(corpus=str(erk5_dir)), tmp_path, workers=1).report[
        "loaded_from_cache"] is False
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_folder_with_corrupt_files_keeps_the_good_songs(erk5_dir, tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(erk5_dir, folder)
    (folder / "empty.abc").write_text("")
    (folder / "binary.krn").write_bytes(os.urandom(2000) + b"\x00")
    (folder / "garbage.mid").write_bytes(b"this is not midi at all")
    (folder / "broken.xml").write_text("<score-partwise><part id='P1'><measure>")
    (folder / "notes.txt").write_text("ignored: not a score suffix")
    corpus = load_or_build(EncodingRecord(corpus=str(folder)), tmp_path / "c", workers=1)
    skipped = corpus.report["skipped"]
    assert skipped["empty"] == 1 and skipped["binary"] == 1
    assert skipped["parse_error"] == 2
    assert corpus.report["songs_kept"] == 27 and corpus.report["files"] == 5


def test_parallel_build_equals_serial_build(erk5_dir, tmp_path):
    serial = load_or_build(EncodingRecord(corpus=str(erk5_dir)), tmp_path / "a", workers=1)
    from src.data import corpus as corpus_module
    corpus_module._SERIAL_BELOW, saved = 0, corpus_module._SERIAL_BELOW
    try:
        parallel = load_or_build(EncodingRecord(corpus=str(erk5_dir)), tmp_path / "b", workers=2)
    finally:
        corpus_module._SERIAL_BELOW = saved
    assert np.array_equal(serial.tokens, parallel.tokens) and serial.songs == parallel.songs


def test_no_usable_song_is_a_user_error(tmp_path):
    folder = write_tunes(tmp_path / "t", {"chord": TUNE.format(notes="[CEG]4 C4")})
    with pytest.raises(UserError, match="no usable song"):
        load_or_build(EncodingRecord(corpus=str(folder), melody="strict"), tmp_path / "c", workers=1)


def run_prepare(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "src.data.prepare", *args],
                          capture_output=True, text=True, timeout=300)


def test_prepare_prints_report_and_reuses_cache(erk5_dir, tmp_path):
    args = (f"data.corpus={erk5_dir}", f"data.cache_dir={tmp_path}", "data.prepare_workers=1")
    first = run_prepare(*args)
    assert first.returncode == 0, first.stderr
    assert "songs kept  27" in first.stdout and "built" in first.stdout
    second = run_prepare(*args)
    assert "loaded from cache" in second.stdout
    report = json.loads(next(tmp_path.glob("*/report.json")).read_text())
    assert report["songs_read"] == 27


def test_prepare_missing_folder_is_one_line_exit_2(tmp_path):
    result = run_prepare("data.corpus=/no/such/folder", f"data.cache_dir={tmp_path}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: data.corpus='/no/such/folder' is neither a bundled corpus nor an existing folder; "
        "accepted: essen_erk, essen, oneills, ryans, airds, misc, folk, "
        "or a folder of .abc/.krn/.xml/.musicxml/.mxl/.mid/.midi files"]


@pytest.mark.parametrize("args, message", [
    (["data.bogus=1"], "data.bogus"),
    (["data.step=abc"], "data.step"),
    (["data.min_pitch=90"], "data.min_pitch=90 is not accepted; accepted: an integer 0..84"),
    (["data.corpus={empty}"], "holds no"),
])
def test_prepare_bad_input_is_one_line_exit_2(args, message, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    args = [a.format(empty=tmp_path / "empty") for a in args]
    with pytest.raises(SystemExit) as exit_info:
        prepare_main([*args, f"data.cache_dir={tmp_path}"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
