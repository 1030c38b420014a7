"""Corpus fuzzing: truncated, garbage, empty, binary, huge and oddly named score files mixed into a folder
corpus; `prepare` finishes, keeps every good song and reports every bad file with its reason."""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st

from src.data import encoding, score_writer, units
from src.data.prepare import main as prepare_main

CAMPAIGN = os.environ.get("HYPOTHESIS_PROFILE") == "campaign"  # the numbers of docs/reliability.md
KERN = "**kern\n*M4/4\n*k[]\n=1\n4c\n4d\n4e\n4f\n=2\n2g\n2{last}\n==\n*-\n"
ABC = "X:1\nT:{title}\nM:2/4\nL:1/8\nK:C\n{notes} |]\n"


def melody(k: int) -> list[str]:
    return f"{60 + k} _ _ _ 62 _ 64 _ r _ {65 + k % 5} _ _ _ _ _".split()


def fuzz_folder(folder: Path, erk5_dir: Path, huge_mb: int = 8) -> dict[str, set[str]]:
    """Write the fuzz corpus; returns file name -> the outcomes accepted for it ("kept" or reasons)."""
    rng = random.Random(0)
    folder.mkdir(parents=True)
    shutil.copy(erk5_dir / "erk5.abc", folder / "erk5.abc")
    valid = folder / ".valid"
    valid.mkdir()
    score_writer.write_midi(melody(0), valid / "m.mid")
    score_writer.write_musicxml(melody(1), valid / "m.musicxml")
    midi, xml = (valid / "m.mid").read_bytes(), (valid / "m.musicxml").read_bytes()
    shutil.rmtree(valid)
    printable = "".join(rng.choice("abcdefgABCDEFG|:[]()^_=,'/0123456789 zZ\n%!*-") for _ in range(4000))
    noise = bytes(rng.randrange(256) for _ in range(4000))
    files: dict[str, tuple[bytes, set[str]]] = {
        # oddly named, good content: kept
        "weird name with spaces.krn": (KERN.format(last="a").encode(), {"kept"}),
        "ünïcødé-名前.musicxml": (xml, {"kept"}),
        "UPPER.MID": (midi, {"kept"}),
        "-dash=eq,comma#hash%.abc": (ABC.format(title="dash", notes="C2 D2 E4").encode(), {"kept"}),
        ".hidden.abc": (ABC.format(title="hidden", notes="E2 D2 C4").encode(), {"kept"}),
        "x" * 200 + ".krn": (KERN.format(last="b").encode(), {"kept"}),
        "new\nline.abc": (ABC.format(title="newline", notes="C2 E2 D4").encode(), {"kept"}),
        "sub/dir/deep.abc": (ABC.format(title="deep", notes="G2 E2 C4").encode(), {"kept"}),
        "melody.abc.mid": (midi, {"duplicate"}),  # the same notes as UPPER.MID
        # truncated
        "truncated.mid": (midi[: len(midi) // 2], {"parse_error", "no_notes", "kept"}),
        "truncated.musicxml": (xml[: len(xml) // 2], {"parse_error"}),
        "truncated.krn": (KERN.format(last="c").encode()[:30], {"parse_error", "no_notes", "kept"}),
        "truncated.abc": (b"X:1\nT:cut\nM:2/4\nL:1/8\nK:C\nC2 D", {"parse_error", "no_notes", "kept"}),
        "header-only.abc": (b"X:1\n", {"parse_error", "no_notes"}),
        # garbage
        "garbage.abc": (("X:1\n" + printable).encode(), {"parse_error", "no_notes", "off_grid", "chord",
                                                         "polyphony", "range", "kept"}),
        "no-header.abc": (printable.encode(), {"parse_error"}),
        "garbage.krn": (printable.encode(), {"parse_error", "no_notes"}),
        "garbage.xml": (printable.encode(), {"parse_error"}),
        "garbage.mid": (printable.encode(), {"parse_error"}),
        "garbage-after-header.mid": (b"MThd" + noise, {"parse_error", "no_notes"}),
        "not-music.xml": (b"<?xml version='1.0'?><html><body>hi</body></html>", {"parse_error", "no_notes"}),
        "garbage.mxl": (noise, {"parse_error"}),
        # empty
        "empty.abc": (b"", {"empty"}), "empty.krn": (b"", {"empty"}), "blank.xml": (b" \n\t\n", {"empty"}),
        "empty.mid": (b"", {"empty"}), "empty.musicxml": (b"", {"empty"}),
        # binary
        "binary.abc": (noise + b"\x00", {"binary"}), "binary.krn": (b"\x00" + noise, {"binary"}),
        "binary.xml": (noise + b"\x00", {"binary"}), "binary.mid": (noise, {"parse_error"}),
        # huge
        "huge.abc": (("X:1\nT:huge\nL:1/8\nK:C\n" + "C D E F | " * (huge_mb * 100_000)).encode(),
                     {"parse_error", "too_large"}),
        "huge-garbage.krn": (noise * (huge_mb * 250), {"binary", "too_large"}),
        "huge.mid": (b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x7f\xff\xff\xff" + noise,
                     {"parse_error", "no_notes"}),
        "deep.xml": (b"<score-partwise>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</score-partwise>",
                     {"parse_error", "no_notes"}),
        "laughs.xml": (_billion_laughs(), {"parse_error"}),
    }
    for name, (data, _) in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    raw = os.fsencode(folder) + b"/latin1-\xe9t\xe9.abc"  # a name that is not UTF-8
    with open(raw, "wb") as file:
        file.write(ABC.format(title="latin", notes="C4 G4").encode())
    (folder / "folder.abc").mkdir()  # not files: ignored
    os.symlink(folder / "missing.mid", folder / "dangling.mid")
    os.mkfifo(folder / "fifo.krn")
    expected = {name: outcomes for name, (_, outcomes) in files.items()}
    expected[os.fsdecode(b"latin1-\xe9t\xe9.abc")] = {"kept"}
    return expected


def _billion_laughs() -> bytes:
    entities = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    return (f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY l0 "lol">{entities}]>'
            "<score-partwise><work><work-title>&l9;</work-title></work></score-partwise>").encode()


def test_prepare_finishes_and_reports_every_bad_file(erk5_dir, tmp_path, capsys):
    folder = tmp_path / "corpus"
    expected = fuzz_folder(folder, erk5_dir)
    corpus = prepare_main([f"data.corpus={folder}", f"data.cache_dir={tmp_path / 'cache'}",
                           "data.prepare_workers=1"])
    printed = capsys.readouterr().out
    report = json.loads((corpus.path / "report.json").read_text(encoding="utf-8"))
    outcomes: dict[str, set[str]] = {}
    for song in corpus.songs:
        outcomes.setdefault(song["source"], set()).add("kept")
    for skip in report["skipped_examples"]:
        outcomes.setdefault(skip["source"], set()).add(skip["reason"])
    assert len(report["skipped_examples"]) < 50  # so every skip is listed
    for name, accepted in expected.items():
        assert name in outcomes, (name, sorted(outcomes))
        assert outcomes[name] <= accepted, (name, outcomes[name])
    assert sum(1 for s in corpus.songs if s["source"] == "erk5.abc") == 27  # every good song kept
    assert report["files"] == len(expected) + 1  # + erk5.abc; the folder, link and fifo are not files
    assert "songs kept" in printed and "skipped" in printed


# Every suffix, random bytes or text: parsing returns songs or skips, never raises.
@settings(max_examples=1000 if CAMPAIGN else 60, deadline=None, derandomize=True, database=None)
@given(suffix=st.sampled_from(units.SCORE_SUFFIXES),
       data=st.one_of(st.binary(max_size=3000), st.text(max_size=2000).map(str.encode),
                      st.text(alphabet="XTMLK:CDEFGABcdefgab,'|[]()z0123456789/ \n-_^=<>!", max_size=400)
                      .map(lambda t: ("X:1\n" + t).encode())))
def test_parsing_random_bytes_never_raises(suffix, data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        for unit in units.list_units(path, Path(folder)):
            items = [unit] if isinstance(unit, units.Skip) else encoding.parse_unit(unit, 0.25)
            for item in items:
                assert isinstance(item, units.Song | units.Skip)
                event("song" if isinstance(item, units.Song) else f"skipped: {item.reason}")
