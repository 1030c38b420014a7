"""`octave=auto`: where a one-register model's training songs sat is recorded at training time, and its
unseeded melodies are moved back there by whole octaves, never outside the vocabulary."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from src.data.corpus import load_or_build
from src.data.datamodule import median_rows
from src.data.keys import median_pitch
from src.data.record import EncodingRecord
from src.models.checkpoint import load_module
from src.models.generation import GenerationRequest
from src.models.generation.octaves import draw_shift, in_song_register, moves_octaves, octave_weights

ONE_REGISTER = EncodingRecord(normalize_octave=True, medians=(("major", 76.0, 5),))  # all songs up high
LOW = "60 _ 62 _ 64 _ 65 _ 64 _ _ _".split()  # median 64: an octave up is where the songs sat
HIGH = "64 _ 76 _ 79 _ 84 _".split()  # median 77.5, top note 84: no octave up fits, down has no songs


def pitches(melody: list[str]) -> list[int]:
    return [int(s) for s in melody if s.isdigit()]


def shift_of(before: list[str], after: list[str]) -> int:
    """The one whole-octave move from `before` to `after` (asserted)."""
    moves = {b - a for a, b in zip(pitches(before), pitches(after), strict=True)}
    assert len(moves) == 1 and next(iter(moves)) % 12 == 0
    assert [s for s in before if not s.isdigit()] == [s for s in after if not s.isdigit()]
    return moves.pop()


def test_the_record_is_computed_from_the_training_songs_and_round_trips(transformer_run):
    module = load_module(transformer_run / "checkpoints" / "best.ckpt")
    record = module.encoding
    assert record.normalize_octave and record.medians
    # the medians are those of the training songs as written (key-normalized, not moved by octaves)
    cache = transformer_run.parent / "cache"  # the run's (tests/conftest.py)
    centred = load_or_build(record, cache)
    own = load_or_build(replace(record, normalize_octave=False), cache)
    assert [s["split"] for s in own.songs] == [s["split"] for s in centred.songs]
    expected = Counter()
    for mine, theirs in zip(own.songs, centred.songs, strict=True):
        assert mine["octave"] == 0 and theirs["octave"] % 12 == 0
        ids, moved = own.song_tokens(mine), centred.song_tokens(theirs)
        notes = ids >= 3
        assert (moved[notes].astype(int) - ids[notes] == theirs["octave"]).all()
        if mine["split"] == "train":
            expected[mine["mode"], median_pitch(ids[notes].astype(int) - 3 + 48)] += 1
    assert record.medians == tuple((m, v, n) for (m, v), n in sorted(expected.items()))
    assert median_rows(centred, centred.split("train")) == record.medians
    assert sum(row[2] for row in record.medians) == sum(row[3] for row in record.meters)
    stored = record.to_checkpoint()
    assert stored["medians"] == [list(row) for row in record.medians]
    assert EncodingRecord.from_checkpoint(stored) == record
    assert "medians" not in record.data_settings()
    assert "medians" not in replace(record, medians=()).to_checkpoint()  # written only when recorded


def test_a_model_without_one_register_records_no_medians(trained_run):
    record = load_module(trained_run / "checkpoints" / "best.ckpt").encoding
    assert not record.normalize_octave and record.medians == ()


def test_the_draw_follows_the_recorded_medians():
    counts = Counter({("major", 76.0): 5})
    assert octave_weights(LOW, "major", counts, 48, 84) == {12: 5}
    assert octave_weights(LOW, "minor", counts, 48, 84) == {}  # no minor song recorded: it stays
    assert octave_weights(HIGH, "major", counts, 48, 84) == {}  # up leaves the vocabulary
    assert octave_weights(["r", "_"], "major", counts, 48, 84) == {}  # no notes
    # songs an octave up and at the melody's own median, 3 : 1
    both = Counter({("major", 76.0): 3, ("major", 64.0): 1})
    assert octave_weights(LOW, "major", both, 48, 84) == {0: 1, 12: 3}
    assert [draw_shift({0: 1, 12: 3}, u) for u in (0.0, 0.2499, 0.25, 0.9999)] == [0, 0, 12, 12]
    assert draw_shift({}, 0.5) == 0


def test_every_melody_that_fits_moves_up_when_all_songs_sat_an_octave_up():
    request = GenerationRequest(num_samples=3, rng_seed=4)
    moved = in_song_register([LOW, HIGH, LOW], ["major", "major", "minor"], request, ONE_REGISTER)
    assert [shift_of(a, b) for a, b in zip([LOW, HIGH, LOW], moved, strict=True)] == [12, 0, 0]
    # drawn by their counts: 3 : 1 over 2,000 melodies, the same for the same rng_seed
    record = replace(ONE_REGISTER, medians=(("major", 64.0, 1), ("major", 76.0, 3)))
    many = GenerationRequest(num_samples=1000, rng_seed=9)
    draws = [in_song_register([LOW] * 1000, ["major"] * 1000, replace(many, rng_seed=seed), record)
             for seed in (9, 10)]
    ups = sum(shift_of(LOW, m) == 12 for run in draws for m in run) / 2000
    assert ups == pytest.approx(0.75, abs=0.03)
    assert in_song_register([LOW] * 1000, ["major"] * 1000, many, record) == draws[0]


@pytest.mark.parametrize("request_", [
    GenerationRequest(octave="model"),
    GenerationRequest(seed="60 _ 62 _"),  # seeded: the seed is in the model's register
    GenerationRequest(seed=("", "60 _")),  # one seed given is seeded
])
def test_octave_model_and_seeded_requests_leave_melodies_where_they_are(request_):
    assert not moves_octaves(request_, ONE_REGISTER)
    assert in_song_register([LOW, LOW], ["major"] * 2, request_, ONE_REGISTER) == [LOW, LOW]


def test_only_a_one_register_model_with_the_record_moves():
    request = GenerationRequest()
    assert moves_octaves(request, ONE_REGISTER)
    assert not moves_octaves(request, replace(ONE_REGISTER, normalize_octave=False))
    assert not moves_octaves(request, replace(ONE_REGISTER, medians=()))  # an older export
    assert not moves_octaves(replace(request, mode="prior"), ONE_REGISTER)


def test_generate_moves_unseeded_melodies_by_whole_octaves_inside_the_vocabulary(transformer_run):
    module = load_module(transformer_run / "checkpoints" / "best.ckpt")
    # songs that sat high (medians 72..84): a melody below moves up where that keeps it inside
    module.encoding = replace(module.encoding, medians=tuple(
        (mode, float(m), 1) for mode in ("major", "minor") for m in range(72, 85)))
    request = GenerationRequest(num_samples=24, steps=40, min_steps=40, rng_seed=2, octave="model")
    there = module.generate(request).melodies
    auto = module.generate(replace(request, octave="auto"))
    assert auto.melodies == module.generate(replace(request, octave="auto")).melodies  # deterministic
    shifts = [shift_of(a, b) for a, b in zip(there, auto.melodies, strict=True)]
    assert any(shifts)
    for melody, shift in zip(auto.melodies, shifts, strict=True):
        notes = pitches(melody)
        assert not notes or 48 <= min(notes) and max(notes) <= 84
        if shift:
            assert 72 <= median_pitch(notes) <= 84
    seeded = replace(request, seed="60 _ 62 _")
    assert module.generate(replace(seeded, octave="auto")).melodies == module.generate(seeded).melodies


@pytest.mark.parametrize("name", ["transformer_lm", "transformer_lm_essen"])
def test_the_bundled_one_register_models_record_their_training_songs(name):
    record = load_module(Path("models") / f"{name}.ckpt").encoding
    assert record.normalize_octave
    assert sum(row[2] for row in record.medians) == sum(row[3] for row in record.meters)
    assert {row[0] for row in record.medians} == {"major", "minor"}
    assert all(np.isclose(2 * row[1], round(2 * row[1])) for row in record.medians)  # whole or half pitches
