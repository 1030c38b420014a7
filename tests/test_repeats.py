"""Repeats as played: hand-written tunes in every repeat form, with the exact symbols a player plays."""

from __future__ import annotations

import pytest

from src.data import encoding
from src.data.meter import bar_positions
from src.data.repeats import Mark, RepeatError, played_order
from src.data.units import Skip, Unit

NAMES = {60: "C", 62: "D", 64: "E", 65: "F", 67: "G", 69: "A", 71: "B", 72: "c", 74: "d", 76: "e"}


def _parse(body: str, expand: bool = True, meter: str = "2/4"):
    text = f"X:1\nT:t\nM:{meter}\nL:1/4\nK:C\n{body}\n"
    return encoding.parse_unit(Unit("t.abc", "t.abc", 0, text), 1.0, expand)[0]  # a quarter-note grid


def _played(body: str, expand: bool = True) -> str:
    song = _parse(body, expand)
    assert not isinstance(song, Skip), song
    return " ".join(NAMES[p] + "_" * (n - 1) for p, n in song.events)


@pytest.mark.parametrize(("body", "played"), [
    # |: A :| B
    ("|:C D|E F:|G A|B c|]", "C D E F C D E F G A B c"),
    # a :| with no |: goes back to the start
    ("C D|E F|G A:|B c|]", "C D E F G A C D E F G A B c"),
    # first and second endings, [1 [2 form
    ("|:C D|E F|[1 G A:|[2 B c|]", "C D E F G A C D E F B c"),
    # |1 :|2 form
    ("C D|E F|1 G A:|2 B c||", "C D E F G A C D E F B c"),
    # :|: between two repeated parts
    ("|:C D|E F:|:G A|B c:|", "C D E F C D E F G A B c G A B c"),
    # :: between two repeated parts
    ("|:C D|E F::G A|B c:|", "C D E F C D E F G A B c G A B c"),
    # after ||, a bare :| goes back to the ||, not to the start
    ("C D|E F||G A|B c:|", "C D E F G A B c G A B c"),
    # a list of endings: [1,3 is played the first and third time, [2 the second
    ("|:C D|E F|[1,3 G A:|[2 B c:|", "C D E F G A C D E F B c C D E F G A"),
    # a range: [1-2 the first two times, [3 the last
    ("|:C D|E F|[1-2 G A:|[3 B c|]", "C D E F G A C D E F G A C D E F B c"),
    # a pickup before |: is played once
    ("G|:c d|e2|c d|e2:|", "G c d e_ c d e_ c d e_ c d e_"),
    # a pickup inside the repeat: the short last bar completes it, the pickup is played again
    ("G|c d|e2|c d|e:|", "G c d e_ c d e G c d e_ c d e"),
])
def test_repeats_are_played_as_a_player_reads_them(body, played):
    assert _played(body) == played


def test_without_expansion_the_tune_is_kept_as_written():
    assert _played("|:C D|E F:|G A|B c|]", expand=False) == "C D E F G A B c"


def test_the_bar_split_by_a_repeat_and_the_pickup_played_again_is_one_bar():
    song = _parse("G|c d|e2|c d|e:|")
    positions = bar_positions(song.bars, sum(n for _, n in song.events))
    # G | c d | e _ | c d | e G | c d | e _ | c d | e (and the closing '/')
    assert positions[:, 0].tolist() == [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    assert set(positions[:, 1].tolist()) == {2}


@pytest.mark.parametrize(("body", "detail"), [
    ("C D|E F|[2 G A|]", "volta ending [2] is never reached"),
    ("|:C D|E F:|", "repeat signs in a tune read without bar lines"),  # music21 makes no measures of it
])
def test_repeats_that_cannot_be_played_skip_the_tune_under_their_own_reason(body, detail):
    song = _parse(body)
    assert isinstance(song, Skip) and song.reason == "repeats" and detail in song.detail


def test_a_repeat_that_asks_for_too_many_passes_is_refused():
    with pytest.raises(RepeatError, match="played 9 times"):
        played_order([Mark(), Mark(end=9)])


MUSICXML = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1"><part-list><score-part id="P1"><part-name>Melody</part-name></score-part>
</part-list><part id="P1">
<measure number="1"><attributes><divisions>1</divisions><time><beats>2</beats><beat-type>4</beat-type></time>
<clef><sign>G</sign><line>2</line></clef></attributes>
<barline location="left"><repeat direction="forward"/></barline>
{C}{D}</measure>
<measure number="2"><barline location="left"><ending number="1" type="start"/></barline>{E}{F}
<barline location="right"><ending number="1" type="stop"/><repeat direction="backward"/></barline></measure>
<measure number="3"><barline location="left"><ending number="2" type="start"/></barline>{G}{A}
<barline location="right"><ending number="2" type="stop"/></barline></measure>
</part></score-partwise>
"""


def test_musicxml_repeats_and_endings_are_played(tmp_path):
    notes = {name: f"<note><pitch><step>{name}</step><octave>4</octave></pitch><duration>1</duration>"
                   "<type>quarter</type></note>" for name in "CDEFGA"}
    path = tmp_path / "tune.musicxml"
    path.write_text(MUSICXML.format(**notes))
    song = encoding.parse_unit(Unit(str(path), path.name), 1.0)[0]
    assert " ".join(NAMES[p] for p, _ in song.events) == "C D E F C D G A"


def test_kern_repeat_barlines_are_played(tmp_path):
    path = tmp_path / "tune.krn"  # an end repeat on the bar line before measure 3
    path.write_text("**kern\n*M2/4\n*k[]\n=1-\n4c\n4d\n=2\n4e\n4f\n=3:|!\n4g\n4a\n==\n*-\n")
    song = encoding.parse_unit(Unit(str(path), path.name), 1.0)[0]
    assert " ".join(NAMES[p] for p, _ in song.events) == "C D E F C D E F G A"


KERN_SECTIONS = ("**kern\n{expansion}*M2/4\n*k[]\n*>A\n4c\n=1\n4d\n4e\n=2\n2f\n=3:|!\n"
                 "*>B\n4g\n4a\n=4\n4b\n4cc\n=5\n2dd\n==\n*-\n")


@pytest.mark.parametrize(("expansion", "played"), [
    # the list outranks the repeat bar line: A A B B as listed, the pickup inside A played with it
    ("*>[A,A,B,B]\n", "C D E F C D E F G A B c d G A B c d"),
    # a form no repeat sign spells: A B A
    ("*>[A,B,A]\n", "C D E F G A B c d C D E F"),
    # a named variant is not followed: the repeat bar line is (A A B)
    ("*>norep[A,B]\n", "C D E F C D E F G A B c d"),
])
def test_kern_expansion_lists_are_played(tmp_path, expansion, played):
    path = tmp_path / "tune.krn"
    path.write_text(KERN_SECTIONS.format(expansion=expansion))
    song = encoding.parse_unit(Unit(str(path), path.name), 1.0)[0]
    assert " ".join(NAMES[p] for p, _ in song.events) == played


@pytest.mark.parametrize(("text", "detail"), [
    (KERN_SECTIONS.format(expansion="*>[A,C]\n"), "section C, which is never labelled"),
    ("**kern\n*>[A,B]\n*M2/4\n*>A\n4c\n4d\n=1\n4e\n*>B\n4f\n==\n*-\n", "label *>B inside a measure"),
])
def test_kern_expansion_lists_that_cannot_be_played_are_skipped(tmp_path, text, detail):
    path = tmp_path / "tune.krn"
    path.write_text(text)
    skip = encoding.parse_unit(Unit(str(path), path.name), 1.0)[0]
    assert isinstance(skip, Skip) and skip.reason == "repeats" and detail in skip.detail


def test_kern_expansion_order_counts_measures_as_music21_does():
    from src.data.kern_text import expansion_order
    text = "**kern\n*>[B,A]\n=1-\n*>A\n4c\n=2\n4d\n=3\n*>B\n4e\n==\n*-\n"  # a bar line before any note
    assert expansion_order(text, 3) == [2, 0, 1]
    with pytest.raises(RepeatError, match="make 3 measures, the score has 4"):
        expansion_order(text, 4)
    assert expansion_order("**kern\n*>A\n4c\n==\n*-\n", 1) is None  # labels, no list: bar lines rule
