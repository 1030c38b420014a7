"""Tunes in from files: `seed=` a score file or an ABC fragment, `tune=`, `seed_bars=`, infill on a tune; each
read as the corpus reads a song and written back in its own key, meter and octave."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from src.data.encoding import parse_unit, read_song
from src.data.score_writer import write_midi, write_musicxml
from src.data.units import list_units
from src.models.generation.tunes import seed_kind, tune_list
from src.sample import main as sample_main

MODEL = Path(__file__).resolve().parents[1] / "models" / "transformer_lm.ckpt"  # one register, infills
BOOK = """X:1
T:Hand Reel
R:reel
M:4/4
L:1/8
K:G
GABc d2B2|c2A2 G4|GABc d2B2|A2F2 G4|
X:7
T:Slow Air
R:air
M:3/4
L:1/8
K:Edor
B,2|E2F2G2|B4A2|G2F2E2|E4|]
"""
# the two tunes' notes, as written (step 1/4: an eighth is two steps)
REEL = ("67 _ 69 _ 71 _ 72 _ 74 _ _ _ 71 _ _ _ 72 _ _ _ 69 _ _ _ 67 _ _ _ _ _ _ _ "
        "67 _ 69 _ 71 _ 72 _ 74 _ _ _ 71 _ _ _ 69 _ _ _ 66 _ _ _ 67 _ _ _ _ _ _ _").split()
AIR = "59 _ _ _ 64 _ _ _ 66 _ _ _ 67 _ _ _ 71 _ _ _ _ _ _ _ 69 _ _ _ 67 _ _ _ 66 _ _ _ 64 _ _ _ 64".split()


def sample(tmp_path: Path, *args: str, out: str = "out") -> tuple[list[list[str]], Path]:
    folder = tmp_path / out
    return sample_main([f"ckpt={MODEL}", f"out_dir={folder}", "steps=24", "num_samples=2", *args]), folder


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "book.abc"
    path.write_text(BOOK)
    return path


def test_seed_kinds():
    assert seed_kind("") == "tokens" and seed_kind("60 _ r 62") == "tokens"
    assert seed_kind("60 _ x") == "tokens"  # a mistyped symbol is refused as one, not read as ABC
    assert seed_kind("tunes/kesh.abc") == "file" and seed_kind("x.MID") == "file"
    assert seed_kind("my tunes/the kesh.abc") == "file"
    assert seed_kind("GABc d2B2|") == "abc" and seed_kind("_B2 =c") == "abc"


def test_a_tune_book_gives_its_tunes_and_one_by_number_or_title(book, tmp_path):
    assert tune_list(book) == [("1", "Hand Reel"), ("7", "Slow Air")]
    by_number, folder = sample(tmp_path, f"seed={book}", "tune=7")
    by_title, _ = sample(tmp_path, f"seed={book}", "tune=slow air", out="b")
    padded, _ = sample(tmp_path, f"seed={book}", "tune=07", out="c")
    assert by_number == by_title == padded
    for melody in by_number:  # the tune itself first, in its own key and octave, then the continuation
        assert melody[:len(AIR)] == AIR and len(melody) > len(AIR)
    text = (folder / "melody_00.abc").read_text()
    assert "\nR:air\nM:3/4\nL:1/8\nQ:1/4=120\nK:Edor\nB,2|E2 F2 G2|B4 A2|G2 F2 E2|E4" in text
    assert (folder / "melody.abc").read_text().count("X:") == 2


def test_the_first_tune_of_a_book_is_taken_with_a_note(book, tmp_path, capsys):
    melodies, _ = sample(tmp_path, f"seed={book}")
    assert melodies[0][:len(REEL)] == REEL
    assert "tune book of 2 tunes; took X:1 'Hand Reel'" in capsys.readouterr().err


def test_seed_bars_keep_those_bars(book, tmp_path):
    melodies, folder = sample(tmp_path, f"seed={book}", "tune=1", "seed_bars=3:4", "num_samples=1")
    assert melodies[0][:32] == REEL[32:]
    air, _ = sample(tmp_path, f"seed={book}", "tune=7", "seed_bars=0:1", "num_samples=1", out="b")
    assert air[0][:16] == AIR[:16]  # the pickup and the first full bar
    assert "B,2|E2 F2 G2|" in (tmp_path / "b" / "melody_00.abc").read_text()


def test_an_abc_fragment_is_read_in_the_given_key_and_meter(tmp_path):
    melodies, folder = sample(tmp_path, "seed=GABc d2B2|c2A2 G4|", "key=G", "time_signature=4/4")
    assert all(m[:32] == REEL[:32] for m in melodies)
    assert "\nK:G\nGABc d2 B2|c2 A2 G4|" in (folder / "melody_00.abc").read_text()
    minor, _ = sample(tmp_path, "seed=ABcd e2c2|", "key=Am", "time_signature=4/4", out="b")
    assert minor[0][:8] == "69 _ 71 _ 72 _ 74 _".split()


def test_midi_and_musicxml_tunes_continue_in_their_meter_with_their_pickup(tmp_path):
    symbols = "62 _ 67 _ _ _ 71 _ 74 _ _ _ 72 _ 71 _ 69 _ _ _ _ _".split()  # 3/4, a pickup of an eighth
    for suffix, write in ((".mid", write_midi), (".musicxml", write_musicxml)):
        path = tmp_path / f"tune{suffix}"
        write(symbols, path, step=0.25, time_signature="3/4", pickup=2)
        melodies, folder = sample(tmp_path, f"seed={path}", "num_samples=1", out=suffix[1:])
        assert melodies[0][:len(symbols)] == symbols
        text = (folder / "melody_00.abc").read_text()
        assert "\nM:3/4\n" in text and "\nD|G2 B" in text.replace("K:G\n", "").replace("K:Em\n", "")


def test_infill_on_a_tune_rewrites_its_bars_and_keeps_the_rest(book, tmp_path):
    melodies, _ = sample(tmp_path, f"seed={book}", "tune=1", "mode=infill", "bars=2:3", "num_samples=3")
    for melody in melodies:
        assert len(melody) == len(REEL)
        assert melody[:16] == REEL[:16] and melody[48:] == REEL[48:]
    assert any(m[16:48] != REEL[16:48] for m in melodies)


@pytest.mark.parametrize(("args", "message"), [
    (("seed={book}", "tune=9"), "tune='9' is not one of the 2 tunes of book.abc; accepted: an X: number or a "
     "title, e.g. 1 'Hand Reel', 7 'Slow Air'"),
    (("seed={book}", "tune=1", "seed_bars=2:9"), "seed_bars=2:9 is outside the tune (bars 1..4)"),
    (("seed={book}", "key=D"), "key= is the tune file's own"),
    (("seed=GAB$c d2|",), "'$' is not ABC"),
    (("seed=60 _ 62 _", "tune=1"), "tune= needs a tune as the seed"),
    (("seed={missing}",), "seed="),
    (("seed={garbage}",), "could not be read as a tune"),
    (("seed={wide}",), "more than this model's range 48..84 holds"),
])
def test_bad_tunes_are_one_line_and_write_nothing(args, message, book, tmp_path, capsys):
    (tmp_path / "garbage.mid").write_bytes(b"not a midi file")
    (tmp_path / "wide.abc").write_text("X:1\nM:4/4\nL:1/8\nK:C\nC,,2 c'''2 C2 c2|C4 c4|\n")
    paths = {"book": book, "missing": tmp_path / "none.abc", "garbage": tmp_path / "garbage.mid",
             "wide": tmp_path / "wide.abc"}
    with pytest.raises(SystemExit) as exit_info:
        sample(tmp_path, *(arg.format(**paths) for arg in args))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("meter", ["6/8", "3/4", "2/2"])
def test_every_written_abc_reads_back_as_the_midi_beside_it(meter, book, tmp_path):
    """Each NAME_kk.abc (and the tune book) read by music21 and by abc2midi gives the notes and durations
    of NAME_kk.mid."""
    sample(tmp_path, f"time_signature={meter}", "steps=120", "num_samples=3", "rng_seed=3")
    sample(tmp_path, f"seed={book}", "tune=7", "steps=60", out="tune")
    for folder in (tmp_path / "out", tmp_path / "tune"):
        book_units = list_units(folder / "melody.abc", folder)
        for k, midi in enumerate(sorted(folder.glob("melody_*.mid"))):
            expected = read_song(midi, 0.25).events
            unit = list_units(midi.with_suffix(".abc"), folder)[0]
            assert parse_unit(unit, 0.25)[0].events == expected
            assert parse_unit(book_units[k], 0.25)[0].events == expected
            if shutil.which("abc2midi"):
                back = tmp_path / f"back_{k}.mid"
                subprocess.run(["abc2midi", str(midi.with_suffix(".abc")), "-o", str(back)], check=True,
                               capture_output=True)
                assert read_song(back, 0.25).events == expected


def test_the_musicxml_carries_the_key_signature_and_spells_in_it(book, tmp_path):
    """Written in the tune's key (E dorian: F# in the signature), read back as the notes of the MIDI."""
    import music21 as m21

    _, folder = sample(tmp_path, f"seed={book}", "tune=7", "num_samples=1")
    score = m21.converter.parse(folder / "melody_00.musicxml")
    key = score.recurse().getElementsByClass(m21.key.Key).first()
    assert (key.tonic.name, key.mode) == ("E", "dorian")
    midi = read_song(folder / "melody_00.mid", 0.25)
    assert read_song(folder / "melody_00.musicxml", 0.25).events == midi.events
    names = {n.pitch.name for n in score.recurse().notes}
    assert "F#" in names and "G-" not in names  # spelled as the key writes it
