"""Infilling: fill-in-the-middle order, the cached gap filling, span and bar settings, the sample command."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

from src.data.datamodule import MelodyDataModule
from src.data.vocab import BOUNDARY_ID, FIRST_PITCH_ID, IGNORE_ID
from src.errors import UserError
from src.evaluate import main as evaluate_main
from src.models.checkpoint import load_module
from src.models.generation import GenerationRequest
from src.models.generation.infill import fill_gap, gap_bits, seed_steps
from src.models.generation.meters import Meter, context_of
from src.models.generation.sampling import Sampling
from src.models.modules.fill_order import AFTER, FILL, LEFT, middle_order, mix_in_infilling, song_gap
from src.models.nets.bar_memory import looked_back, remember
from src.models.nets.transformer import TransformerLM

V = 40
SEED = "67 _ 72 _ _ _ 74 _ 76 _ _ _ 74 _ 72 _ 71 _ _ _ 69 _ 67 _ 69 _ 71 _ 72 _ _ _ 72 _ _ _"  # 36 steps


def tiny_net() -> TransformerLM:
    torch.manual_seed(0)
    net = TransformerLM(V, d_model=16, num_layers=2, heads=4, ff_size=32, dropout=0.0, max_bar=16,
                        bars_back=[1, 2], bars_ahead=[1], copy=True)
    torch.nn.init.normal_(net.copy_gain.weight, std=2.0)
    return net.eval()


def test_middle_order_puts_the_suffix_before_the_middle():
    order, roles = middle_order(8, 3, 6)  # middle targets: inputs 2, 3, 4
    assert order.tolist() == [0, 1, 5, 6, 7, 2, 3, 4]
    assert roles.tolist() == [LEFT, LEFT, AFTER, AFTER, AFTER, FILL, FILL, FILL]
    order, roles = middle_order(4, 1, 4)  # no prefix: the marker, then the middle
    assert order.tolist() == [3, 0, 1, 2] and roles.tolist() == [AFTER, FILL, FILL, FILL]


def test_the_copy_path_looks_back_only_to_inputs_already_read():
    x = torch.arange(10, 20)[None]  # (1, 10): the id at position p is 10 + p
    bars = torch.full((1, 10), 4)
    order, _ = middle_order(10, 4, 8)  # middle targets from inputs 3..6; input 7 is the marker's place
    memory = remember(None, x[:, order], order[None], 0)
    looked = looked_back(memory, order[None], bars, (1, 2), 0, none=V)  # (1, 10, 2), in sequence order
    by_position = dict(zip(order.tolist(), looked[0].tolist(), strict=True))
    # the suffix (inputs 7..9, read right after the prefix 0..2) predicting step 9: one bar back is
    # input 5, in the middle, not read yet: none; two bars back is input 1, in the prefix
    assert by_position[8] == [V, 11] and by_position[9] == [V, 12]
    assert by_position[5] == [12, V]  # the middle predicting step 6: input 2; two bars back is before 0
    assert by_position[6] == [13, V]  # input 3: the middle's own first input, read before it
    ahead = looked_back(memory, order[None], bars, (-1,), 0, none=V)[0, :, 0]
    by_position = dict(zip(order.tolist(), ahead.tolist(), strict=True))
    # the middle predicting step 4 and 5: one bar ahead are inputs 8 and 9, in the suffix, already read;
    # left to right (the prefix) and the suffix itself have read nothing ahead
    assert by_position[3] == 18 and by_position[4] == 19 and by_position[5] == V  # input 10: none
    assert by_position[0] == V and by_position[7] == V


def test_the_repeating_flag_compares_each_input_with_its_own_place_bars_away():
    x = torch.tensor([[5, 6, 7, 8, 5, 6, 9, 8]])  # (1, 8): bar 2 repeats bar 1 except at position 6
    bars = torch.full((1, 8), 4)
    memory = remember(None, x, torch.arange(8)[None], 0)
    own = looked_back(memory, torch.arange(8)[None], bars, (1,), 0, none=V, ahead=0)[0, :, 0]
    assert own.tolist() == [V, V, V, V, 5, 6, 7, 8]  # the input's own place one bar back
    net = tiny_net()
    h = {}
    net.repeating.register_forward_hook(lambda module, args, out: h.update(flags=args[0]))  # the ids read
    net.step(x, context=torch.tensor([[[p % 4, 4, 0, 0] for p in range(1, 9)]]))
    # rows (distance 1, 2, 1 ahead): 1 where the input equals its own symbol that many bars away
    assert h["flags"][0, :, 0].remainder(2).tolist() == [0, 0, 0, 0, 1, 1, 0, 1]
    assert h["flags"][0, :, 1].remainder(2).sum() == 0  # nothing two bars back in 8 steps


def test_training_gaps_lie_inside_one_song():
    window = torch.tensor([BOUNDARY_ID, 5, 6, 7, BOUNDARY_ID, 8, 9, 10, 11, 12, BOUNDARY_ID, 13])  # L = 11
    generator = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(300):
        a, b = song_gap(window, generator)
        assert 1 <= a < b <= 11 and BOUNDARY_ID not in window[a:b].tolist()
        seen.add((a, b))
    # every gap inside each song; the last step (13, w[L]) ends no gap: its marker would lie past the window
    songs = [(1, 4), (5, 10)]
    expected = {(a, b) for low, high in songs for a in range(low, high + 1) for b in range(a + 1, high + 1)}
    assert seen == expected
    assert song_gap(torch.tensor([BOUNDARY_ID, BOUNDARY_ID, BOUNDARY_ID])) is None


def test_reordered_windows_keep_every_target_with_its_context():
    torch.manual_seed(1)
    x, y = torch.randint(1, V, (16, 12)), torch.randint(1, V, (16, 12))
    context = torch.randint(0, 9, (16, 12, 4))
    x2, y2, c2, positions, roles = mix_in_infilling(x, y, context, 0.99, marker=V)
    assert (roles > 0).any(dim=1).sum() >= 12  # nearly every row reordered
    for row in range(16):
        order = positions[row]
        assert sorted(order.tolist()) == list(range(12))  # a permutation
        assert torch.equal(y2[row], y[row, order]) and torch.equal(c2[row], context[row, order])
        if roles[row].any():  # the marker stands for the middle's last input, nothing else changed
            marked = (x2[row] == V).nonzero().squeeze(1).tolist()
            assert len(marked) == 1 and roles[row, marked[0]] == AFTER
            assert roles[row, marked[0] - 1] == LEFT if marked[0] else True
            kept = x2[row] != V
            assert torch.equal(x2[row][kept], x[row, order][kept])


def test_a_gap_filled_step_by_step_has_the_logits_of_the_whole_reordered_sequence():
    net = tiny_net()
    song = torch.randint(1, V, (20,))
    meter = Meter("3/4", 2, "minor", 12)
    context = context_of([meter], torch.device("cpu"))(0, 21)[0]  # (21, 4)
    inputs = torch.cat([torch.tensor([BOUNDARY_ID]), song])
    a, b = 6, 11  # steps 5..9
    order, roles = middle_order(21, a, b)
    x = inputs.clone()
    x[b - 1] = net.marker
    whole, _ = net.step(x[order][None], None, context[order][None], order, roles[None])
    known = 21 - (b - a) + 1
    piece, state = net.step(x[order][None, :known], None, context[order][None, :known], order[:known],
                               roles[None, :known])
    logits = [piece[:, -1]]
    for place in order[known:].tolist():
        out, state = net.step(inputs[None, place:place + 1], state, context[None, place:place + 1],
                                 torch.tensor([place]), torch.full((1, 1), FILL))
        logits.append(out[:, -1])
    assert torch.allclose(torch.stack(logits, 1), whole[:, known - 1:], atol=1e-5)


def test_filling_regenerates_only_the_gap_and_never_ends_the_song():
    net = tiny_net()
    song = torch.randint(1, V, (30,))
    context = context_of([Meter("4/4", 0, "major", 16)], torch.device("cpu"))(0, 31)[0]
    rows = fill_gap(net, song, 8, 16, context, 5, Sampling(), torch.Generator().manual_seed(0))
    assert len(rows) == 5 and all(len(row) == 8 and BOUNDARY_ID not in row for row in rows)
    assert len({tuple(row) for row in rows}) > 1  # alternatives differ
    # max_span: the gap keeps within the span of the notes around it (here 12..20), not the notes it replaces
    song = torch.tensor([1, 12, 1, 20, 2, 16, 1, 1, 3, 30, 4, 1, 13, 1, 1, 1])  # ids 3.. are pitches
    context = context_of([Meter("4/4", 0, "major", 16)], torch.device("cpu"))(0, 17)[0]
    rows = fill_gap(net, song, 8, 12, context, 40, Sampling(temperature=3.0, max_span=8),
                    torch.Generator().manual_seed(0))
    drawn = [i for row in rows for i in row if i >= FIRST_PITCH_ID]
    assert drawn and all(12 <= i <= 20 for i in drawn)
    both, left = gap_bits(net, song, 8, 16, context)
    assert both > 0 and left > 0


def test_bars_select_steps_as_scores_number_them():
    request = GenerationRequest(seed=SEED, mode="infill", bars="1:2")
    waltz = Meter("3/4", 4, "major", 12)  # a pickup of 4 steps, then bars of 12: 36 steps = bars 0..3
    assert seed_steps(request, 36, waltz) == (4, 28)
    assert seed_steps(GenerationRequest(seed=SEED, mode="infill", bars="0:0"), 36, waltz) == (0, 4)
    assert seed_steps(GenerationRequest(seed=SEED, mode="infill", bars="3:3"), 36, waltz) == (28, 36)
    with pytest.raises(UserError, match=r"bars=4:4 is beyond the seed.*bars 0\.\.3"):
        seed_steps(GenerationRequest(seed=SEED, mode="infill", bars="4:4"), 36, waltz)
    common = Meter("4/4", 0, "major", 16)
    with pytest.raises(UserError, match=r"bars=0:1 is beyond the seed.*bars 1\.\.3"):
        seed_steps(GenerationRequest(seed=SEED, mode="infill", bars="0:1"), 36, common)
    assert seed_steps(GenerationRequest(seed=SEED, mode="infill", span="3:9"), 36, common) == (3, 9)
    with pytest.raises(UserError, match=r"span=3:40 is outside the seed \(36 steps\)"):
        seed_steps(GenerationRequest(seed=SEED, mode="infill", span="3:40"), 36, common)


@pytest.mark.parametrize(("settings", "message"), [
    ({"mode": "infill", "span": "0:4"}, "mode=infill needs a seed"),
    ({"mode": "infill", "seed": SEED}, "needs one of span=A:B"),
    ({"mode": "infill", "seed": SEED, "span": "0:4", "bars": "1:1"}, "needs one of span=A:B"),
    ({"mode": "infill", "seed": SEED, "span": "9:3"}, "span='9:3' is not accepted"),
    ({"mode": "infill", "seed": SEED, "span": "4:4"}, "span='4:4' is not accepted"),
    ({"mode": "infill", "seed": SEED, "span": "-1:4"}, "span='-1:4' is not accepted"),
    ({"mode": "infill", "seed": SEED, "bars": "two:3"}, "bars='two:3' is not accepted"),
    ({"mode": "continue", "seed": SEED, "span": "0:4"}, "only used by mode=infill"),
])
def test_bad_infill_requests_are_refused_in_one_line(settings, message):
    with pytest.raises(UserError, match=message):
        GenerationRequest(**settings)


def test_sample_infill_keeps_the_seed_outside_the_span(transformer_run, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "src.sample", f"ckpt={transformer_run}", "mode=infill",
                           f"seed={SEED}", "bars=2:2", "time_signature=4/4", "pickup=0", "num_samples=3",
                           f"out_dir={out}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    seed = SEED.split()
    for index in range(3):
        melody = json.loads((out / f"melody_{index:02d}.json").read_text())
        symbols = melody["symbols"].split()
        assert len(symbols) == len(seed)
        assert symbols[:16] == seed[:16] and symbols[32:] == seed[32:]  # bar 2 = steps 16..31
        assert "/" not in symbols[16:32]


def test_infill_on_a_model_that_cannot_is_refused(trained_run, tmp_path):
    done = subprocess.run([sys.executable, "-m", "src.sample", f"ckpt={trained_run}", "mode=infill",
                           f"seed={SEED}", "span=4:8", f"out_dir={tmp_path / 'out'}"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "mode=infill needs a model trained to fill gaps" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


def test_a_trained_transformer_reloads_with_its_infilling_mode(transformer_run):
    module = load_module(transformer_run / "checkpoints" / "best.ckpt")
    assert module.modes == ("continue", "infill")


def test_evaluate_scores_held_out_gaps_both_ways(transformer_run, tmp_path):
    result = evaluate_main([f"ckpt={transformer_run}", f"out_dir={tmp_path / 'report'}", "num_samples=2",
                            "steps=16", "seed_length=8", "window=16"])
    infill = result["infill"]
    assert infill["songs"] >= 1 and infill["steps"] >= 4
    # left to right: the gap steps' bits as the plain forward pass over whole test songs gives them
    module = load_module(transformer_run / "checkpoints" / "best.ckpt")
    cache = str(transformer_run.parent / "cache")
    datamodule = MelodyDataModule.from_record(module.encoding, cache_dir=cache)
    datamodule.setup()
    songs = datamodule.datasets["test"]
    total, steps = 0.0, 0
    for index in range(len(songs)):
        x, y, context = songs[index]
        length = int((y != IGNORE_ID).sum()) - 1  # the song's steps (its closing '/' is a target too)
        if length < 12:
            continue
        with torch.no_grad():
            logp = torch.log_softmax(module(x[:, :length + 1], context[:, :length + 1]), dim=-1)[0]
        start, end = length // 3, 2 * length // 3
        total -= float(logp[start:end].gather(1, y[0, start:end, None]).sum()) / math.log(2)
        steps += end - start
    assert infill["steps"] == steps
    assert infill["bits_left_only"] == pytest.approx(total / steps, rel=1e-4)
    assert math.isfinite(infill["bits_both_sides"])
    assert "## Infilling" in (tmp_path / "report" / "report.md").read_text()


@pytest.mark.parametrize("kv_heads", [3, 0, True, "2"])
def test_key_value_heads_must_divide_the_heads(kv_heads):
    with pytest.raises(UserError, match=rf"model.net.kv_heads={kv_heads!r} is not accepted; accepted: null "
                                        r"\(= heads\) or a divisor of model.net.heads=4: 1, 2, 4"):
        TransformerLM(V, d_model=16, heads=4, kv_heads=kv_heads)
