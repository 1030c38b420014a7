"""ABC text as music21 should read it: volta labels, double repeats, key changes inside a tune."""

from __future__ import annotations

from src.data import encoding
from src.data.abc_text import prepare_abc
from src.data.units import Unit


def test_volta_labels_are_kept_in_order_and_written_as_music21_reads_them():
    prepared = prepare_abc('X:1\nK:C\n"^[1 text" C D|[1,3 E F:|2 G A|[3-4 c d|]\n% |2 comment\n')
    assert prepared.voltas == [frozenset({1, 3}), frozenset({2}), frozenset({3, 4})] and prepared.repeat_signs
    assert prepared.text.splitlines()[2] == '"^[1 text" C D|[1 E F:|2 G A|[2 c d|]'
    plain = prepare_abc("X:1\nK:C\nC D|E F|]\n")
    assert (plain.voltas, plain.repeat_signs, plain.key_changes) == ([], False, 0)


def test_a_range_written_backwards_reads_forwards():
    assert prepare_abc("X:1\nK:C\nC D|[3-1 E F:|2 G A|]\n").voltas == [frozenset({1, 2, 3}), frozenset({2})]


def test_a_double_repeat_without_spaces_is_spaced():
    assert prepare_abc("X:1\nK:C\nC D|E F::G A|B c:|\n").text.splitlines()[2] == "C D|E F :: G A|B c:|"


def _pitches(body: str) -> list[int]:
    song = encoding.parse_unit(Unit("t.abc", "t.abc", 0, f"X:1\nT:t\nM:2/4\nL:1/4\nK:C\n{body}\n"), 1.0)[0]
    return [p for p, _ in song.events]


def test_a_key_change_inside_a_tune_keeps_its_accidentals_inline_or_on_its_own_line():
    # after the change to D major, F and c are sharp
    expected = [60, 62, 64, 65, 66, 67, 69, 71, 73, 74, 73, 78]
    assert _pitches("C D|E F|[K:D] F G|A B|c d|c f|]") == expected
    assert _pitches("C D|E F|\nK:D\nF G|A B|c d|c f|]") == expected
    assert prepare_abc("X:1\nK:C\nC D|[K:D] F G|\nK:G\nF G|]\n").key_changes == 2
    song = encoding.parse_unit(
        Unit("t.abc", "t.abc", 0, "X:1\nT:t\nM:2/4\nL:1/4\nK:C\nC D|E F|[K:D] F G|A B|]\n"), 1.0)[0]
    assert song.key_changes == 1
