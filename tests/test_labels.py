"""Each tune's labels in the cache: collection, subset, style and the tune type from `R:`, normalised; the
`folk` corpus of every folk collection music21 ships."""

from __future__ import annotations

from collections import Counter
from pathlib import PurePath

import pytest

from src.data.corpus import FOLK_FOLDERS, corpus_files, load_or_build
from src.data.labels import collection_of, style_of, tune_labels, tune_type
from src.data.record import EncodingRecord


@pytest.mark.parametrize(("written", "expected"), [
    ("reel", "reel"), ("Reel", "reel"), (" reel ", "reel"), ("Reels", "reel"), ("double jig", "jig"),
    ("Jig", "jig"), ("slipjig", "slip jig"), ("Slip Jig", "slip jig"), ("Highland Fling", "fling"),
    ("strathspey", "strathspey"), ("Hornpipe.", "hornpipe"), ("", "unknown"), (None, "unknown"),
    ("Allegro moderato", "unknown"),
])
def test_tune_types_are_normalised(written, expected):
    assert tune_type(written) == expected


def test_collections_subsets_and_styles():
    assert collection_of("folk", "essenFolksong/han2.abc") == ("essen", "han")
    assert collection_of("folk", "oneills1850/0001-0050.abc") == ("oneills", "")
    assert collection_of("essen_erk", "erk12.abc") == ("essen", "erk")
    assert collection_of("oneills", "0001-0050.abc") == ("oneills", "")
    assert collection_of("/home/me/my tunes", "b.abc") == ("my tunes", "")  # a file in the folder itself
    assert collection_of("/home/me/my tunes", "irish/b.abc") == ("irish", "")  # its subfolder
    assert style_of("essen", "kinder") == "essen_kinder" and style_of("ryans", "") == "ryans"
    assert tune_labels("folk", "ryansMammoth/x.abc", "Strathspey") == {
        "collection": "ryans", "subset": "", "style": "ryans", "tune_type": "strathspey"}


def test_the_folk_corpus_lists_every_folk_collection():
    root, files, name = corpus_files("folk")
    folders = Counter(PurePath(f.relative_to(root)).parts[0] for f in files)
    assert name == "folk" and set(folders) == set(FOLK_FOLDERS)
    assert folders["essenFolksong"] == len(corpus_files("essen")[1])
    assert folders["oneills1850"] == len(corpus_files("oneills")[1])


def test_a_built_cache_keeps_each_tunes_labels(tmp_path):
    folder = tmp_path / "session tunes"
    folder.mkdir()
    (folder / "book.abc").write_text(
        "X:1\nT:A\nR:Reel\nM:4/4\nL:1/8\nK:G\nGABc d2B2|c2A2 G4|GABc d2B2|A2F2 G4|\n\n"
        "X:2\nT:B\nR:double jig\nM:6/8\nL:1/8\nK:D\nDFA dAF|GBd gdB|AFD EFG|FDD D3|\n\n"
        "X:3\nT:C\nM:3/4\nL:1/8\nK:Am\nA2B2c2|e4d2|c2B2A2|A6|\n")
    corpus = load_or_build(EncodingRecord(corpus=str(folder), step=0.25), cache_dir=tmp_path / "cache")
    labels = {s["title"]: (s["collection"], s["style"], s["tune_type"]) for s in corpus.songs}
    assert labels == {"A": ("session tunes", "session tunes", "reel"),
                      "B": ("session tunes", "session tunes", "jig"),
                      "C": ("session tunes", "session tunes", "unknown")}
    assert corpus.report["tune_types"] == {"reel": 1, "jig": 1, "unknown": 1}
    misc = load_or_build(EncodingRecord(corpus="misc", step=1 / 12), cache_dir=tmp_path / "cache")
    assert {s["style"] for s in misc.songs} == {"misc"} and misc.report["songs_kept"] > 150
