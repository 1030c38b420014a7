"""Networks, attention, sampling, the LightningModule and checkpoint loading (CPU, tiny sizes)."""

from __future__ import annotations

import math
import pickle

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from src.data.vocab import BOUNDARY_ID, Vocabulary
from src.errors import UserError
from src.models.checkpoint import load_module
from src.models.generation import GenerationRequest
from src.models.generation.loop import sample
from src.models.generation.sampling import Sampling, Span, draw, filter_logits
from src.models.modules.kinds import WindowModule
from src.models.nets import NETS, build_net
from src.models.nets.attention import MultiHeadSelfAttention
from src.models.nets.lstm_attn import LSTMAttention
from src.models.nets.stepping import WindowNet
from tests.conftest import adam_losses

V, WINDOW = 40, 8
NET = {
    "_target_": "src.models.nets.lstm_attn.LSTMAttention",
    "hidden_size": 8,
    "num_layers": 2,
    "heads": 4,
    "dropout": 0.0,
}


def _encoding() -> dict:
    vocab = Vocabulary(48, 84)
    return {
        "mapping": vocab.mapping,
        "sequence_length": WINDOW,
        "step": 0.25,
        "min_pitch": 48,
        "max_pitch": 84,
    }


def _windows(n: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, V, (n, WINDOW), generator=g).to(torch.uint8)
    return x, torch.randint(0, V, (n,), generator=g)


def _net(**overrides) -> LSTMAttention:
    torch.manual_seed(0)
    net = build_net({**NET, **overrides}, V)
    net.window = WINDOW  # stepped over windows of WINDOW ids, as its module sets it
    return net


# ---------------------------------------------------------------- network and config


def test_forward_shapes_for_uint8_and_int64_ids():
    net = _net().eval()
    x, _ = _windows(3)
    assert net(x).shape == (3, V)
    assert torch.equal(net(x), net(x.long()))


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"heads": 3}, "model.net.heads"),  # 2 * 8 = 16 is not divisible by 3
        ({"hidden_size": 0}, "model.net.hidden_size"),
        ({"num_layers": -1}, "model.net.num_layers"),
        ({"dropout": 1.0}, "model.net.dropout"),
        ({"dropout": -0.1}, "model.net.dropout"),
        ({"hidden_size": "big"}, "model.net.hidden_size"),
    ],
)
def test_bad_settings_name_the_key(overrides, key):
    with pytest.raises(UserError, match=key) as info:
        build_net({**NET, **overrides}, V)
    assert "accepted" in str(info.value) and "\n" not in str(info.value)


def test_heads_error_names_both_settings():
    with pytest.raises(UserError, match=r"model\.net\.heads=3 .*2 \* model\.net\.hidden_size = 16"):
        MultiHeadSelfAttention(16, heads=3)


def test_build_net_allows_only_listed_targets():
    with pytest.raises(UserError, match="accepted: src.models.nets.lstm_attn.LSTMAttention"):
        build_net({**NET, "_target_": "os.system"}, V)
    with pytest.raises(UserError,
                       match="model.net.width=3 is not accepted; accepted: a setting of LSTMAttention"):
        build_net({**NET, "width": 3}, V)
    assert all(target == f"{cls.__module__}.{cls.__qualname__}" for target, cls in NETS.items())


def test_adam_steps_lower_the_loss():
    net = _net(dropout=0.0)
    x, y = _windows(32)
    losses = adam_losses(net, x, y, lr=1e-2)
    assert losses[-1] < 0.7 * losses[0]


# ---------------------------------------------------------------- attention


def _naive_attention(att: MultiHeadSelfAttention, x: torch.Tensor, causal: bool) -> torch.Tensor:
    B, T, E = x.shape
    hd = E // att.heads
    q, k, v = (x @ att.qkv.weight.T + att.qkv.bias).split(E, dim=2)
    out = []
    for h in range(att.heads):
        part = slice(h * hd, (h + 1) * hd)
        scores = q[..., part] @ k[..., part].transpose(1, 2) / math.sqrt(hd)  # (B, T, T)
        if causal:
            scores = scores.masked_fill(torch.ones(T, T).triu(1).bool(), -math.inf)
        out.append(torch.softmax(scores, dim=-1) @ v[..., part])
    return torch.cat(out, dim=2) @ att.proj.weight.T + att.proj.bias


@pytest.mark.parametrize("causal", [False, True])
def test_attention_matches_naive_reference(causal):
    torch.manual_seed(0)
    att = MultiHeadSelfAttention(16, heads=4).eval()
    x = torch.randn(2, 5, 16)
    assert att(x, causal=causal).shape == (2, 5, 16)
    torch.testing.assert_close(att(x, causal=causal), _naive_attention(att, x, causal))


def test_causal_attention_ignores_later_positions():
    torch.manual_seed(0)
    att = MultiHeadSelfAttention(16, heads=4).eval()
    x = torch.randn(2, 6, 16)
    changed = x.clone()
    changed[:, 4:] = torch.randn(2, 2, 16)
    torch.testing.assert_close(att(x, causal=True)[:, :4], att(changed, causal=True)[:, :4])
    assert not torch.allclose(att(x)[:, :4], att(changed)[:, :4])  # not causal: they do matter


# ---------------------------------------------------------------- sampling


def test_filter_logits_top_k_and_top_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2], [0.2, 0.4, 0.4]]))
    kept = lambda out: (out > -math.inf).tolist()  # noqa: E731
    assert kept(filter_logits(logits, top_k=1)) == [[True, False, False], [False, True, False]]
    assert kept(filter_logits(logits, top_k=2)) == [[True, True, False], [False, True, True]]
    assert kept(filter_logits(logits, top_p=0.5)) == [[True, False, False], [False, True, True]]
    assert kept(filter_logits(logits, top_p=0.75)) == [[True, True, False], [False, True, True]]
    torch.testing.assert_close(filter_logits(logits), logits)


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"temperature": 0.0}, "temperature"),
        ({"top_k": -1}, "top_k"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"end_floor": 1.0}, "end_floor"),
        ({"end_floor": -0.1}, "end_floor"),
        ({"end_floor": float("nan")}, "end_floor"),
        ({"max_span": -1}, "max_span"),
        ({"max_span": 2.5}, "max_span"),
        ({"endings": 0}, "endings"),
        ({"endings": 65}, "endings"),
        ({"steps": 0}, "steps"),
    ],
)
def test_bad_sampling_settings(settings, key):
    with pytest.raises(UserError, match=key):
        GenerationRequest(**{"steps": 5, **settings})


class _WindowNet(WindowNet):
    """A window net given as its next-symbol function of the window (B, L) -> logits (B, V)."""

    def __init__(self, next_logits, window: int = WINDOW) -> None:
        super().__init__()
        self.next_logits, self.window = next_logits, window

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.next_logits(ids)


def _counting_model(window_seen: list[int]) -> _WindowNet:
    """Next symbol is always (last id + 1) mod V, id 0 being '/'."""

    def next_logits(ids: torch.Tensor) -> torch.Tensor:
        window_seen.append(ids.shape[1])
        return torch.nn.functional.one_hot((ids[:, -1] + 1) % V, V).float() * 10

    return _WindowNet(next_logits)


def test_sampling_stops_at_boundary_per_melody():
    seen: list[int] = []
    prompt = torch.zeros(3, WINDOW + 2, dtype=torch.long)
    prompt[:, -1] = torch.tensor([37, 35, 5])
    out = sample(_counting_model(seen), prompt, steps=10, sampling=Sampling(top_k=1))
    assert out == [[38, 39], [36, 37, 38, 39], list(range(6, 16))]
    assert set(seen) == {WINDOW}


def test_min_steps_forbids_an_early_boundary():
    def wants_to_stop(ids: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(ids.shape[0], V)
        logits[:, BOUNDARY_ID] = 10.0
        return logits

    prompt = torch.zeros(2, WINDOW, dtype=torch.long)
    assert sample(_WindowNet(wants_to_stop), prompt, 20, Sampling(top_k=1)) == [[], []]
    out = sample(_WindowNet(wants_to_stop), prompt, 20, Sampling(top_k=1, min_steps=3))
    assert [len(m) for m in out] == [3, 3] and BOUNDARY_ID not in out[0] + out[1]


def test_end_floor_ends_only_where_the_net_gives_the_end_that_much():
    # row 0: '/' at 0.04, row 1: '/' at 0.5; the rest spread over two pitches
    probs = torch.tensor([[0.04, 0.48, 0.48], [0.5, 0.25, 0.25]])
    logits = torch.log(probs).repeat(2000, 1)  # (4000, 3): rows alternate 0, 1
    generator = torch.Generator().manual_seed(0)
    drawn = draw(logits, Sampling(end_floor=0.05), generator, stop_id=0).view(2000, 2)
    assert (drawn[:, 0] != 0).all()  # under the floor: never ends
    assert 0.45 < (drawn[:, 1] == 0).float().mean() < 0.55  # over it: ends as often as the net says
    # the floor reads the net's own probability: a high temperature that lifts '/' to 0.2 does not pass it
    drawn = draw(logits, Sampling(temperature=5.0, end_floor=0.05), generator, stop_id=0).view(2000, 2)
    assert (drawn[:, 0] != 0).all() and (drawn[:, 1] == 0).any()
    unfloored = draw(logits, Sampling(), generator, stop_id=0).view(2000, 2)
    assert (unfloored[:, 0] == 0).any()  # without it the long shot happens


def test_max_span_keeps_each_melody_within_its_semitones_counting_its_seed():
    # ids: 0 '/', 1 '_', 2 'r', 3.. pitches a semitone apart; the prompts' melodies follow their last '/'
    prompt = torch.tensor([[7, 0, 10, 1, 14],  # a seed spanning 10..14 (4 semitones); the 7 is before '/'
                           [0, 0, 1, 2, 0],  # no pitch yet
                           [0, 3, 1, 23, 2]])  # a seed already spanning 20
    span = Span(prompt)
    assert span.low.tolist() == [10, 0, 3] and span.high.tolist() == [14, 0, 23]
    outside = span.outside(30, max_span=6)  # (3, 30)
    assert outside[0].nonzero().squeeze(1).tolist() == [*range(3, 8), *range(17, 30)]  # keeps 8..16
    assert not outside[1].any()  # the first pitch may be any
    assert outside[2].nonzero().squeeze(1).tolist() == list(range(24, 30))  # no wider than the seed
    assert not outside[:, :3].any()  # '/', '_' and 'r' are never cut
    # drawn from flat logits, 2,000 times over: never outside, and the span follows what was drawn
    generator = torch.Generator().manual_seed(0)
    rows = prompt.repeat(2000, 1)  # (6000, 5)
    span = Span(rows)
    drawn = draw(torch.zeros(6000, 30), Sampling(max_span=6), generator, span=span).view(2000, 3)
    assert ((drawn[:, 0] < 3) | ((drawn[:, 0] >= 8) & (drawn[:, 0] <= 16))).all()
    assert (drawn[:, 2] < 24).all() and (drawn[:, 1] >= 24).any()
    first = span.high.view(2000, 3)[:, 0]
    assert torch.equal(first, torch.where(drawn[:, 0] >= 3, torch.maximum(drawn[:, 0], torch.tensor(14)), 14))


def test_same_seed_same_melodies():
    net = _net().train()
    prompt = torch.zeros(4, WINDOW, dtype=torch.long)
    draw = lambda seed: sample(  # noqa: E731
        net, prompt, 30, Sampling(temperature=1.5, min_steps=5), torch.Generator().manual_seed(seed)
    )
    first = draw(7)
    assert first == draw(7)
    assert all(len(m) >= 5 for m in first)
    assert net.training  # restored after sampling in eval mode


def test_top_k_1_is_greedy_decoding():
    net = _net().eval()
    prompt = torch.zeros(2, WINDOW, dtype=torch.long)
    prompt[1, -1] = 20
    expected = []
    for row in prompt:
        context, melody = row.tolist(), []
        for _ in range(25):
            with torch.no_grad():
                token = int(net(torch.tensor([context[-WINDOW:]])).argmax())
            if token == BOUNDARY_ID:
                break
            melody.append(token)
            context.append(token)
        expected.append(melody)
    got = sample(net, prompt, 25, Sampling(temperature=0.7, top_k=1), torch.Generator().manual_seed(0))
    assert got == expected


# ---------------------------------------------------------------- LightningModule and checkpoints


def _module(scheduler: dict | None = None) -> WindowModule:
    torch.manual_seed(0)
    return WindowModule(dict(NET), _encoding(), {"lr": 1e-3, "weight_decay": 0.0}, scheduler)


def _fit(module: WindowModule, **trainer_args) -> L.Trainer:
    x, y = _windows(16)
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    trainer = L.Trainer(
        logger=False,
        enable_checkpointing=False,
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
        **trainer_args,
    )
    trainer.fit(module, loader, loader)
    return trainer


@pytest.mark.parametrize(
    "scheduler", [None, {"name": "cosine"}, {"name": "plateau", "factor": 0.5, "patience": 2}]
)
def test_one_epoch_logs_every_metric(scheduler):
    trainer = _fit(_module(scheduler), max_epochs=1, limit_train_batches=1, limit_val_batches=1)
    names = {"loss", "acc", "bits", "onset_acc", "pitch_acc", "hold_acc", "top5_acc"}
    logged = set(trainer.callback_metrics)
    assert {f"val/{n}" for n in names} <= logged
    assert {f"train/{n}_epoch" for n in names} <= logged


def test_bad_optimizer_and_scheduler_settings():
    with pytest.raises(UserError, match="optimizer.lr"):
        WindowModule(dict(NET), _encoding(), {"lr": -1.0}).configure_optimizers()
    with pytest.raises(UserError, match="scheduler.name='step'"):
        _module({"name": "step"}).configure_optimizers()


def test_cosine_anneals_per_step_to_zero_at_max_steps_and_adamw_decays_apart():
    module = WindowModule(dict(NET), _encoding(), {"name": "adamw", "lr": 1e-3, "weight_decay": 0.1},
                          {"name": "cosine"})
    trainer = _fit(module, max_steps=4, max_epochs=10)
    optimizer = trainer.optimizers[0]
    assert isinstance(optimizer, torch.optim.AdamW) and optimizer.defaults["weight_decay"] == 0.1
    assert trainer.global_step == 4 and optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(UserError, match="optimizer.name='sgd'.*adam, adamw"):
        WindowModule(dict(NET), _encoding(), {"name": "sgd", "lr": 1e-3}).configure_optimizers()


def test_save_load_gives_identical_logits(tmp_path):
    module = _module()
    trainer = _fit(module, max_steps=1)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    loaded = load_module(tmp_path / "m.ckpt")
    assert not loaded.training and loaded.window == WINDOW
    x, _ = _windows(4, seed=1)
    module.eval()
    with torch.no_grad():
        assert torch.equal(module(x), loaded(x))
    raw = torch.load(tmp_path / "m.ckpt", weights_only=True)
    assert raw["hyper_parameters"]["encoding"] == _encoding()


class _Evil:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_load_refuses_bad_files(tmp_path):
    (tmp_path / "random.ckpt").write_bytes(bytes(range(256)) * 8)
    torch.save({"a": 1}, tmp_path / "plain.ckpt")
    torch.save({"state_dict": {}, "hyper_parameters": {"lr": 1}}, tmp_path / "other.ckpt")
    torch.save({"x": _Evil(tmp_path / "pwned")}, tmp_path / "evil.ckpt")
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump(_Evil(tmp_path / "pwned"), f, protocol=2)
    good = tmp_path / "good.ckpt"
    torch.save({"a": torch.ones(100)}, good)
    (tmp_path / "truncated.ckpt").write_bytes(good.read_bytes()[:300])
    expect = {
        "missing.ckpt": "does not exist",
        "random.ckpt": "cannot be read",
        "truncated.ckpt": "cannot be read",
        "plain.ckpt": "not from melody-generator",
        "other.ckpt": "not from melody-generator",
        "evil.ckpt": "was refused",
        "evil.pkl": "was refused",
        ".": "is a folder",
    }
    for name, message in expect.items():
        with pytest.raises(UserError, match=message) as info:
            load_module(tmp_path / name)
        assert "\n" not in str(info.value)
    assert not (tmp_path / "pwned").exists()


def test_recomputing_a_window_net_draws_what_stepping_its_window_draws():
    """cached=False (the whole sequence again each step) is the reference for every net, a window net too,
    whose finished melodies leave the batch."""
    net = _net().eval()
    prompt = torch.zeros(6, 3, dtype=torch.long)
    prompt[:, 1:] = torch.randint(3, V, (6, 2))
    draws = [sample(net, prompt, 40, Sampling(temperature=1.5), torch.Generator().manual_seed(3),
                    cached=cached) for cached in (True, False)]
    assert draws[0] == draws[1] and len({len(m) for m in draws[0]}) > 1  # melodies of several lengths
