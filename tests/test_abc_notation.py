"""ABC out (src/data/abc_notation.py, src/data/folding.py): hand-written melodies, the exact tune text each
is written as, and that text read back by music21 (the project's reader) and by abc2midi (Debian's
abcmidi: a reader that carries accidentals through the bar) to the same notes and bars."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from src.data.abc_keys import AbcKey
from src.data.abc_notation import Tune, bars_of, plain_bar_lines, tune_book, tune_text
from src.data.encoding import parse_unit, read_song
from src.data.folding import Written, fold, played
from src.data.meter import bar_steps
from src.data.score_writer import write_abc, write_midi
from src.data.units import Song, Unit, list_units
from src.data.vocab import events_to_symbols, symbols_to_events, tidy_rests

ABC2MIDI = shutil.which("abc2midi")
needs_abc2midi = pytest.mark.skipif(ABC2MIDI is None, reason="abc2midi is missing: `make abcmidi` installs "
                                    "Debian's abcmidi (as root or with sudo), as `make test` does")
D, E, F, G, A, B = 62, 64, 65, 67, 69, 71  # the octave above middle C, as naturals
c, d, e, f, g, a = 72, 74, 76, 77, 79, 81
R = None  # a rest
TWELFTH = 1 / 12  # the triplet grid: a quarter note is 12 steps


def melody(*bars: list[tuple[int | None, int]]) -> list[str]:
    """Symbols from (pitch or rest, steps) events, bar by bar as written below."""
    return events_to_symbols([event for bar in bars for event in bar])


JIG = melody([(D, 2)], [(G, 2), (B, 2), (d, 2), (B, 2), (G, 4)],
             [(A, 2), (c, 2), (e, 2), (d, 2), (B, 2), (A, 2)], [(G, 2), (B, 2), (d, 2), (g, 4), (e, 2)],
             [(d, 2), (B, 2), (A, 2), (G, 4)])
SLIP_JIG = melody([(B, 2), (G, 2), (G, 2), (d, 2), (G, 2), (G, 2), (B, 2), (A, 2), (G, 2)],
                  [(A, 2), (F + 1, 2), (F + 1, 2), (d, 2), (F + 1, 2), (F + 1, 2), (A, 2), (G, 2),
                   (F + 1, 2)],
                  [(G, 6), (d, 6), (G, 6)])
PART_A = [[(G, 2), (A, 2), (B, 2), (c, 2), (d, 2), (B, 2), (A, 2), (G, 2)],
          [(e, 4), (d, 2), (B, 2), (A, 4), (G, 4)],
          [(G, 2), (A, 2), (B, 2), (c, 2), (d, 2), (B, 2), (A, 2), (G, 2)],
          [(A, 2), (G, 2), (F + 1, 2), (A, 2), (G, 8)]]
PART_B = [[(d, 4), (g, 2), (d, 2), (B, 2), (d, 2), (g, 4)],
          [(e, 4), (g, 2), (e, 2), (d, 2), (B, 2), (A, 2), (G, 2)],
          [(d, 2), (B, 2), (G, 2), (B, 2), (A, 2), (B, 2), (c, 2), (A, 2)]]
REEL = melody([(D, 2)], *PART_A, *PART_A, *PART_B, [(B, 2), (G, 2), (A, 2), (F + 1, 2), (G, 8)],
              *PART_B, [(B, 2), (G, 2), (A, 2), (F + 1, 2), (G, 4), (D, 4)])
REEL_TUNE = Tune(time_signature="4/4", pickup=2, key=AbcKey(7), title="reel")
PART = [[(G, 2), (A, 2), (B, 2), (c, 2), (d, 2), (B, 2), (A, 2), (G, 2)],
        [(A, 2), (G, 2), (F + 1, 2), (A, 2), (G, 4), (R, 2)]]
TURN = [[(g, 4), (g, 2), (d, 2), (e, 2), (d, 2), (B, 2), (d, 2)],
        [(g, 4), (f + 1, 2), (a, 2), (g, 4), (R, 2)]]
PICKUPS = melody([(D, 2)], *PART, [(D, 2)], *PART, [(d, 2)], *TURN, [(d, 2)], TURN[0],
                 [(g, 4), (f + 1, 2), (a, 2), (g, 8)])  # each part's pickup in its own last bar, as played

# name -> (symbols, tune, the exact text written)
CASES = {
    "jig with a pickup, 6/8": (JIG, Tune(time_signature="6/8", pickup=2, key=AbcKey(7), title="jig"), """\
X:1
T:jig
M:6/8
L:1/8
K:G
D|GBd BG2|Ace dBA|GBd g2e|dBA G2|]
"""),
    "slip jig, 9/8": (SLIP_JIG, Tune(time_signature="9/8", key=AbcKey(7), title="slip jig"), """\
X:1
T:slip jig
M:9/8
L:1/8
K:G
BGG dGG BAG|AFF dFF AGF|G3 d3 G3|]
"""),
    "reel, 2/2: eighths in fours": (
        melody([(F + 1, 2), (A, 2), (A, 2), (F + 1, 2), (A, 4), (F + 1, 2), (A, 2)],
               [(d, 2), (A, 2), (F + 1, 2), (A, 2), (E, 4), (D, 2), (E, 2)],
               [(F + 1, 2), (A, 2), (d, 2), (f + 1, 2), (e, 2), (c + 1, 2), (A, 2), (c + 1, 2)], [(d, 16)]),
        Tune(time_signature="2/2", key=AbcKey(2), title="reel"), """\
X:1
T:reel
M:2/2
L:1/8
K:D
FAAF A2 FA|dAFA E2 DE|FAdf ecAc|d8|]
"""),
    "waltz, 3/4: ties over bar lines and rests": (
        melody([(d, 8), (B, 8)], [(A, 2), (F + 1, 2), (R, 4)], [(E, 16)], [(F + 1, 4), (D, 4)]),
        Tune(time_signature="3/4", key=AbcKey(2), title="waltz"), """\
X:1
T:waltz
M:3/4
L:1/8
K:D
d4 B2-|B2 AF z2|E6-|E2 F2 D2|]
"""),
    "triplets on the 1/12 grid, 4/4": (
        melody([(60, 4), (62, 4), (64, 4), (65, 12), (G, 8), (A, 8), (B, 8)],
               [(c, 2), (d, 2), (e, 2), (f, 6), (d, 12), (B, 8), (c, 16)], [(G, 48)]),
        Tune(step=TWELFTH, title="triplets"), """\
X:1
T:triplets
M:4/4
L:1/8
K:C
(3CDE F2 (3G2A2B2|(3c/d/e/f d2 (3:2:2B2c4|G8|]
"""),
    "a note split at a beat, 4/4": (
        melody([(G, 10), (B, 2), (d, 4)], [(A, 12), (G, 4)], [(G, 16)]),
        Tune(key=AbcKey(7), title="split"), """\
X:1
T:split
M:4/4
L:1/8
K:G
G4- GB d2|A6 G2|G8|]
"""),
    "hornpipe, 4/4: dotted pairs as A>B and A<B": (
        melody([(A, 3), (B, 1), (c + 1, 3), (d, 1), (e, 3), (f + 1, 1), (g, 3), (a, 1)],
               [(f + 1, 4), (d, 4), (A, 1), (B, 3), (A, 4)], [(d, 16)]),
        Tune(key=AbcKey(2), title="hornpipe"), """\
X:1
T:hornpipe
M:4/4
L:1/8
K:D
A>B c>d e>f g>a|f2 d2 A<B A2|d8|]
"""),
    "A minor: the raised seventh on every note, then the natural in the same bar": (
        melody([(A, 2), (G + 1, 2), (A, 2), (G + 1, 2), (B, 4)], [(e, 4), (G + 1, 2), (G, 2), (A, 4)],
               [(A, 12)]),
        Tune(time_signature="3/4", key=AbcKey(9, "minor"), title="minor"), """\
X:1
T:minor
M:3/4
L:1/8
K:Am
A^G A^G B2|e2 ^G=G A2|A6|]
"""),
    "D minor: a natural and a sharp against the flat": (
        melody([(d, 4), (c + 1, 2), (d, 2)], [(B, 2), (c + 1, 2), (d, 4)], [(A, 8)]),
        Tune(time_signature="2/4", key=AbcKey(2, "minor"), title="d minor"), """\
X:1
T:d minor
M:2/4
L:1/8
K:Dm
d2 ^cd|=B^c d2|A4|]
"""),
    "D dorian": (
        melody([(D, 2), (E, 2), (F, 2), (G, 2), (A, 2), (B, 2), (c, 2), (A, 2)], [(B, 4), (c + 1, 4), (d, 8)],
               [(D, 16)]),
        Tune(key=AbcKey(2, "dorian"), title="dorian"), """\
X:1
T:dorian
M:4/4
L:1/8
K:Ddor
DEFG ABcA|B2 ^c2 d4|D8|]
"""),
    "A mixolydian, 6/8": (
        melody([(A, 2), (B, 2), (c + 1, 2), (d, 2), (e, 2), (f + 1, 2)], [(g, 4), (e, 2), (G + 1, 6)],
               [(a, 12)]),
        Tune(time_signature="6/8", key=AbcKey(9, "mixolydian"), title="mixolydian"), """\
X:1
T:mixolydian
M:6/8
L:1/8
K:Amix
ABc def|g2e ^G3|a6|]
"""),
    "F major: a natural, then the flat again": (
        melody([(F, 2), (G, 2), (A, 2), (B - 1, 2), (c, 4), (A, 4)], [(B, 2), (c, 4), (B - 1, 2), (A, 8)],
               [(F, 16)]),
        Tune(key=AbcKey(5), title="flat"), """\
X:1
T:flat
M:4/4
L:1/8
K:F
FGAB c2 A2|=Bc2_B A4|F8|]
"""),
    "folded: an exact repeat, and one with two endings": (REEL, REEL_TUNE, """\
X:1
T:reel
M:4/4
L:1/8
K:G
D|:GABc dBAG|e2 dB A2 G2|GABc dBAG|AGFA G4:|
|:d2 gd Bd g2|e2 ge dBAG|dBGB ABcA|1 BGAF G4:|2 BGAF G2 D2|]
"""),
    "folded: the part's pickup inside its repeat, the bar split by the sign": (
        PICKUPS, Tune(pickup=2, key=AbcKey(7), title="pickups"), """\
X:1
T:pickups
M:4/4
L:1/8
K:G
|:D|GABc dBAG|AGFA G2 z:|
d|g2 gd edBd|g2 fa g2 zd|g2 gd edBd|g2 fa g4|]
"""),
    "folded: two-bar endings, 2/4": (
        melody([(d, 2), (B, 2), (A, 4)], [(B, 2), (d, 2), (e, 2), (f + 1, 2)], [(e, 4), (d, 4)],
               [(B, 4), (A, 4)], [(d, 2), (B, 2), (A, 4)], [(B, 2), (d, 2), (e, 2), (f + 1, 2)],
               [(e, 2), (f + 1, 2), (e, 2), (c + 1, 2)], [(d, 8)]),
        Tune(time_signature="2/4", key=AbcKey(2), title="polka"), """\
X:1
T:polka
M:2/4
L:1/8
K:D
|:dB A2|Bd ef|1 e2 d2|B2 A2:|2 ef ec|d4|]
"""),
    "folding off": (REEL, Tune(time_signature="4/4", pickup=2, key=AbcKey(7), title="reel", fold=False), """\
X:1
T:reel
M:4/4
L:1/8
K:G
D|GABc dBAG|e2 dB A2 G2|GABc dBAG|AGFA G4|
GABc dBAG|e2 dB A2 G2|GABc dBAG|AGFA G4|
d2 gd Bd g2|e2 ge dBAG|dBGB ABcA|BGAF G4|
d2 gd Bd g2|e2 ge dBAG|dBGB ABcA|BGAF G2 D2|]
"""),
    "header: R:, Q: and % comments": (
        JIG, Tune(time_signature="6/8", pickup=2, key=AbcKey(7), title="header", number=7, qpm=96,
                  rhythm="jig", comments=("made by a test", "seed=0")), """\
X:7
T:header
% made by a test
% seed=0
R:jig
M:6/8
L:1/8
Q:1/4=96
K:G
D|GBd BG2|Ace dBA|GBd g2e|dBA G2|]
"""),
}


def expected_bars(symbols: list[str], tune: Tune) -> list[tuple[int, int]]:
    """The bars a reader gives back: full bars of the meter from the pickup's, counted from the first
    note."""
    bar = bar_steps(tune.time_signature, tune.step)
    lead = tidy_rests(symbols_to_events(symbols))[1]
    first = tune.pickup - bar if tune.pickup else 0
    return [(first + k * bar - lead, bar) for k in range(len(bars_of(symbols, bar, tune.pickup)))]


def music21_reads(text: str, step: float) -> Song:
    song = parse_unit(Unit("tune.abc", "tune.abc", 0, text), step)[0]
    assert isinstance(song, Song), song
    return song


def abc2midi_reads(text: str, step: float, folder: Path) -> list[tuple[int | None, int]]:
    """abc2midi's MIDI of a one-tune text, read back (its MIDI starts at the first note: no bars kept)."""
    (folder / "tune.abc").write_text(text, encoding="utf-8")
    done = subprocess.run([ABC2MIDI, str(folder / "tune.abc"), "-o", str(folder / "tune.mid")],
                          capture_output=True, text=True, timeout=30)
    complaints = [line for line in done.stdout.splitlines() if line.startswith(("Error", "Warning"))]
    assert not complaints, complaints
    return read_song(folder / "tune.mid", step).events


@pytest.mark.parametrize("name", CASES)
def test_the_tune_is_written_as_folk_players_write_it(name):
    symbols, tune, text = CASES[name]
    assert tune_text(symbols, tune) == text


@pytest.mark.parametrize("name", CASES)
def test_music21_reads_back_the_notes_and_bars(name):
    symbols, tune, _ = CASES[name]
    text = tune_text(symbols, tune)
    song = music21_reads(text, tune.step)
    assert song.events == tidy_rests(symbols_to_events(symbols))[0]
    assert plain_bar_lines(text) >= 2  # music21 makes measures: the bars are compared
    assert song.bars == expected_bars(symbols, tune)
    assert song.time_signature == tune.time_signature


@needs_abc2midi
@pytest.mark.parametrize("name", CASES)
def test_abc2midi_reads_back_the_notes(name, tmp_path):
    symbols, tune, _ = CASES[name]
    events = tidy_rests(symbols_to_events(symbols))[0]
    assert abc2midi_reads(tune_text(symbols, tune), tune.step, tmp_path) == events


def test_a_tune_book_numbers_its_tunes_and_each_reads_back(tmp_path):
    tunes = [(JIG, Tune(time_signature="6/8", pickup=2, key=AbcKey(7), title="jig", number=1)),
             (SLIP_JIG, Tune(time_signature="9/8", key=AbcKey(7), title="slip jig", number=2))]
    book = tune_book([tune_text(symbols, tune) for symbols, tune in tunes])
    assert book == CASES["jig with a pickup, 6/8"][2] + "\n" + CASES["slip jig, 9/8"][2].replace("X:1", "X:2")
    write_abc(tunes, tmp_path / "book.abc")
    assert (tmp_path / "book.abc").read_text(encoding="utf-8") == book
    units = list_units(tmp_path / "book.abc", tmp_path)
    assert [u.text.splitlines()[0] for u in units] == ["X:1", "X:2"]
    for unit, (symbols, tune) in zip(units, tunes, strict=True):
        song = parse_unit(unit, tune.step)[0]
        assert song.events == symbols_to_events(symbols) and song.bars == expected_bars(symbols, tune)


@needs_abc2midi
def test_abc2midi_reads_each_tune_of_a_book(tmp_path):
    tunes = [(JIG, Tune(time_signature="6/8", pickup=2, key=AbcKey(7), title="jig", number=1)),
             (SLIP_JIG, Tune(time_signature="9/8", key=AbcKey(7), title="slip jig", number=2))]
    write_abc(tunes, tmp_path / "book.abc")
    subprocess.run([ABC2MIDI, str(tmp_path / "book.abc")], capture_output=True, check=True, timeout=30)
    for number, (symbols, tune) in enumerate(tunes, 1):
        assert read_song(tmp_path / f"book{number}.mid", tune.step).events == symbols_to_events(symbols)


def test_folding_finds_the_parts_and_plays_back_as_written():
    bar = bar_steps("4/4", 0.25)
    bars = bars_of(REEL, bar, 2)
    written = fold(bars)
    assert [(w.bar, w.start, w.end, w.ending) for w in written if w.start or w.end or w.ending] == [
        (1, True, False, 0), (4, False, True, 0), (9, True, False, 0), (12, False, True, 1),
        (16, False, False, 2)]
    assert len(written) == 10 and [bars[k] for k in played(written)] == bars
    assert fold(bars[:5]) == [Written(k) for k in range(5)]  # nothing repeats
    shared, first, second = [["60"], ["62"], ["64"]], [["65"], ["67"], ["69"]], [["71"], ["72"], ["74"]]
    assert [w.ending for w in fold(shared + first[1:] + shared + second[1:])] == [0, 0, 0, 1, 1, 2, 2]
    assert fold(shared + first + shared + second) == [Written(k) for k in range(12)]  # music21: endings <= 2


def test_a_part_is_not_folded_where_a_note_is_held_into_it():
    opening, part, end = ["67", "_", "_", "_"], [["69", "_", "71", "_"], ["72", "_", "_", "_"]], [["67", "_"]]
    assert fold([opening, *part, *part, *end]) == [Written(0), Written(1, start=True), Written(2, end=True),
                                                   Written(5)]
    held = [["_", "_", "71", "_"], ["72", "_", "_", "_"]]  # the first time, 67 held on; the second, 72
    assert fold([opening, *held, *held, *end]) == [Written(k) for k in range(6)]
    rested = ["67", "_", "r", "_"]  # the first time a rest held on (clean), the second time the 72
    assert fold([rested, *held, *held, *end]) == [Written(k) for k in range(6)]


def test_a_tune_folded_to_fewer_than_two_plain_bar_lines_is_written_unfolded():
    symbols = melody([(G, 8), (A, 8)], [(G, 8), (A, 8)])
    assert tune_text(symbols, Tune(title="t")).splitlines()[-1] == "G4 A4|G4 A4|]"
    assert tune_text([], Tune(title="t")) == "X:1\nT:t\nM:4/4\nL:1/8\nK:C\n"  # no notes: a header alone


def test_notes_off_the_triplets_are_written_in_short_tuplets_both_readers_read(tmp_path):
    """A bar line off the triplet grid (a source's odd bar) leaves every note after it off: the tuplets
    are cut at duple points, at most MAX_TUPLET notes and half a bar each, and read back exactly."""
    symbols = melody([(60, 2)] + [(62 + k % 5, 6) for k in range(7)] + [(64, 4)],
                     [(65, 1)] + [(67, 2)] * 20 + [(69, 7)], [(72, 5), (71, 1), (72, 42)])
    tune = Tune(step=TWELFTH, title="off the triplets")
    text = tune_text(symbols, tune)
    assert "(3:2:5C/D3/2^D3/2E3/2F/4- (3:2:6F-F/4^F3/2=D3/2^D3/2E/4- E/|" in text
    assert max(int(n) for n in re.findall(r"\(3:2:(\d+)", text)) <= 9
    song = music21_reads(text, TWELFTH)
    assert song.events == symbols_to_events(symbols) and song.bars == expected_bars(symbols, tune)
    if ABC2MIDI is not None:
        assert abc2midi_reads(text, TWELFTH, tmp_path) == symbols_to_events(symbols)


# meters of the bundled corpora, each with a pickup (steps on the 1/12 grid)
METERS = [("2/4", 6), ("3/4", 12), ("4/4", 12), ("6/8", 6), ("9/8", 6), ("12/8", 18), ("2/2", 12), ("3/8", 6),
          ("3/2", 24), ("5/4", 12), ("6/4", 12), ("4/2", 12), ("5/8", 6), ("7/8", 6)]
RHYTHM = [6, 6, 4, 4, 4, 12, 9, 3, 18, 6, 30, 12]  # steps: eighths, a triplet, a dotted pair, long notes


def meter_melody(time_signature: str, pickup: int, bars: int = 3) -> list[str]:
    """A pickup and `bars` bars of RHYTHM's durations over a scale, the last note cut to fill the bar."""
    total, events, k = pickup + bars * bar_steps(time_signature, TWELFTH), [], 0
    while sum(n for _, n in events) < total:
        events.append(([60, 62, 64, 65, 67, 69, 71, 72, 74][k % 9], min(RHYTHM[k % len(RHYTHM)],
                                                                          total - sum(n for _, n in events))))
        k += 1
    return events_to_symbols(events)


@pytest.mark.parametrize(("time_signature", "pickup"), METERS)
def test_midi_and_abc_in_every_meter_read_back_alike(time_signature, pickup, tmp_path):
    symbols = meter_melody(time_signature, pickup)
    tune = Tune(step=TWELFTH, time_signature=time_signature, pickup=pickup, title=time_signature)
    text = tune_text(symbols, tune)
    write_abc([(symbols, tune)], tmp_path / "tune.abc")
    write_midi(symbols, tmp_path / "tune.mid", step=TWELFTH, time_signature=time_signature, pickup=pickup)
    events = symbols_to_events(symbols)
    from_abc = parse_unit(list_units(tmp_path / "tune.abc", tmp_path)[0], TWELFTH)[0]
    from_midi = read_song(tmp_path / "tune.mid", TWELFTH)
    assert from_abc.events == from_midi.events == events
    assert from_abc.bars == from_midi.bars == expected_bars(symbols, tune)
    assert from_abc.time_signature == from_midi.time_signature == time_signature
    if ABC2MIDI is not None:
        folder = tmp_path / "abc2midi"
        folder.mkdir()
        assert abc2midi_reads(text, TWELFTH, folder) == events
