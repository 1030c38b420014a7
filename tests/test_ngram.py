"""The Kneser-Ney baseline: exact hand-computed probabilities, normalisation, checkpoints, its experiment."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from src.data.vocab import Vocabulary
from src.errors import UserError
from src.models.checkpoint import load_module
from src.models.generation import GenerationRequest
from src.models.modules.kinds import module_kind
from src.models.modules.ngram import NGramModule
from src.models.nets import build_net
from src.models.nets.ngram import NGramNet
from src.train import train
from tests.conftest import run_config, small_data

D = 0.5


def _pairs(tokens: list[int], order: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (order-1 symbols, next symbol) pair of a token list."""
    seq = torch.tensor(tokens)
    contexts = seq.unfold(0, order, 1)[:, :-1] if order > 1 else torch.zeros(len(seq), 0, dtype=torch.long)
    return contexts, seq[order - 1:]


def _fitted(tokens: list[int], order: int, vocab_size: int = 4, discount: float = D) -> NGramNet:
    net = NGramNet(vocab_size, order, discount)
    net.fit(*_pairs(tokens, order))
    return net


def _probs(net: NGramNet, context: list[int]) -> list[float]:
    return net.probs(torch.tensor([context])).squeeze(0).tolist()


# Corpus for the bigram: pairs 0>1, 1>2, 2>1, 1>2, 2>1, 1>3 (V = 4, symbol 0 never follows anything).
BIGRAM_TOKENS = [0, 1, 2, 1, 2, 1, 3]
# Unigram continuation counts N1+(. w): 1 follows {0, 2} -> 2; 2 follows {1} -> 1; 3 follows {1} -> 1.
# N1+(. .) = 4 over 3 types; below that the uniform 1/4.
P1 = [D * 3 / 4 * (1 / 4) + max(n - D, 0) / 4 for n in (0, 2, 1, 1)]
# Bigram context 1: counts 2: 2, 3: 1 (total 3, 2 types).
P2_AFTER_1 = [max(c - D, 0) / 3 + D * 2 / 3 * p for c, p in zip((0, 0, 2, 1), P1, strict=True)]


def test_bigram_matches_hand_computed_kneser_ney():
    net = _fitted(BIGRAM_TOKENS, order=2)
    assert P1 == pytest.approx([0.09375, 0.46875, 0.21875, 0.21875])
    assert _probs(net, [1]) == pytest.approx(P2_AFTER_1, abs=1e-12)
    assert _probs(net, [3]) == pytest.approx(P1, abs=1e-12)  # 3 never had a successor: the unigram
    # context 2: only 1 follows it, twice
    assert _probs(net, [2]) == pytest.approx(
        [max(c - D, 0) / 2 + D * 1 / 2 * p for c, p in zip((0, 2, 0, 0), P1, strict=True)], abs=1e-12)


def test_trigram_matches_hand_computed_kneser_ney():
    # trigrams 001, 012, 121 (twice), 212, 213; the distinct ones drop their first symbol to
    # bigram continuation counts 01: 1, 12: 2 (from 012, 212), 21: 1, 13: 1, and those to unigram
    # continuation counts 1: 2, 2: 1, 3: 1: the same P1 and P2(.|1) as the bigram corpus.
    net = _fitted([0, 0, 1, 2, 1, 2, 1, 3], order=3)
    p2_after_2 = [max(c - D, 0) / 1 + D * 1 / 1 * p for c, p in zip((0, 1, 0, 0), P1, strict=True)]
    # context (2, 1): 2 once, 3 once (total 2, 2 types); context (1, 2): 1 twice (total 2, 1 type)
    p3_after_21 = [max(c - D, 0) / 2 + D * 2 / 2 * p for c, p in zip((0, 0, 1, 1), P2_AFTER_1, strict=True)]
    p3_after_12 = [max(c - D, 0) / 2 + D * 1 / 2 * p for c, p in zip((0, 2, 0, 0), p2_after_2, strict=True)]
    assert p3_after_21 == pytest.approx([0.015625, 0.078125, 0.53645833, 0.36979167], abs=1e-8)
    assert _probs(net, [2, 1]) == pytest.approx(p3_after_21, abs=1e-12)
    assert _probs(net, [1, 2]) == pytest.approx(p3_after_12, abs=1e-12)
    assert _probs(net, [3, 1]) == pytest.approx(P2_AFTER_1, abs=1e-12)  # unseen pair, seen last symbol
    assert _probs(net, [0, 3]) == pytest.approx(P1, abs=1e-12)  # nothing seen: the unigram
    # the window may be longer than the context: only the last order-1 symbols count
    assert _probs(net, [3, 3, 0, 2, 1]) == pytest.approx(p3_after_21, abs=1e-12)


def test_order_1_is_the_smoothed_unigram():
    tokens = [1, 1, 1, 2, 2, 3, 1]  # raw counts 1: 4, 2: 2, 3: 1; N = 7 over 3 types
    net = _fitted(tokens, order=1)
    expected = [max(c - D, 0) / 7 + D * 3 / 7 / 4 for c in (0, 4, 2, 1)]
    assert _probs(net, [2]) == pytest.approx(expected, abs=1e-12)
    assert _probs(net, []) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_rows_sum_to_one_for_seen_unseen_and_unfitted_contexts(order):
    g = torch.Generator().manual_seed(order)
    tokens = torch.randint(0, 6, (300,), generator=g).tolist()  # symbols 6..9 never seen
    net = _fitted(tokens, order, vocab_size=10, discount=0.75)
    x = torch.cat([torch.tensor(tokens[:40]).unfold(0, 8, 4), torch.randint(0, 10, (20, 8), generator=g)])
    for model in (net, NGramNet(10, order)):
        p = model.probs(x)
        assert p.shape == (len(x), 10) and (p > 0).all()
        assert torch.allclose(p.sum(1), torch.ones(len(x), dtype=torch.float64), atol=1e-12)
        assert torch.allclose(model(x.to(torch.uint8)), p.log().float())


@pytest.mark.parametrize(("settings", "key"), [
    ({"order": 0}, "model.net.order"), ({"order": 11}, "model.net.order"),
    ({"order": 2.0}, "model.net.order"),
    ({"discount": 0}, "model.net.discount"), ({"discount": 1.0}, "model.net.discount"),
])
def test_bad_settings_name_the_key(settings, key):
    with pytest.raises(UserError, match=key):
        build_net({"_target_": "src.models.nets.ngram.NGramNet", **settings}, 40)


def test_order_limit_keeps_codes_in_int64():
    NGramNet(40, 10)  # 40^10 < 2^63
    with pytest.raises(UserError, match=r"model.net.order=10 .*an integer 1\.\.8 for 200 symbols"):
        NGramNet(200, 10)  # 200^9 > 2^63


def test_load_state_dict_takes_the_stored_table_sizes():
    net = _fitted([0, 0, 1, 2, 1, 2, 1, 3], order=3)
    fresh = NGramNet(4, 3, D)
    fresh.load_state_dict(net.state_dict())
    x = torch.tensor([[2, 1], [1, 2], [3, 3]])
    assert torch.equal(fresh(x), net(x))


# ---------------------------------------------------------------- Lightning fitting and checkpoints

WINDOW = 8


def _module(order: int = 3) -> NGramModule:
    vocab = Vocabulary(48, 84)
    encoding = {"mapping": vocab.mapping, "sequence_length": WINDOW, "step": 0.25, "min_pitch": 48,
                "max_pitch": 84}
    net = {"_target_": "src.models.nets.ngram.NGramNet", "order": order, "discount": 0.75}
    assert module_kind({"_target_": "src.models.modules.ngram.NGramModule"}) is NGramModule
    return NGramModule(net, encoding, {"lr": 1e-3})


def test_trainer_counts_each_epoch_once_and_checkpoints_load(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 40, (24, WINDOW), generator=g).to(torch.uint8)
    y = torch.randint(0, 40, (24,), generator=g)
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    module = _module()
    trainer = L.Trainer(logger=False, enable_checkpointing=False, accelerator="cpu", max_epochs=2,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, loader, loader)
    assert trainer.global_step == 6  # one step per counted batch
    direct = NGramNet(40, 3, 0.75)
    direct.fit(x[:, -2:], y)  # the same pairs once: epoch 2 recounted, it did not add
    assert all(torch.equal(a, b) for a, b in zip(module.net.state_dict().values(),
                                                 direct.state_dict().values(), strict=True))
    assert trainer.callback_metrics["val/bits"] < 3  # validated with the built tables (uniform: 5.3)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    loaded = load_module(tmp_path / "m.ckpt")
    assert isinstance(loaded, NGramModule) and not loaded.training and loaded.window == WINDOW
    assert torch.equal(loaded(x), module(x))
    request = GenerationRequest(steps=16, num_samples=2, rng_seed=1)
    assert loaded.generate(request).melodies == loaded.generate(request).melodies


def test_window_shorter_than_the_context_is_refused():
    with pytest.raises(UserError, match="model.net.order=10 needs data.sequence_length >= 9"):
        _module(order=10)


@pytest.mark.parametrize("fast_dev_run", [True, False])
def test_ngram_experiment_runs(fast_dev_run, erk5_dir, tmp_path):
    run = tmp_path / "run"
    overrides = ["experiment=ngram", f"trainer.fast_dev_run={str(fast_dev_run).lower()}", "model.net.order=3",
                 "callbacks.sample_export.steps=8", *small_data(erk5_dir, tmp_path / "cache")]
    metrics = train(run_config(run, overrides))
    assert {"val/bits", "test/bits", "test/pitch_acc", "test/onset_acc"} <= set(metrics)
    assert metrics["test/bits"] < 3  # uniform over 40 symbols: 5.3
    if not fast_dev_run:
        loaded = load_module(run / "checkpoints" / "best.ckpt")
        assert loaded.net.order == 3 and loaded.net.table("grams", 3).numel() > 0
        assert (run / "samples" / "epoch=000-0.mid").is_file()
