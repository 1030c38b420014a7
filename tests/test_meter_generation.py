"""Melodies in a meter: a meter-aware causal model trained on real songs, sampled in chosen or drawn
meters."""

from __future__ import annotations

import json

import pytest
import torch

from src.data import encoding
from src.data.meter import bar_positions, bar_steps, pickup, planned_positions
from src.data.vocab import BOUNDARY_ID
from src.errors import UserError
from src.models.checkpoint import load_module
from src.models.nets.step_inputs import StepInputs, copy_logits
from src.sample import main as sample_main


@pytest.fixture(scope="module")
def meter_run(erk5_dir, tmp_path_factory):
    """lstm_attn_lm with meter and mode inputs (its experiment's defaults), a few steps on erk5."""
    from src.train import train
    from tests.conftest import run_config, small_data

    root = tmp_path_factory.mktemp("meter")
    train(run_config(root / "run", ["experiment=lstm_attn_lm", "model.net.hidden_size=16",
                                    "trainer.max_steps=2", "trainer.val_check_interval=2",
                                    "callbacks.sample_export.steps=8",
                                    *small_data(erk5_dir, root / "cache")]))
    return root / "run"


def _records(folder) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def test_the_checkpoint_holds_the_training_songs_meters(meter_run):
    module = load_module(meter_run / "checkpoints" / "best.ckpt")
    meters = module.encoding.meters
    assert meters and all(len(row) == 4 and row[3] >= 1 for row in meters)
    assert {row[0] for row in meters} <= {"2/4", "3/4", "4/4", "6/8", "3/8", "6/4", "3/2", "2/2", "4/2",
                                          "5/4"}
    assert module.max_bar == 48 and 8 <= module.encoding.longest_bar <= 48


def test_a_chosen_meter_and_pickup_reach_the_json_and_the_bar_lines(meter_run, tmp_path):
    out = tmp_path / "out"
    seed = "60 _ 64 _ 67 _ _ _"
    melodies = sample_main([f"ckpt={meter_run}", f"out_dir={out}", "time_signature=3/4", "pickup=2",
                            f"seed={seed}", "steps=30", "min_steps=30", "num_samples=2"])
    for k, record in enumerate(_records(out)):
        assert (record["time_signature"], record["pickup"]) == ("3/4", 2)
        for suffix in (".mid", ".musicxml"):
            song = encoding.read_song(out / f"melody_{k:02d}{suffix}")
            steps = len(melodies[k])
            assert song.time_signature == "3/4"
            # the score's bar lines fall where the model's did: a 2-step pickup, then bars of 12
            assert bar_positions(song.bars, steps).tolist() == planned_positions(12, 2, steps + 1).tolist()


def test_auto_draws_meters_the_training_songs_had_and_a_key_fixes_the_mode(meter_run, tmp_path):
    module = load_module(meter_run / "checkpoints" / "best.ckpt")
    seen = {tuple(row[:3]) for row in module.encoding.meters}
    sample_main([f"ckpt={meter_run}", f"out_dir={tmp_path / 'a'}", "steps=8", "num_samples=12", "rng_seed=3"])
    drawn = [(r["time_signature"], r["pickup"], r["key_mode"]) for r in _records(tmp_path / "a")]
    assert set(drawn) <= seen and len(set(drawn)) > 1
    sample_main([f"ckpt={meter_run}", f"out_dir={tmp_path / 'b'}", "steps=8", "num_samples=12", "rng_seed=3"])
    assert [(r["time_signature"], r["pickup"], r["key_mode"]) for r in _records(tmp_path / "b")] == drawn
    sample_main([f"ckpt={meter_run}", f"out_dir={tmp_path / 'c'}", "steps=8", "num_samples=6", "key=Am"])
    assert {r["key_mode"] for r in _records(tmp_path / "c")} == {"minor"}


def test_a_meter_no_training_song_had_is_allowed_with_a_note(meter_run, tmp_path, capsys):
    sample_main([f"ckpt={meter_run}", f"out_dir={tmp_path / 'out'}", "time_signature=5/8", "steps=8"])
    assert "no training song is in 5/8" in capsys.readouterr().err
    assert _records(tmp_path / "out")[0]["time_signature"] == "5/8"


@pytest.mark.parametrize(("args", "message"), [
    (["time_signature=5/0"], "time_signature='5/0' is not accepted; accepted: N/D"),
    (["pickup=-1"], "pickup=-1 is not accepted; accepted: auto, or an integer >= 0"),
    (["time_signature=3/4", "pickup=12"], "pickup=12 is not accepted; accepted: an integer 0..11"),
    (["time_signature=16/2"], "time_signature=16/2 has bars of 128 steps, longer than this model's position"),
])
def test_bad_meters_exit_2_with_one_line_and_write_nothing(meter_run, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        sample_main([f"ckpt={meter_run}", f"out_dir={tmp_path / 'out'}", *args])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and message in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_bars_longer_than_the_position_table_read_as_an_unknown_meter():
    torch.manual_seed(0)
    inputs = StepInputs(10, meter=True, mode=True, lookback=[1], max_bar=8)
    x = torch.randint(3, 10, (1, 14))
    long_bars = torch.stack([torch.arange(14) % 12, torch.full((14,), 12),
                             torch.ones(14, dtype=torch.long)], -1)
    unknown = torch.stack([torch.zeros(14, dtype=torch.long), torch.zeros(14, dtype=torch.long),
                           torch.ones(14, dtype=torch.long)], -1)
    seen, _, _ = inputs(x, long_bars[None], None, torch.float32)
    expected, _, _ = inputs(x, unknown[None], None, torch.float32)
    assert torch.equal(seen, expected)  # essen has unbarred songs (a 244-step "bar"): no meter, no look-back


def test_the_look_back_reads_the_symbols_one_and_two_bars_before_the_predicted_step():
    V = 10
    inputs = StepInputs(V, lookback=True, max_bar=4)
    x = torch.tensor([[BOUNDARY_ID, 3, 4, 5, 6, 7, 8, 9, 3]])  # a song opening with its '/'
    bars = torch.full((1, 9), 4)  # bars of 4 steps
    context = torch.stack([torch.arange(9) % 4, bars[0], torch.zeros(9, dtype=torch.long)], dim=-1)[None]
    features, _, _ = inputs(x, context, None, torch.float32)
    one, two = features[0, :, V:2 * V + 1].argmax(-1), features[0, :, 2 * V + 1:].argmax(-1)
    # input t predicts step t + 1: one bar back is x[t - 3], two bars back x[t - 7]; before the song: none
    assert one.tolist() == [V, V, V, V, 3, 4, 5, 6, 7]
    assert two.tolist() == [V] * 8 + [3]
    # in pieces, with the history carried: the same features
    first, history, _ = inputs(x[:, :5], context[:, :5], None, torch.float32)
    second, _, _ = inputs(x[:, 5:], context[:, 5:], history, torch.float32)
    assert torch.equal(torch.cat([first, second], dim=1), features)


def test_copy_flags_a_repeating_bar_and_boosts_the_looked_back_symbol():
    V = 10
    inputs = StepInputs(V, lookback=[1], max_bar=4, copy=True)
    x = torch.tensor([[BOUNDARY_ID, 3, 4, 5, 6, 3, 4, 9, 6]])  # bar 2 repeats bar 1 but for one step
    context = torch.stack([torch.arange(9) % 4, torch.full((9,), 4),
                           torch.zeros(9, dtype=torch.long)], -1)[None]
    features, _, looked = inputs(x, context, None, torch.float32)
    # the flag: does input t equal x[t - 4] (same song)? '/' and steps with no bar before them: no
    assert features[0, :, -1].tolist() == [0, 0, 0, 0, 0, 1, 1, 0, 1]
    assert looked[0, :, 0].tolist() == [V, V, V, V, 3, 4, 5, 6, 3]  # step t + 1 one bar back: x[t - 3]
    logits = torch.zeros(1, 9, V)
    boosted = copy_logits(logits, torch.full((1, 9, 1), 2.0), looked)
    assert boosted[0, 4].tolist() == [0, 0, 0, 2, 0, 0, 0, 0, 0, 0] and boosted[0, 0].abs().sum() == 0


@pytest.mark.parametrize(("bar", "pickup_steps"), [(12, 4), (8, 0), (12, 2)])
def test_the_sampler_counts_bars_as_the_data_does(bar, pickup_steps):
    from src.models.generation.meters import Meter, context_of

    positions = planned_positions(bar, pickup_steps, 40)  # what the cache holds for such a song
    context = context_of([Meter("3/4", pickup_steps, "major", bar)], torch.device("cpu"))
    assert context(0, 40)[0, :, :2].tolist() == positions.tolist()  # bar position and bar length
    assert context(30, 10)[0, :, :2].tolist() == positions[30:].tolist()  # one step at a time, the same


def test_copy_needs_a_look_back():
    with pytest.raises(UserError,
                       match=r"model.net.copy=True is not accepted; accepted: false, or true with a"):
        StepInputs(10, copy=True)


def test_a_song_read_in_a_meter_starts_in_its_pickup():
    assert bar_steps("6/8", 0.25) == 12
    assert pickup(planned_positions(12, 2, 5)) == 2


def test_a_look_back_over_phrases_trains_with_its_history_and_samples(erk5_dir, tmp_path):
    from src.train import train
    from tests.conftest import run_config, small_data

    run = tmp_path / "run"
    train(run_config(run, ["experiment=lstm_attn_lm", "model.net.hidden_size=16",
                           "model.net.lookback=[1,2,4]", "trainer.max_steps=2",
                           "trainer.val_check_interval=2", "callbacks.sample_export.steps=8",
                           *small_data(erk5_dir, tmp_path / "cache")]))
    module = load_module(run / "checkpoints" / "best.ckpt")
    assert module.net.inputs.lookback == (1, 2, 4) and module.encoding.history == 4 * 48
    melodies = sample_main([f"ckpt={run}", f"out_dir={tmp_path / 'out'}", "steps=40", "num_samples=2"])
    assert len(melodies) == 2


def test_a_bad_look_back_is_one_line():
    with pytest.raises(UserError, match=r"model.net.lookback=\[0\] is not accepted; accepted: false, true"):
        StepInputs(10, lookback=[0])


def test_auto_never_draws_a_meter_the_position_table_cannot_hold():
    from src.models.generation.meters import draw_meters

    rows = (("4/1", 0, "major", 1000), ("3/4", 2, "major", 1))  # 4/1: 64 steps a bar, as some Essen songs
    meters, _ = draw_meters(rows, 0.25, 20, "auto", "auto", None, rng_seed=0, max_bar=48)
    assert {m.time_signature for m in meters} == {"3/4"}
    with pytest.raises(UserError, match=r"time_signature=4/1 has bars of 64 steps"):
        draw_meters(rows, 0.25, 1, "4/1", "auto", None, rng_seed=0, max_bar=48)


def test_one_look_back_stops_at_a_song_boundary_only_where_the_net_was_trained_so():
    """The recurrent nets and the Transformer read bars back through one function (bar_memory.looked_back);
    the recurrent nets' look-back stops at the song's `/`, the Transformer's reads across it."""
    from src.models.nets.bar_memory import looked_back, remember

    V = 10
    x = torch.tensor([[3, 4, 5, 6, BOUNDARY_ID, 7, 8, 9, 3]])  # a song ends at place 4, the next begins
    places, bars = torch.arange(9)[None], torch.full((1, 9), 4)
    memory = remember(None, x, places, 0)
    across = looked_back(memory, places, bars, (1,), 0, V)[0, :, 0]
    within = looked_back(memory, places, bars, (1,), 0, V, within_song=True)[0, :, 0]
    # input t predicts step t + 1, one bar back is place t - 3
    assert across.tolist() == [V, V, V, 3, 4, 5, 6, BOUNDARY_ID, 7]
    assert within.tolist() == [V, V, V, 3, V, V, V, V, 7]
    # the recurrent nets' inputs read it so, with the ids before a training window as their history
    inputs = StepInputs(V, lookback=[1], max_bar=4)
    context = torch.stack([torch.arange(9) % 4, bars[0], torch.zeros(9, dtype=torch.long)], -1)[None]
    features, _, _ = inputs(x[:, 2:], context[:, 2:], inputs.start(x[:, :2]), torch.float32)
    assert features[0, :, V:].argmax(-1).tolist() == within[2:].tolist()
