"""src.eval.stats and src.eval.memorization on hand-written melodies with values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from src.callbacks import sample_scores
from src.eval import stats
from src.eval.keys import melody_key, song_key
from src.eval.memorization import TrainingPhrases, memorization

SCALE = "60 _ 62 _ 64 _ 65 _ 67 _ _ 69 71 _ 72 _ _".split()  # 8 notes, 17 steps, all different
PHRASE = "60 _ 62 _ r _ 60 _ 62 _ r _ 67 _ _ _".split()  # a 3-event phrase twice, then a long G


def test_pitch_range_and_pitch_classes():
    assert stats.pitch_range(SCALE) == 12 and stats.pitch_range(PHRASE) == 7
    assert stats.pitch_class_histogram(SCALE).tolist() == [2, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1]
    assert stats.pitch_class_histogram(PHRASE).tolist() == [2, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    # SCALE: C twice, six others once, of 8: -(1/4 log2 1/4 + 6/8 log2 1/8) = 0.5 + 2.25
    assert stats.pitch_class_entropy(SCALE) == 2.75
    assert stats.pitch_class_entropy(PHRASE) == pytest.approx(-(0.8 * math.log2(0.4) + 0.2 * math.log2(0.2)))
    assert stats.pitch_class_entropy("60 _ 72 _ 48".split()) == 0.0


def test_in_key_rate_major_and_minor_scales():
    assert stats.in_key_rate(SCALE, 0, "major") == 1.0
    assert stats.in_key_rate(SCALE, 7, "major") == 7 / 8  # F is not in G major
    assert stats.in_key_rate(SCALE, 9, "minor") == 1.0
    # A minor counts the natural and the harmonic scale (G and G#), not the melodic minor's F#
    assert stats.in_key_rate("69 71 72 74 76 77 79 80 81".split(), 9, "minor") == 1.0
    assert stats.in_key_rate("69 71 72 74 76 77 78 80 81".split(), 9, "minor") == 8 / 9
    assert stats.in_key_rate("61 _ 66 r 60".split(), 0, "major") == 1 / 3  # rests are not notes


def test_durations_rests_length_and_ending():
    assert stats.duration_histogram(SCALE).tolist() == [1, 5, 2] + [0] * 14
    long_note = ["60"] + ["_"] * 19 + ["62", "_"]  # 20 steps: the last bin is "longer than 16"
    assert stats.duration_histogram(long_note).tolist() == [0, 1] + [0] * 14 + [1]
    assert stats.rest_ratio(SCALE) == 0.0 and stats.rest_ratio(PHRASE) == 4 / 16
    assert stats.ends_on_tonic(SCALE, 0) == 1.0 and stats.ends_on_tonic(SCALE, 7) == 0.0
    assert stats.ends_on_tonic(PHRASE, 7) == 1.0
    assert stats.ends_on_tonic("60 _ 67 r _".split(), 7) == 1.0  # the last note, not the last event


@pytest.mark.parametrize(("melody", "expected"), [
    (SCALE, 0.0),  # no event repeats
    (PHRASE, 12 / 16),  # (60,2) (62,2) (r,2) twice covers 12 of 16 steps
    ("60 62 60 62 60".split(), 4 / 5),  # "60 62" twice; "60 62 60" only overlapping
    ("60 _ _ _ 60 _ _ _ 60 _ _ _ 60 _ _ _".split(), 1.0),  # (60,4)(60,4) twice
    ("60 60 60".split(), 1.0),  # one event, three times
    ("60 _ 62 60 _ 62 _".split(), 4 / 7),  # only (60,2) repeats: (62,1) and (62,2) differ
    (["60"], 0.0),
])
def test_repetition(melody, expected):
    assert stats.repetition(melody) == pytest.approx(expected)


def test_longest_repeat_in_events():
    events = [(60, 1), (62, 1), (64, 1), (60, 1), (62, 1), (64, 1), (65, 1)]
    assert stats.longest_repeat(events) == 3
    assert stats.longest_repeat([(60, 1)] * 7) == 3


def test_empty_melody_has_no_statistics_but_a_length():
    values = stats.melody_stats([], 0, "major")
    assert values["length"] == 0
    assert all(math.isnan(v) for k, v in values.items() if k != "length")


def test_summary_pools_histograms_and_keeps_per_melody_values():
    summary = stats.summarize([SCALE, PHRASE], [(0, "major"), (0, "major")])
    assert summary["count"] == 2
    assert summary["scalars"]["pitch_range"] == [12.0, 7.0]
    assert summary["scalars"]["length"] == [17.0, 16.0]
    counts = np.array([4, 0, 3, 0, 1, 1, 0, 2, 0, 1, 0, 1])  # 13 notes
    assert summary["pitch_classes"] == pytest.approx((counts / 13).tolist())
    assert stats.describe([1.0, 3.0, math.nan]) == {"mean": 2.0, "std": 1.0, "n": 2}


def test_distances():
    assert stats.total_variation([0.5, 0.5, 0], [0, 0.5, 0.5]) == 0.5
    assert stats.total_variation([1, 0], [0, 1]) == 1.0
    assert stats.wasserstein([0, 1], [1, 2]) == 1.0  # every value moved by 1
    assert stats.wasserstein([0, 0, 0, 1], [0, 1, 1, 1]) == 0.5  # half the mass moved by 1
    assert stats.wasserstein([3, math.nan], [3]) == 0.0
    assert math.isnan(stats.wasserstein([math.nan], [1]))
    real = stats.summarize([SCALE], [(0, "major")])
    same = stats.distances(real, real)
    assert all(value == 0 for value in same.values())
    other = stats.distances(real, stats.summarize([PHRASE], [(0, "major")]))
    assert other["pitch_range"] == 5 and other["length"] == 1 and other["rest_ratio"] == 0.25


def test_keys_of_songs_and_generated_melodies():
    assert song_key({"key": "F major", "transposition": -5}) == (0, "major")
    assert song_key({"key": "D minor", "transposition": 7 + 12}) == (9, "minor")
    assert song_key({"key": "G major", "transposition": 0}) == (7, "major")
    minor = "69 _ 71 72 _ 74 76 _ 69 _ _ _ 64 _ 69 _ _ _".split()
    assert melody_key(SCALE) == (0, "major") and melody_key(minor) == (9, "minor")
    g_major = "67 _ 71 _ 74 _ 66 _ 67 _ _ _ 62 _ 67 _ _ _".split()
    assert melody_key(g_major, normalize_key=False) == (7, "major")
    assert melody_key(g_major, normalize_key=True) in ((0, "major"), (9, "minor"))  # only those two


def test_callback_scores_are_means_over_melodies_with_notes():
    off_key = "61 _ 63 _ 66 _ 68 _ 70 _".split()  # all black keys: scored in C major or A minor
    scores = sample_scores([SCALE, PHRASE, off_key, ["r", "_"]])
    assert scores["repetition"] == pytest.approx((0 + 0.75 + 0) / 3)
    off_rate = stats.in_key_rate(off_key, *melody_key(off_key))
    assert scores["in_key_rate"] == pytest.approx((1 + 1 + off_rate) / 3)
    assert sample_scores([[]]) == {}


def _songs() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(3, 20, size=n).astype(np.uint8) for n in (90, 120, 150, 80)]


def test_memorization_finds_a_planted_copy_and_its_length():
    songs = _songs()
    index = TrainingPhrases(songs)
    stranger = np.arange(30, 40, dtype=np.uint8)  # symbols no training song has
    planted = np.concatenate([stranger, songs[2][25:95], stranger[::-1]])  # 70 copied symbols
    fresh = np.tile(stranger, 10)
    result = memorization(index, [planted, fresh], window=64)
    assert result["windows"] == (90 - 63) + (100 - 63)
    assert result["verbatim"] == 70 - 64 + 1  # the windows inside the copy, no other
    assert result["share"] == pytest.approx(7 / 64)
    assert result["longest"] == [70, 0]
    assert (result["longest_max"], result["longest_max_melody"], result["longest_max_song"]) == (70, 0, 2)
    found = index.match(planted, 64)
    assert found[10] == 90 + 1 + 120 + 1 + 25  # position of song 2's symbol 25 (songs joined by '/')
    assert (found >= 0).sum() == 7


def test_a_phrase_never_spans_two_training_songs():
    songs = _songs()
    index = TrainingPhrases(songs)
    across = np.concatenate([songs[0][-30:], songs[1][:40]])  # the end of song 0 + the start of song 1
    assert index.longest([across])[0][0] == 40
    assert index.longest([songs[3]])[0] == (80, 0, 3)  # a whole song matches itself
