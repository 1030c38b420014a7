"""Causal nets (lstm_attn_lm, gru_lm, transformer_lm): causality, cached == recomputed, every-position
batches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from src.data.plans import WIDTH
from src.data.sequences import SongSequences, StridedWindows, stream_array
from src.data.vocab import BOUNDARY_ID, FIRST_PITCH_ID, IGNORE_ID
from src.models.generation.forms import FormSteer, Plan
from src.models.generation.loop import PlannedRows, one_leading_boundary, sample
from src.models.generation.meters import Meter, context_of
from src.models.generation.sampling import Sampling
from src.models.modules.metrics import MelodyMetrics
from src.models.nets.attention import MultiHeadSelfAttention
from src.models.nets.lm import GRULM, LSTMAttentionLM
from src.models.nets.register import GAIN
from src.models.nets.transformer import TransformerLM

V = 40


def nets() -> list[torch.nn.Module]:
    torch.manual_seed(0)
    bars = TransformerLM(V, d_model=16, num_layers=2, heads=4, ff_size=32, dropout=0.0, attention_window=6,
                         max_bar=8, bars_back=[1, 2])
    copies = TransformerLM(V, d_model=16, num_layers=2, heads=4, ff_size=32, dropout=0.0, attention_window=6,
                           max_bar=8, bars_back=[1, 3], bars_ahead=[2],
                           copy=True, kv_heads=2,  # grouped keys and values: 2 query heads share each
                           register=True)
    torch.nn.init.normal_(copies.copy_gain.weight, std=2.0)
    torch.nn.init.normal_(copies.range_cost.potential, std=2.0 / GAIN)  # costs of a few nats, as learned
    # attention_window 6 < the sequences below: the local mask and the cache trimming both matter;
    # bars of at most 8 steps: the look-back reaches across pieces of the sequences below
    meter = {"meter": True, "mode": True, "lookback": True, "max_bar": 8}
    return [LSTMAttentionLM(V, hidden_size=16, num_layers=2, heads=4, dropout=0.0, attention_window=6),
            GRULM(V, hidden_size=16, num_layers=2, dropout=0.0),
            LSTMAttentionLM(V, hidden_size=16, num_layers=2, heads=4, dropout=0.0, attention_window=6,
                            **meter),
            GRULM(V, hidden_size=16, num_layers=2, dropout=0.0, **meter),
            LSTMAttentionLM(V, hidden_size=16, num_layers=2, heads=4, dropout=0.0, attention_window=6,
                            **meter, copy=True),
            GRULM(V, hidden_size=16, num_layers=2, dropout=0.0, **meter, copy=True),
            TransformerLM(V, d_model=16, num_layers=2, heads=4, ff_size=32, dropout=0.0,
                          attention_window=6, meter=False, mode=False),
            TransformerLM(V, d_model=16, num_layers=2, heads=4, ff_size=32, dropout=0.0,
                          attention_window=6, meter=False, mode=False, kv_heads=1),  # multi-query
            bars, copies]


def net_id(net) -> str:
    return (type(net).__name__ + ("+meter" if net.inputs.uses_context else "")
            + ("+copy" if net.copy_gain is not None else "")
            + ("+register" if getattr(net, "range_cost", None) is not None else "")
            + (f"+kv{net.blocks[0].attention.kv_heads}" if isinstance(net, TransformerLM) else ""))


def contexts(B: int, T: int) -> torch.Tensor:
    """(B, T, 3) contexts in bars of 3..8 steps, each row its own meter and mode."""
    bars = torch.randint(3, 9, (B, 1))
    first = torch.randint(0, 3, (B, 1))
    positions = (first + torch.arange(T)) % bars
    modes = torch.randint(0, 2, (B, 1)).expand(B, T)
    return torch.stack([positions, bars.expand(B, T), modes], dim=-1)


@pytest.mark.parametrize("net", nets(), ids=net_id)
def test_changing_a_future_symbol_leaves_earlier_logits_unchanged(net):
    net.eval()
    x = torch.randint(0, V, (3, 20))
    changed = x.clone()
    changed[:, 12] = (changed[:, 12] + 1) % V
    context = contexts(3, 20)
    before, after = net(x, context), net(changed, context)
    assert before.shape == (3, 20, V)
    torch.testing.assert_close(before[:, :12], after[:, :12], rtol=0, atol=0)
    assert not torch.allclose(before[:, 12:], after[:, 12:])  # the change is seen from there on


@pytest.mark.parametrize("net", nets(), ids=net_id)
def test_carried_state_gives_the_logits_of_the_whole_sequence(net):
    net = net.double().eval()
    x = torch.randint(0, V, (2, 25))
    x[:, 3] = BOUNDARY_ID  # a song starts: the look-back may not reach behind it
    context = contexts(2, 25)
    whole = net(x, context)
    logits, state = net.step(x[:, :9], None, context[:, :9])  # a prompt, then one symbol at a time
    pieces = [logits]
    for t in range(9, 25):
        logits, state = net.step(x[:, t:t + 1], state, context[:, t:t + 1])
        pieces.append(logits)
    torch.testing.assert_close(torch.cat(pieces, dim=1), whole, rtol=0, atol=1e-12)


@pytest.mark.parametrize("net", nets(), ids=net_id)
def test_cached_sampling_draws_the_melodies_of_full_recomputation(net):
    net = net.double()
    prompt = torch.full((5, 12), BOUNDARY_ID)
    prompt[:, 8:] = torch.randint(FIRST_PITCH_ID, V, (4,))  # one seed, as the CLI gives it
    meters = [Meter("3/4", 2, "minor", 6), Meter("2/4", 0, "major", 8)] * 2 + [Meter("3/8", 1, "major", 3)]
    sampling = Sampling(temperature=1.3, top_k=10, min_steps=5, max_span=7)
    draws = lambda cached: sample(net, prompt, 40, sampling, torch.Generator().manual_seed(7),  # noqa: E731
                                  cached=cached, context_of=context_of(meters, "cpu"))
    cached, recomputed = draws(True), draws(False)
    assert cached == recomputed
    assert all(5 <= len(m) <= 40 and BOUNDARY_ID not in m for m in cached)
    seed = prompt[0, 8:].tolist()  # within 7 semitones with the seed, or the seed's own span if wider
    for melody in cached:
        pitches = [i for i in seed + melody if i >= FIRST_PITCH_ID]
        assert max(pitches) - min(pitches) <= max(7, max(seed) - min(seed))
    assert len({tuple(m) for m in cached}) > 1  # rows draw independently


@pytest.mark.parametrize("net", nets(), ids=net_id)
def test_rows_taken_from_a_state_step_on_apart_as_their_own_runs(net):
    net = net.double().eval()
    x = torch.randint(0, V, (2, 16))
    context = contexts(2, 16)
    _, state = net.step(x[:, :9], None, context[:, :9])
    index = torch.tensor([1, 0, 0])  # row 0 drawn on two ways from here (the endings' fork)
    forked = net.take_rows(state, index)
    y, forked_context = x[index].clone(), context[index]
    y[2, 9:] = (y[2, 9:] + 1) % V  # the second copy of row 0 goes on with other symbols
    pieces, original = [], []
    for t in range(9, 16):
        logits, forked = net.step(y[:, t:t + 1], forked, forked_context[:, t:t + 1])
        pieces.append(logits)
        logits, state = net.step(x[:, t:t + 1], state, context[:, t:t + 1])
        original.append(logits)
    torch.testing.assert_close(torch.cat(pieces, dim=1), net(y, forked_context)[:, 9:], rtol=0, atol=1e-12)
    # the rows taken are a copy: stepping them leaves the state they came from as it was
    torch.testing.assert_close(torch.cat(original, dim=1), net(x, context)[:, 9:], rtol=0, atol=1e-12)


@pytest.mark.parametrize("net", nets(), ids=net_id)
def test_endings_drawn_several_ways_are_the_same_cached_or_recomputed(net):
    net = net.double()
    prompt = torch.full((3, 5), BOUNDARY_ID)
    prompt[:, 1:] = torch.randint(FIRST_PITCH_ID, V, (4,))
    meters = [Meter("2/4", 0, "major", 8), Meter("3/4", 2, "minor", 6), Meter("2/4", 3, "major", 8)]
    plans = [Plan("", "unknown", meter, "AB", (2, 2)) for meter in meters]  # 32, 24 and 32 steps

    def draws(cached: bool) -> list[list[int]]:
        steer = FormSteer(plans, prompt[:, 1:].tolist(), 40, BOUNDARY_ID, torch.device("cpu"))
        return sample(net, prompt, 40, Sampling(endings=4), torch.Generator().manual_seed(5),
                      context_of=context_of(meters, "cpu"), steer=steer, cached=cached)

    cached = draws(True)
    assert cached == draws(False)
    assert [len(m) for m in cached] == [plan.length - 4 for plan in plans]  # each ends where its form does


def test_the_last_bars_fork_where_they_are_first_drawn():
    meter = Meter("2/4", 2, "major", 8)  # parts start at steps 2, 34, 66, ... with 4-bar parts
    plans = [Plan("", "", meter, "AB", (4, 4)), Plan("", "", meter, "AABB", (4, 4, 4, 4)),
             Plan("", "", meter, "AABA", (4, 4, 4, 4))]
    steer = FormSteer(plans, [[], [], []], 130, BOUNDARY_ID, torch.device("cpu"))
    # AB: the bar before B's last. AABB: the second B copies the first but for its last bar, so its
    # second-to-last bar is drawn in the first B's third bar (66 + 16). AABA: in the first A's third bar.
    assert steer.fork.tolist() == [34 + 16, 66 + 16, 2 + 16]
    assert steer.fork_steps == {50, 82, 18}


def test_the_ending_kept_is_the_one_the_net_finds_most_final():
    planned = PlannedRows(3, torch.device("cpu"))
    columns = [torch.tensor([10, 11, 12])]  # one symbol drawn so far per melody
    kept = planned.leave(torch.tensor([False, True, False]), columns)  # melody 1 has ended: it leaves
    assert kept.tolist() == [0, 2]
    index = planned.fork(torch.tensor([True, False]), 3)  # melody 0 drawn three ways, melody 2 once
    assert index.tolist() == [0, 0, 0, 1]
    logits = torch.zeros(4, 6)
    logits[:, BOUNDARY_ID] = torch.tensor([0.5, 2.0, 1.0, -30.0])  # melody 0's second way most final
    planned.weigh(torch.tensor([True, True, True, True]), logits, 1.0, BOUNDARY_ID)
    ids = torch.tensor([[10, 20, 0], [10, 21, 0], [10, 22, 0], [12, 23, 24]])  # (rows, t) in the batch
    assert planned.melodies(ids, BOUNDARY_ID).tolist() == [[10, 21, 0], [11, 0, 0], [12, 23, 24]]
    planned.weigh(torch.tensor([True, True, True, True]), logits, 0.5, BOUNDARY_ID)  # a colder draw: same
    assert planned.melodies(ids, BOUNDARY_ID).tolist() == [[10, 21, 0], [11, 0, 0], [12, 23, 24]]
    tied = PlannedRows(1, torch.device("cpu"))
    tied.fork(torch.tensor([True]), 2)
    assert tied.melodies(torch.tensor([[1, 2], [3, 4]]), BOUNDARY_ID).tolist() == [[1, 2]]  # the first


def test_local_attention_matches_a_banded_reference_whole_and_in_pieces():
    torch.manual_seed(0)
    att = MultiHeadSelfAttention(16, heads=4).eval()
    x = torch.randn(2, 11, 16)
    window = 4
    q, k, v = (x @ att.qkv.weight.T + att.qkv.bias).split(16, dim=2)
    i, j = torch.arange(11)[:, None], torch.arange(11)[None, :]
    allowed = (j <= i) & (j > i - window)
    heads = []
    for h in range(4):
        part = slice(4 * h, 4 * h + 4)
        scores = (q[..., part] @ k[..., part].transpose(1, 2) / 2).masked_fill(~allowed, -math.inf)
        heads.append(torch.softmax(scores, -1) @ v[..., part])
    reference = torch.cat(heads, 2) @ att.proj.weight.T + att.proj.bias
    whole, _ = att.local_causal(x, window)
    torch.testing.assert_close(whole, reference)
    first, cache = att.local_causal(x[:, :5], window)
    assert cache[0].shape == (2, 4, window, 4) and cache[2] == 5  # a ring of `window` slots
    pieces = [first]
    for t in range(5, 11):
        out, cache = att.local_causal(x[:, t:t + 1], window, cache)
        pieces.append(out)
    torch.testing.assert_close(torch.cat(pieces, 1), reference)


def test_prompts_keep_one_leading_boundary():
    prompt = torch.tensor([[0, 0, 0, 0, 5, 1, 6], [0, 0, 0, 0, 0, 0, 0], [7, 1, 1, 1, 1, 1, 8]])
    assert one_leading_boundary(prompt).tolist() == [[0, 0, 0, 0, 5, 1, 6], [0, 0, 0, 0, 0, 0, 0],
                                                     [7, 1, 1, 1, 1, 1, 8]]
    assert one_leading_boundary(prompt[:1]).tolist() == [[0, 5, 1, 6]]
    assert one_leading_boundary(prompt[1:2]).tolist() == [[0]]
    # rows that differ: the shorter is left-padded with '/'
    assert one_leading_boundary(prompt[:2]).tolist() == [[0, 5, 1, 6], [0, 0, 0, 0]]


def test_every_position_windows_move_targets_on_by_one():
    tokens = np.arange(50, dtype=np.uint8)  # value = position, to read starts off
    context = np.stack([tokens, tokens + 1, tokens % 2], axis=1)  # (50, 3)
    windows = StridedWindows(tokens, context, sequence_length=8, stride=5, vocab_size=V, jitter=False)
    assert len(windows) == 9  # starts 0, 5, ..., 40 (the last window starts at 41)
    x, y, c = windows.batch(torch.arange(len(windows)))
    assert x.shape == y.shape == (9, 8) and x.dtype == torch.uint8 and y.dtype == torch.int64
    assert x[1].tolist() == list(range(5, 13)) and y[1].tolist() == list(range(6, 14))
    assert c.shape == (9, 8, 3) and c[1, :, 0].tolist() == y[1].tolist()  # the targets' context
    torch.manual_seed(0)
    jittered = StridedWindows(tokens, context, 8, 5, V)
    starts = torch.stack([jittered.batch(torch.arange(9))[0][:, 0] for _ in range(50)]).long()
    offsets = starts - torch.arange(9) * 5  # (50, 9), clamped at the last window
    assert offsets.min() == 0 and offsets[:, :8].max() == 4 and starts.max() == 41
    assert windows.windows.untyped_storage().data_ptr() == windows.tokens.untyped_storage().data_ptr()
    # with a history: the ids before each window, '/' before the stream's start, for the look-back
    x, y, c, before = StridedWindows(tokens, context, 8, 5, V, jitter=False, history=7).batch(torch.arange(3))
    assert before.tolist() == [[BOUNDARY_ID] * 7, [BOUNDARY_ID] * 2 + list(range(5)), list(range(3, 10))]
    assert x[2].tolist() == list(range(10, 18)) and y[2].tolist() == list(range(11, 19))


def test_augmented_windows_shift_inputs_and_targets_together():
    torch.manual_seed(0)
    tokens = np.random.default_rng(0).integers(0, V, 400).astype(np.uint8)
    context = np.zeros((400, 3), np.uint8)
    x, y, _ = StridedWindows(tokens, context, 16, 16, V, augment=(-5, 6)).batch(torch.arange(20))
    assert torch.equal(x[:, 1:].long(), y[:, :-1])  # still one stream moved on by one
    torch.manual_seed(0)
    plain = StridedWindows(tokens, context, 16, 16, V, jitter=False, history=8).batch(torch.arange(1, 20))
    torch.manual_seed(0)
    moved = StridedWindows(tokens, context, 16, 16, V, augment=(-5, 6), jitter=False, history=8).batch(
        torch.arange(1, 20))
    first_pitch = (plain[0] >= FIRST_PITCH_ID).long().argmax(dim=1, keepdim=True)  # (B, 1)
    shift = moved[0].long().gather(1, first_pitch) - plain[0].long().gather(1, first_pitch)  # (B, 1)
    is_pitch = plain[3] >= FIRST_PITCH_ID
    assert torch.equal(moved[3].long(), torch.where(is_pitch, plain[3].long() + shift, plain[3].long()))
    assert y.max() < V


def test_songs_are_scored_whole_with_padding_ignored():
    # '/ 5 1 6 / 7 /': songs [5 1 6] and [7]
    tokens = np.array([0, 5, 1, 6, 0, 7, 0], dtype=np.uint8)
    context = np.stack([np.arange(7)] * 3, axis=1).astype(np.uint8)  # (7, 3): each token's index
    songs = SongSequences(tokens, np.array([0, 4]), context)
    [(x, y, c)] = songs.__getitems__([0, 1])  # longest first
    assert x.tolist() == [[0, 5, 1, 6], [0, 7, 0, 0]]
    assert y.tolist() == [[5, 1, 6, 0], [7, 0, IGNORE_ID, IGNORE_ID]]
    assert c[:, :, 0].tolist() == [[1, 2, 3, 4], [5, 6, 0, 0]]  # the targets' context, padding 0


def test_padded_song_batches_score_like_songs_one_by_one():
    torch.manual_seed(0)
    net = nets()[0].eval()
    tokens = np.array([0, 5, 1, 6, 1, 0, 7, 0, 9, 1, 1, 2, 8, 0], dtype=np.uint8)
    songs = SongSequences(tokens, np.array([0, 5, 7]), np.zeros((len(tokens), 3), np.uint8))
    together, apart = MelodyMetrics(), MelodyMetrics()
    [(x, y, c)] = songs.__getitems__([0, 1, 2])
    together.update(net(x, c), y)
    for i in range(3):
        [(x, y, c)] = songs.__getitems__([i])
        apart.update(net(x, c), y)
    a, b = together.compute(), apart.compute()
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], equal_nan=True)
    assert together["bits"].count == 5 + 2 + 6  # every symbol and each closing "/", once


def test_stream_array_holds_each_split_song_once(erk5_corpus):
    tokens, starts, context = stream_array(erk5_corpus, "train")
    songs = erk5_corpus.split("train")
    assert len(tokens) == 1 + sum(s["length"] + 1 for s in songs) and (tokens[starts] == BOUNDARY_ID).all()
    second = erk5_corpus.tokens[songs[1]["offset"]:songs[1]["offset"] + songs[1]["length"]]
    assert tokens[starts[1] + 1:starts[1] + 1 + len(second)].tolist() == second.tolist()
    # each token's bar position and bar length, and its song's mode
    span = slice(songs[1]["offset"], songs[1]["offset"] + songs[1]["length"] + 1)
    assert context.shape == (len(tokens), WIDTH) and context[0].tolist() == [0] * WIDTH
    assert (context[starts[1] + 1:starts[1] + 2 + len(second), :2].tolist()
            == erk5_corpus.positions[span].tolist())
    assert (set(context[starts[1] + 1:starts[1] + 2 + len(second), 2])
            == {("major", "minor").index(songs[1]["mode"])})
    # no style list given: style unknown (0); erk5 has no R: fields: tune type unknown (0); its form plan
    assert not context[:, 3:5].any() and context[starts[1] + 1, 7] == songs[1]["part_bars"][0]


@pytest.mark.parametrize("net", nets(), ids=net_id)
def test_adam_steps_lower_the_every_position_loss(net):
    torch.manual_seed(0)
    pattern = torch.tensor([5, 1, 1, 1, 7, 1, 9, 1])  # a learnable tune, at a random phase per row
    x = pattern[(torch.arange(24) + torch.randint(0, 8, (8, 1))) % 8]  # (8, 24)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(net(x[:, :-1]).reshape(-1, V), x[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_a_causal_run_samples_and_evaluates_like_it_tested(trained_run, erk5_dir, tmp_path):
    from src.evaluate import main as evaluate_main
    from src.sample import main as sample_main
    from src.train import train
    from tests.conftest import run_config, small_data

    run = tmp_path / "lm"
    data = small_data(erk5_dir, trained_run.parent / "cache")
    metrics = train(run_config(run, ["experiment=lstm_attn_lm", "model.net.hidden_size=16",
                                     "trainer.max_steps=3", "trainer.val_check_interval=3",
                                     "callbacks.sample_export.steps=8", *data]))
    assert 0 < metrics["test/bits"] < 8
    seed = "60 _ 62 _ 64 _ _ _"
    melodies = sample_main([f"ckpt={run}", f"out_dir={tmp_path / 'samples'}", f"seed={seed}", "steps=20",
                            "num_samples=2", "rng_seed=1"])
    assert len(melodies) == 2 and all(m[:8] == seed.split() for m in melodies)
    assert len(list((tmp_path / "samples").glob("*.mid"))) == 2
    report = evaluate_main([f"ckpt={run}", f"out_dir={tmp_path / 'report'}", "num_samples=2", "steps=16",
                            "seed_length=8", "window=16"])
    # the held-out songs scored whole, as in training's test: the same bits
    assert abs(report["heldout"]["metrics"]["test/bits"] - metrics["test/bits"]) < 1e-4
