"""src.eval.rhythm on hand-written melodies with values worked out by hand."""

from __future__ import annotations

import math
import warnings

import pytest

from src.eval import rhythm


def split(text: str) -> list[str]:
    """Symbols of a melody written with `|` between bars for readability (the bars are dropped)."""
    return text.replace("|", " ").split()


# 3/4 (12 steps a bar) with a 2-step pickup (first_position 10), three complete bars, then 3 steps.
# Onsets: pickup at positions 10, 11 (off); bars 1 and 2 at 0, 4, 6, 8 (6 off); bar 3 (downbeat rest)
# at 4, 8, 10 (10 off); last bar at 0. 14 onsets, 5 off the beat.
WALTZ = split(
    "67 69 | 72 _ _ _ 71 _ 69 _ 67 _ _ _ | 72 _ _ _ 71 _ 69 _ 67 _ _ _ | r _ _ _ 67 _ _ _ 69 _ 71 _ | 72 _ _"
)
WALTZ_METER = (12, 10)

# 2/4 (8 steps), no pickup; the E of bar 1 is held across the bar line, so bar 2's downbeat is a hold.
# Onsets at steps 0, 4, 10 (position 2: off), 12, 16. Patterns: {0, 4}, {2, 4}, {0}.
TIED = split("60 _ _ _ 64 _ _ _ | _ _ 62 _ 64 _ _ _ | 60 _ _ _ _ _ _ _")
TIED_METER = (8, 0)

BAR_A, BAR_B = "60 _ 62 _ 64 _ _ _", "67 _ _ _ r _ 65 _"


def test_bars_without_pickup():
    assert rhythm.bars(TIED, *TIED_METER) == [TIED[0:8], TIED[8:16], TIED[16:24]]


def test_bars_leave_out_pickup_and_incomplete_last_bar():
    complete = rhythm.bars(WALTZ, *WALTZ_METER)
    assert complete == [WALTZ[2:14], WALTZ[14:26], WALTZ[26:38]]
    assert len(WALTZ) == 41  # 2 pickup steps + 3 bars + 3 steps of an incomplete bar


def test_bars_of_short_melodies():
    assert rhythm.bars(split("60 _ _"), 4, 0) == []  # shorter than a bar
    assert rhythm.bars(split("60 _ _ _"), 4, 0) == [["60", "_", "_", "_"]]  # exactly one bar
    assert rhythm.bars(split("60 62 _ _ _"), 4, 3) == [["62", "_", "_", "_"]]  # pickup of 1, then a bar
    assert rhythm.bars(split("60 62 _ _"), 4, 3) == []  # pickup, then an incomplete bar
    assert rhythm.bars([], 16, 0) == []


def test_bad_meters_are_rejected():
    with pytest.raises(ValueError, match="bar_length"):
        rhythm.bars(TIED, 0, 0)
    with pytest.raises(ValueError, match="first_position"):
        rhythm.bars(TIED, 8, 8)
    with pytest.raises(ValueError, match="first_position"):
        rhythm.downbeat_onset_rate(TIED, 8, -1)
    with pytest.raises(ValueError, match="beat_length"):
        rhythm.offbeat_onset_rate(TIED, 8, 0, beat_length=0)


def test_waltz_with_pickup():
    assert rhythm.downbeat_onset_rate(WALTZ, *WALTZ_METER) == pytest.approx(2 / 3)  # bar 3 opens on a rest
    assert rhythm.offbeat_onset_rate(WALTZ, *WALTZ_METER) == pytest.approx(5 / 14)
    # bars 1-2: distance 0; bars 2-3: {0, 4, 6, 8} vs {4, 8, 10} differ at 0, 6, 10 -> 3 / 12
    assert rhythm.groove_consistency(WALTZ, *WALTZ_METER) == pytest.approx(1 - (0 + 3 / 12) / 2)
    assert rhythm.bar_repetition(WALTZ, *WALTZ_METER) == pytest.approx(1 / 3)  # bar 2 repeats bar 1


def test_held_note_across_the_bar_line_is_no_downbeat_onset():
    assert rhythm.downbeat_onset_rate(TIED, *TIED_METER) == pytest.approx(2 / 3)
    assert rhythm.offbeat_onset_rate(TIED, *TIED_METER) == pytest.approx(1 / 5)
    # {0, 4} vs {2, 4}: 2 steps differ; {2, 4} vs {0}: 3 steps differ
    assert rhythm.groove_consistency(TIED, *TIED_METER) == pytest.approx(1 - (2 / 8 + 3 / 8) / 2)
    assert rhythm.bar_repetition(TIED, *TIED_METER) == 0.0


def test_identical_bars():
    aaa = split(f"{BAR_A} | {BAR_A} | {BAR_A}")
    assert rhythm.bar_repetition(aaa, 8, 0) == pytest.approx(2 / 3)
    assert rhythm.groove_consistency(aaa, 8, 0) == 1.0
    assert rhythm.downbeat_onset_rate(aaa, 8, 0) == 1.0
    abab = split(f"{BAR_A} | {BAR_B} | {BAR_A} | {BAR_B}")
    assert rhythm.bar_repetition(abab, 8, 0) == pytest.approx(2 / 4)
    # A onsets {0, 2, 4}, B onsets {0, 6} (the rest at 4 is no onset): they differ at 2, 4, 6
    assert rhythm.groove_consistency(abab, 8, 0) == pytest.approx(1 - 3 / 8)


def test_same_rhythm_different_pitches_is_full_groove_but_no_repetition():
    melody = split("60 _ 62 _ | 64 _ 65 _ | 67 _ 69 _")
    assert rhythm.groove_consistency(melody, 4, 0) == 1.0
    assert rhythm.bar_repetition(melody, 4, 0) == 0.0


def test_groove_of_opposite_patterns_is_zero():
    melody = split("60 _ 62 _ | _ 64 _ 65")
    assert rhythm.groove_consistency(melody, 4, 0) == 0.0


def test_beat_length_for_compound_meter():
    # 6/8 at 16ths: 12 steps, beats (dotted quarters) every 6 steps. Onsets at 0, 3, 6, 9.
    jig = split("60 _ _ 62 _ _ 64 _ _ 65 _ _")
    assert rhythm.offbeat_onset_rate(jig, 12, 0, beat_length=6) == pytest.approx(2 / 4)  # 3 and 9
    assert rhythm.offbeat_onset_rate(jig, 12, 0) == pytest.approx(3 / 4)  # read as 3/4: 3, 6, 9 are off


def test_offbeat_counts_pickup_and_incomplete_bar():
    # 4/4 with a 1-step pickup (position 15: off), one bar with onsets at 0 and 4, then onsets at 0, 2.
    melody = split("67 | 72 _ _ _ 71 _ _ _ _ _ _ _ _ _ _ _ | 60 _ 62")
    assert rhythm.offbeat_onset_rate(melody, 16, 15) == pytest.approx(2 / 5)
    assert rhythm.downbeat_onset_rate(melody, 16, 15) == 1.0


def test_nan_cases():
    short = split("60 _ 62 _ _")  # shorter than one 8-step bar
    assert math.isnan(rhythm.downbeat_onset_rate(short, 8, 0))
    assert math.isnan(rhythm.groove_consistency(short, 8, 0))
    assert math.isnan(rhythm.bar_repetition(short, 8, 0))
    # still defined without a complete bar: onsets at positions 0 and 2 (2 is off a quarter-note beat)
    assert rhythm.offbeat_onset_rate(short, 8, 0) == pytest.approx(1 / 2)
    assert rhythm.offbeat_onset_rate(short, 8, 0, beat_length=2) == 0.0
    assert rhythm.offbeat_onset_rate(short, 8, 1) == 1.0  # shifted to positions 1 and 3

    one_bar = split(BAR_A)
    assert math.isnan(rhythm.groove_consistency(one_bar, 8, 0))  # needs two bars
    assert rhythm.bar_repetition(one_bar, 8, 0) == 0.0

    rests = split("r _ _ _ r _ _ _")
    assert math.isnan(rhythm.offbeat_onset_rate(rests, 4, 0))  # no note onset
    assert rhythm.downbeat_onset_rate(rests, 4, 0) == 0.0
    assert rhythm.groove_consistency(rests, 4, 0) == 1.0

    for metric in rhythm.RHYTHM_METRICS:
        assert math.isnan(getattr(rhythm, metric)([], 16, 0))


def test_rhythm_metrics_names():
    assert rhythm.RHYTHM_METRICS == (
        "downbeat_onset_rate",
        "offbeat_onset_rate",
        "groove_consistency",
        "bar_repetition",
    )
    assert tuple(rhythm.rhythm_metrics(TIED, *TIED_METER)) == rhythm.RHYTHM_METRICS


def test_rhythm_summary_groups_by_meter():
    aaa = split(f"{BAR_A} | {BAR_A} | {BAR_A}")
    short = split("60 _ 62 _ _")  # no complete bar: only offbeat_onset_rate (0.0) is defined
    melodies = [WALTZ, TIED, aaa, short]
    meters = [(12, 10, 4, "3/4"), (8, 0, 4, "2/4"), (8, 0, 4, "2/4"), (8, 0, 4, "2/4")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = rhythm.rhythm_summary(melodies, meters)

    assert list(summary) == ["overall", "by_meter"]
    assert list(summary["by_meter"]) == ["3/4", "2/4"]  # in order of first appearance
    waltz = summary["by_meter"]["3/4"]
    assert waltz["melodies"] == 1
    assert waltz["bar_repetition"] == pytest.approx(1 / 3)
    assert waltz["groove_consistency"] == pytest.approx(7 / 8)

    duple = summary["by_meter"]["2/4"]
    assert duple["melodies"] == 3
    assert duple["downbeat_onset_rate"] == pytest.approx((2 / 3 + 1) / 2)  # short's nan left out
    # aaa: onsets at 0, 2, 4 in each bar (2 is off); short: onsets at 0, 2 (2 is off)
    assert duple["offbeat_onset_rate"] == pytest.approx((1 / 5 + 1 / 3 + 1 / 2) / 3)
    assert duple["groove_consistency"] == pytest.approx((11 / 16 + 1) / 2)
    assert duple["bar_repetition"] == pytest.approx((0 + 2 / 3) / 2)

    overall = summary["overall"]
    assert overall["melodies"] == 4
    assert set(overall) == {*rhythm.RHYTHM_METRICS, "melodies"}
    assert overall["downbeat_onset_rate"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert overall["bar_repetition"] == pytest.approx((1 / 3 + 0 + 2 / 3) / 3)


def test_rhythm_summary_empty_group_means_are_nan_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "Mean of empty slice" would fail the test
        summary = rhythm.rhythm_summary([split("60 _ 62"), []], [(16, 0, 4, "4/4"), (6, 0, 6, "3/8")])
        empty = rhythm.rhythm_summary([], [])
    assert summary["by_meter"]["4/4"]["offbeat_onset_rate"] == pytest.approx(1 / 2)  # onsets at 0, 2
    for metric in ("downbeat_onset_rate", "groove_consistency", "bar_repetition"):
        assert math.isnan(summary["overall"][metric])
    assert all(math.isnan(summary["by_meter"]["3/8"][m]) for m in rhythm.RHYTHM_METRICS)
    assert summary["by_meter"]["3/8"]["melodies"] == 1
    assert empty["by_meter"] == {}
    assert empty["overall"]["melodies"] == 0
    assert all(math.isnan(empty["overall"][m]) for m in rhythm.RHYTHM_METRICS)


def test_rhythm_summary_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="2 melodies but 1 meters"):
        rhythm.rhythm_summary([TIED, TIED], [(8, 0, 4, "2/4")])
