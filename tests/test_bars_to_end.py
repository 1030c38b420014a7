"""A Transformer told the bars left to its song's end: the data's and the sampler's counts agree, lengths
are drawn from the training songs', and what knowing the length is worth is coded honestly."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from src.data.meter import bars_left_codes, last_bar
from src.data.record import EncodingRecord
from src.data.sequences import stream_array
from src.errors import UserError
from src.eval.length_code import MAX_CODED_BARS, length_bits, length_code
from src.evaluate import song_meter
from src.models.checkpoint import load_module
from src.models.meter_plan import Meter, context_of, last_bar_of, with_lengths
from src.models.transformer import TransformerLM
from src.sample import main as sample_main
from src.train import train
from tests.conftest import run_config, small_data

ROWS = (("4/4", 8, 3), ("4/4", 16, 1), ("3/4", 8, 2), ("3/4", 12, 4))


def test_bars_left_codes_count_down_to_the_last_bar_and_stop_there():
    # a pickup (index 0), bars 1..3, then a closing '/' that opens bar 4
    index = np.array([0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4])
    assert bars_left_codes(index, 3).tolist() == [4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1]
    assert bars_left_codes(np.array([0, 1, 40]), 40).tolist() == [17, 17, 1]  # counted up to 16


def test_the_samplers_context_is_the_datas_for_every_song(erk5_corpus):
    tokens, starts, context = stream_array(erk5_corpus, "train")
    for song, start in zip(erk5_corpus.split("train"), starts, strict=True):
        steps = song["length"]
        positions = erk5_corpus.positions[song["offset"]:song["offset"] + steps]
        meter = song_meter(erk5_corpus, song)
        if meter.bar_length > 48 or song.get("meter_changes"):
            continue  # one meter per melody in the sampler
        meter = Meter(meter.time_signature, meter.pickup, meter.mode, meter.bar_length, last_bar(positions))
        assert last_bar_of(steps, meter) == meter.bars
        sampled = context_of([meter], torch.device("cpu"))(0, steps + 1)[0].numpy()
        # input i predicts step i: the data's row for step i is at start + 1 + i
        np.testing.assert_array_equal(sampled, context[start + 1:start + 2 + steps])


def test_lengths_are_drawn_from_the_songs_in_the_meters_time_signature():
    meters = [Meter("3/4", 0, "major", 12)] * 200 + [Meter("5/4", 0, "major", 20)] * 50
    drawn = with_lengths(meters, ROWS, rng_seed=0)
    assert {m.bars for m in drawn[:200]} == {8, 12} and {m.bars for m in drawn[200:]} <= {8, 12, 16}
    assert 0.57 < np.mean([m.bars == 12 for m in drawn[:200]]) < 0.77  # 4 songs of 12 bars, 2 of 8
    assert with_lengths(meters, ROWS, rng_seed=0) == drawn and with_lengths(meters, (), 0) == meters


def test_the_length_code_is_a_distribution_for_every_time_signature():
    for signature in ("4/4", "3/4", "7/8"):  # 7/8: no song, all of it backed off
        total = sum(2 ** -length_bits(ROWS, signature, bars) for bars in range(1, MAX_CODED_BARS + 1))
        assert math.isclose(total, 1.0, rel_tol=1e-12)
    # 3 of the 4 songs in 4/4 are 8 bars long, and 5 of the 10 songs are: (3 + 6/266) / 5
    assert math.isclose(length_bits(ROWS, "4/4", 8), -math.log2((3 + 6 / 266) / 5))
    code = length_code(ROWS, [("4/4", 8), ("3/4", 12)], targets=100)
    assert code["songs"] == 2 and math.isclose(code["bits_per_step"], 2 * code["bits_per_song"] / 100)


def test_a_bad_setting_is_one_line():
    message = r"model.net.bars_to_end='yes' is not accepted; accepted: true or false"
    with pytest.raises(UserError, match=message):
        TransformerLM(vocab_size=40, d_model=16, num_layers=1, heads=2, ff_size=32, bars_to_end="yes")


@pytest.fixture(scope="module")
def length_run(erk5_dir, tmp_path_factory):
    """A tiny transformer_lm that reads the bars left, a few steps on erk5."""
    root = tmp_path_factory.mktemp("length")
    train(run_config(root / "run", [
        "experiment=transformer_lm", "model.net.bars_to_end=true", "model.net.d_model=16",
        "model.net.num_layers=1", "model.net.ff_size=32", "data.sequence_length=64",
        "data.segment_stride=64", "trainer.max_steps=2", "trainer.val_check_interval=2",
        "callbacks.sample_export.steps=8", *small_data(erk5_dir, root / "cache")]))
    return root / "run"


def test_melodies_are_drawn_at_a_training_songs_length_and_record_it(length_run, tmp_path):
    module = load_module(length_run / "checkpoints" / "best.ckpt")
    rows = module.encoding.song_bars
    assert rows and sum(row[2] for row in rows) == sum(row[3] for row in module.encoding.meters)
    record = EncodingRecord.from_checkpoint(module.encoding.to_checkpoint())
    assert record.song_bars == rows
    sample_main([f"ckpt={length_run}", f"out_dir={tmp_path}", "num_samples=6", "steps=16", "rng_seed=3"])
    for path in sorted(tmp_path.glob("melody_*.json")):
        melody = json.loads(path.read_text())
        assert (melody["time_signature"], melody["bars"]) in {(row[0], row[1]) for row in rows}


def test_a_gap_is_filled_in_a_melody_of_the_seeds_own_length(length_run, tmp_path):
    seed = "67 _ 72 _ _ _ 74 _ 76 _ _ _ 74 _ 72 _ 71 _ _ _ 69 _ 67 _ 69 _ 71 _ 72 _ _ _ 72 _ _ _".split()
    melodies = sample_main([f"ckpt={length_run}", f"out_dir={tmp_path}", "mode=infill",
                            f"seed={' '.join(seed)}", "bars=2:2", "time_signature=4/4", "pickup=0",
                            "num_samples=2"])
    assert last_bar_of(len(seed), Meter("4/4", 0, "major", 16)) == 3  # steps 32..35 open bar 3
    for melody in melodies:
        assert len(melody) == len(seed) and melody[:16] == seed[:16] and melody[32:] == seed[32:]
