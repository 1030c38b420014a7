"""A tune's form as written: parts cut at repeat signs, `||` and after the last ending; the letters of the
parts as played and the bars of each; kept in the cache."""

from __future__ import annotations

import pytest

from src.data.abc_text import played_plan, prepare_abc
from src.data.corpus import load_or_build
from src.data.encoding import parse_unit
from src.data.form import played_form, written_parts
from src.data.record import EncodingRecord
from src.data.repeats import Mark, played_order
from src.data.units import Unit

HEAD = "X:1\nT:t\nM:{meter}\nL:1/8\nK:G\n"


def form_of(body: str, meter: str = "4/4", expand: bool = True) -> tuple[str, tuple[int, ...]]:
    unit = Unit("t.abc", "t.abc", 0, HEAD.format(meter=meter) + body)
    song = parse_unit(unit, 0.25, expand_repeats=expand)[0]
    return song.form, song.part_bars


@pytest.mark.parametrize(("body", "meter", "form"), [
    # a reel: two parts, each played twice, the second with two endings
    ("|:GABc d2B2|c2A2 G4|GABc d2B2|A2F2 G4:|\n|:B2d2 d2B2|c2e2 e2c2|B2d2 d2B2|1 A2F2 G4:|2 A2F2 G2z2|]\n",
     "4/4", ("AABB", (4, 4, 4, 4))),
    # a jig with pickups: the first part's `:|` goes back to the start, the second's pickup is its own
    ("A|dAd f2d|ede fed|dAd f2d|e2d d2:|\n|:f|afd afd|gec gec|afd afd|e2d d2:|\n", "6/8",
     ("AABB", (4, 4, 4, 4))),
    # no signs: one part; a double bar: two parts played once
    ("GABc d2B2|c2A2 G4|GABc d2B2|A2F2 G4|]\n", "4/4", ("A", (4,))),
    ("GABc d2B2|c2A2 G4||B2d2 d2B2|c2e2 e2c2|B2d2 d2B2|A2F2 G4|]\n", "4/4", ("AB", (2, 4))),
    # three parts, the middle one not repeated
    ("|:G4 B4|d8:|c4 e4|g8||:B4 d4|G8:|\n", "4/4", ("AABCC", (2, 2, 2, 2, 2))),
])
def test_the_form_of_written_tunes(body, meter, form):
    assert form_of(body, meter) == form


def test_a_tune_as_written_has_its_parts_once():
    body = "|:GABc d2B2|c2A2 G4:|\n|:B2d2 d2B2|c2e2 e2c2:|\n"
    assert form_of(body, expand=False) == ("AB", (2, 2))


def test_parts_from_marks_alone():
    marks = [Mark(start=True), Mark(), Mark(end=2), Mark(start=True), Mark(),
             Mark(end=2, ending=frozenset({1})), Mark(ending=frozenset({2}))]
    assert written_parts(marks, pickup=False) == [0, 0, 0, 1, 1, 1, 1]
    form = played_form(marks, [16] * 7, played_order(marks), 16)
    assert form.labels == "AABB" and form.bars == (3, 3, 3, 3)
    assert played_form([], [16, 16], [], 16).labels == "A"


def test_the_cache_keeps_each_tunes_form(tmp_path):
    folder = tmp_path / "tunes"
    folder.mkdir()
    (folder / "reel.abc").write_text(
        HEAD.format(meter="4/4") + "|:GABc d2B2|c2A2 G4:|\n|:B2d2 d2B2|c2e2 e2c2|B2d2 d2B2|A2F2 G4:|\n")
    corpus = load_or_build(EncodingRecord(corpus=str(folder), step=0.25), cache_dir=tmp_path / "cache")
    assert [(s["form"], s["part_bars"]) for s in corpus.songs] == [("AABB", [2, 2, 4, 4])]
    assert corpus.report["forms"] == {"AABB": 1}


@pytest.mark.parametrize(("field", "plan"), [
    ("ABA", "ABA"), ("A2B", "AAB"), ("(AB)2C", "ABABC"), ("A.B.A % da capo", "ABA"),
    ("((AB)2C)2", "ABABCABABC"), ("Modern Version.", ""), ("Verse", ""), ("(AB", ""),
])
def test_a_p_field_is_played_out(field, plan):
    assert played_plan(field) == plan


def test_a_p_field_orders_the_labelled_parts():
    """Aird's da capo: `P:ABA` plays part A (with its repeat), part B (with its), then A again."""
    body = "P:A\n|:G4 B4|d8:|\nP:B\n|:c4 e4|g8:|\n"
    unit = Unit("t.abc", "t.abc", 0, "X:1\nT:t\nM:4/4\nL:1/8\nP:ABA\nK:G\n" + body)
    song = parse_unit(unit, 0.25)[0]
    assert (song.form, song.part_bars) == ("AABBAA", (2, 2, 2, 2, 2, 2))
    a, b = [(67, 8), (71, 8), (74, 16)], [(72, 8), (76, 8), (79, 16)]
    assert song.events == a + a + b + b + a + a
    inline = Unit("t.abc", "t.abc", 0, "X:1\nT:t\nM:4/4\nL:1/8\nP:BA\nK:G\n[P:A]G4 B4|d8|[P:B]c4 e4|g8|]\n")
    assert prepare_abc(inline.text).part_starts == [("A", 0), ("B", 2)]
    assert parse_unit(inline, 0.25)[0].events == [(72, 8), (76, 8), (79, 16), (67, 8), (71, 8), (74, 16)]
    unlabelled = Unit("t.abc", "t.abc", 0, "X:1\nT:t\nM:4/4\nL:1/8\nP:ABA\nK:G\n|:G4 B4|d8|B4 G4:|\n")
    assert parse_unit(unlabelled, 0.25)[0].form == "AA"  # no labelled parts: the signs alone
