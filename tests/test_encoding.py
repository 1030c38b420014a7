"""Exact symbols for hand-written tunes, skip reasons, key analysis and MIDI/MusicXML round trips."""

from __future__ import annotations

import pytest

from src.data import encoding, score_writer, units
from src.data.corpus import load_or_build
from src.data.keys import centre_octaves, estimate_key, fit_octaves
from src.data.record import EncodingRecord
from src.data.vocab import Vocabulary, events_to_symbols
from tests.conftest import ESSEN_DIR, write_tunes

HEADER = "M:4/4\nL:1/8\n"


def encode_folder(folder, tmp_path, **config):
    corpus = load_or_build(EncodingRecord(corpus=str(folder), **config), tmp_path / "cache", workers=1)
    by_source = {}
    for song in corpus.songs:
        ids = corpus.tokens[song["offset"]:song["offset"] + song["length"]]
        by_source[song["source"]] = " ".join(corpus.vocab.decode(ids))
    return corpus, by_source


def test_hand_written_tunes_give_exact_symbols(tmp_path):
    folder = write_tunes(tmp_path / "tunes", {
        # dotted quarter, eighth, quarter, quarter rest; a tie across the bar; a final whole note
        "dotted_tie_rest": HEADER + "K:Cmaj\nC3 D E2 z2 | G4- G2 c2 | c8 |]",
        # a declared minor key moves E minor to A minor (+5); the final note is a half note
        "minor": HEADER + "K:Em\nE2 G2 B2 e2 | B4 E4 |]",
        # two octaves above the range (86..96) is brought down by one octave to 74..84
        "high": HEADER + "K:Cmaj\nd'2 c''2 d'4 |]",
        "triplet": HEADER + "K:Cmaj\n(3CDE C2 D2 E2 |]",
        "chord": HEADER + "K:Cmaj\n[CEG]4 C4 |]",
    })
    corpus, symbols = encode_folder(folder, tmp_path)
    assert symbols["dotted_tie_rest.abc"] == (
        "60 _ _ _ _ _ 62 _ 64 _ _ _ r _ _ _ 67 " + "_ " * 11 + "72 _ _ _ 72" + " _" * 15
    )
    assert symbols["minor.abc"] == "69 _ _ _ 72 _ _ _ 76 _ _ _ 81 _ _ _ 76 _ _ _ _ _ _ _ 69 _ _ _ _ _ _ _"
    assert symbols["high.abc"] == "74 _ _ _ 84 _ _ _ 74 _ _ _ _ _ _ _"
    # the chord's top note (data.melody=auto)
    assert symbols["chord.abc"] == "67" + " _" * 7 + " 60" + " _" * 7
    # eighth-note triplet onsets at 0, 1/3, 2/3 of a quarter snap to the 16ths 0, 1, 3 (data.off_grid=snap)
    assert symbols["triplet.abc"] == "60 62 _ 64 60 _ _ _ 62 _ _ _ 64 _ _ _"
    assert corpus.report["skipped"] == {} and corpus.report["snapped_songs"] == 1
    assert corpus.report["songs_kept"] == 5 and corpus.report["songs_read"] == 5
    skipping, _ = encode_folder(folder, tmp_path, off_grid="skip")
    assert skipping.report["skipped"] == {"off_grid": 1} and skipping.report["songs_kept"] == 4


def test_outer_rests_dropped_and_inner_rests_merged(tmp_path):
    folder = write_tunes(tmp_path / "tunes", {"rests": HEADER + "K:Cmaj\nz2 C2 z z D2 z4 |]"})
    _, symbols = encode_folder(folder, tmp_path)
    assert symbols["rests.abc"] == "60 _ _ _ r _ _ _ 62 _ _ _"


def test_grace_notes_dropped(tmp_path):
    folder = write_tunes(tmp_path / "tunes", {"grace": HEADER + "K:Cmaj\n{B}c4 c4 |]"})
    _, symbols = encode_folder(folder, tmp_path)
    assert symbols["grace.abc"] == "72 _ _ _ _ _ _ _ 72 _ _ _ _ _ _ _"


def test_key_not_normalized_when_disabled(tmp_path):
    folder = write_tunes(tmp_path / "tunes", {"minor": HEADER + "K:Em\nE2 G2 B2 e2 |]"})
    _, symbols = encode_folder(folder, tmp_path, normalize_key=False)
    assert symbols["minor.abc"] == "64 _ _ _ 67 _ _ _ 71 _ _ _ 76 _ _ _"


def test_normalize_octave_puts_each_song_in_one_register_and_keeps_its_split(tmp_path):
    folder = write_tunes(tmp_path / "tunes", {
        "high": HEADER + "K:Cmaj\nc d e f | g8 |]",  # 72..79, median 76: an octave down to 60..67
        "low": HEADER + "K:Cmaj\nG, C E G | c8 |]",  # 55..72, median 64: already nearest the middle (66)
    })
    kept, symbols = encode_folder(folder, tmp_path)
    moved, centred = encode_folder(folder, tmp_path, normalize_octave=True)
    assert symbols["high.abc"] == "72 _ 74 _ 76 _ 77 _ 79" + " _" * 15
    assert centred["high.abc"] == "60 _ 62 _ 64 _ 65 _ 67" + " _" * 15
    assert centred["low.abc"] == symbols["low.abc"] == "55 _ 60 _ 64 _ 67 _ 72" + " _" * 15
    assert [s["split"] for s in moved.songs] == [s["split"] for s in kept.songs]
    assert [s["transposition"] for s in moved.songs] == [-12, 0]


def test_centre_octaves_keeps_the_song_inside_the_range():
    assert centre_octaves([72, 74, 76, 77, 79], 48, 84) == -12
    assert centre_octaves([60, 64, 67], 48, 84) == 0
    assert centre_octaves([50, 52, 84], 48, 84) == 0  # median 52, but an octave up would leave the range
    assert centre_octaves([48, 49, 50], 48, 84) == 12  # 62: nearer 66 than 50 is


def test_a_checkpoint_without_normalize_octave_was_built_without_it():
    assert "normalize_octave" not in EncodingRecord().to_checkpoint()
    stored = EncodingRecord(normalize_octave=True).to_checkpoint()
    assert stored["normalize_octave"] is True and EncodingRecord.from_checkpoint(stored).normalize_octave


def test_fit_octaves_prefers_smallest_shift():
    assert fit_octaves(50, 70, 48, 84) == 0
    assert fit_octaves(40, 60, 48, 84) == 12
    assert fit_octaves(86, 96, 48, 84) == -12
    assert fit_octaves(40, 90, 48, 84) is None


@pytest.mark.parametrize("tune", [0, 3, 7, 12, 20])
def test_key_estimate_matches_music21_analysis(tmp_path, tune):
    tunes = units.list_units(ESSEN_DIR / "erk5.abc", ESSEN_DIR)
    path = tmp_path / "tune.abc"
    path.write_text(tunes[tune].text)
    song = encoding.parse_unit(tunes[tune], 0.25)[0]
    import numpy as np
    profiles = np.array(encoding.key_profiles())
    assert estimate_key(song.events, profiles) == encoding.analyze_key(str(path))


def test_real_songs_round_trip_through_midi_and_musicxml(erk5_corpus, tmp_path):
    vocab = erk5_corpus.vocab
    for song in erk5_corpus.songs[:8]:
        symbols = vocab.decode(erk5_corpus.tokens[song["offset"]:song["offset"] + song["length"]])
        for suffix, writer in ((".mid", score_writer.write_midi), (".musicxml", score_writer.write_musicxml)):
            path = tmp_path / f"song{suffix}"
            writer(symbols, path, time_signature=song["time_signature"], qpm=90)
            assert events_to_symbols(encoding.read_melody(path)) == symbols, (song["title"], suffix)


def test_written_files_carry_tempo_and_time_signature(tmp_path):
    import music21
    path = tmp_path / "m.musicxml"
    score_writer.write_musicxml("60 _ _ 62 _ _ 64 _ _ _ _ _".split(), path, qpm=100, time_signature="3/8")
    score = music21.converter.parse(path)
    assert score.recurse().getElementsByClass(music21.meter.TimeSignature).first().ratioString == "3/8"
    assert score.recurse().getElementsByClass(music21.tempo.MetronomeMark).first().number == 100


def test_vocabulary_is_fixed_by_config():
    vocab = Vocabulary(48, 84)
    assert len(vocab) == 40 and vocab.symbols[:4] == ("/", "_", "r", "48")
    assert Vocabulary.from_mapping(vocab.mapping) == vocab
